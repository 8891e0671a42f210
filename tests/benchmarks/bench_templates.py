"""Hostile chat templates (issue 10): time and peak memory of each render, in its own process.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_templates.py``. Each template of
tests/engine/hostile_templates.py renders with the real budget (5 s) in a fresh Python
process; the figures are the render's wall time and the process's peak resident memory,
against the same for the ChatML built-in on the same chat (the reference). Targets: every
render refused within the 5 s budget, peak memory within 100 MB of the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # a runaway cannot take the machine
from chatdesk.engine.templates import TemplateError, render_chat
template = sys.stdin.read()
chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
started = time.perf_counter()
try:
    render_chat(template, chat)
    outcome = "rendered"
except TemplateError as error:
    outcome = str(error)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "outcome": outcome}))
"""


def run(template: str) -> dict[str, object]:
    """Render one template in a fresh process; its figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=template,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(out.stdout))


def main() -> int:
    from chatdesk.engine.builtin_templates import BUILTIN_TEMPLATES
    from tests.engine.hostile_templates import HOSTILE_TEMPLATES

    reference = run(BUILTIN_TEMPLATES["chatml"])
    base = float(str(reference["peak_mb"]))
    print(f"reference (ChatML): {reference['seconds']:.3f} s, peak {reference['peak_mb']:.0f} MB")
    survived = 0
    longest = ("", 0.0, 0.0)
    for name, template in HOSTILE_TEMPLATES.items():
        figures = run(template)
        seconds, peak = float(str(figures["seconds"])), float(str(figures["peak_mb"]))
        ok = figures["outcome"] != "rendered" and seconds <= 5.5
        survived += ok
        if seconds > longest[1]:
            longest = (name, seconds, peak)
        print(
            f"{name}: {seconds:.2f} s, peak {peak:.0f} MB ({peak - base:+.0f} "
            f"MB against the reference): {figures['outcome']}"
        )
    print(
        f"survived {survived}/{len(HOSTILE_TEMPLATES)}; longest render: {longest[0]} "
        f"{longest[1]:.2f} s, peak {longest[2]:.0f} MB"
    )
    return 0 if survived == len(HOSTILE_TEMPLATES) else 1


if __name__ == "__main__":
    raise SystemExit(main())
