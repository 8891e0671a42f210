"""Hostile chat templates are refused in bounded time and memory; Stop stops a render.

Before the fix, the nested loops and lipsum ran past 60 s and center(3000000000) took
2.9 GB. Times and peak memory are benchmark figures (tests/benchmarks/bench_templates.py).
"""

from __future__ import annotations

import threading

import pytest

from chatdesk.engine import templates
from chatdesk.engine.builtin_templates import BUILTIN_TEMPLATES
from chatdesk.engine.templates import TemplateError, TemplateStopped, render_chat, render_scope
from tests.engine.hostile_templates import HOSTILE_TEMPLATES

CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


@pytest.fixture(autouse=True)
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half a second instead of five, so the battery runs quickly."""
    monkeypatch.setattr(templates, "MAX_RENDER_SECONDS", 0.5)


@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_hostile_template_is_refused(name: str) -> None:
    with pytest.raises(TemplateError) as refused:
        render_chat(HOSTILE_TEMPLATES[name], CHAT)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("nested loops over a million", "oversized string"),
        ("silent range loops", r"ran longer than 0\.5 s"),
        ("quadratic list building", r"ran longer than 0\.5 s"),
        ("center 3e9", "oversized string"),
        ("percent width", "oversized format"),
        ("literal nesting", "oversized value"),
        ("captured output", "produced more than"),
        ("lipsum", "lipsum"),
        ("grow_list_doubling", r"oversized list|ran longer than 0\.5 s"),  # was 11.4 s vs 5 s
    ],
)
def test_refusals_say_why(name: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason):
        render_chat(HOSTILE_TEMPLATES[name], CHAT)


def test_stop_ends_a_render_at_once() -> None:
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    with pytest.raises(TemplateStopped), render_scope(60.0, stop):
        render_chat(HOSTILE_TEMPLATES["silent range loops"], CHAT)


def test_an_enclosing_scope_bounds_every_render_inside_it() -> None:
    with pytest.raises(TemplateError, match=r"longer than 0\.2 s"), render_scope(0.2):
        render_chat(HOSTILE_TEMPLATES["silent range loops"], CHAT)


@pytest.mark.parametrize(
    "template",
    [
        "{{ '%5d|%-8s|%.3f' % (42, 'ab', 1.5) }}",
        "{{ '{:>8}{}'.format('a', 20261129) }} in 2026: 20261129",
        "{{ 'x' * 1000 }}{{ [1, 2] * 3 }}{{ 2 ** 100 }}{{ 'a' ~ 'b' }}{{ 'a' + 'b' }}",
        "{{ messages|tojson(indent=2) }}{{ 'a b'|center(9) }}{{ 'x'|indent(4) }}",
        "{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% endfor %}",
        "{% set x %}{% for i in range(3) %}{{ i }}{% endfor %}{% endset %}{{ x }}",
    ],
)
def test_ordinary_template_features_still_render(template: str) -> None:
    assert render_chat(template, CHAT)


def test_builtin_templates_render_unchanged() -> None:
    out = render_chat(BUILTIN_TEMPLATES["chatml"], CHAT)
    assert out.startswith("<|im_start|>user\nHi<|im_end|>\n")
