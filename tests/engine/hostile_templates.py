"""Chat templates that hang or eat memory without limits (issue 10), shared by the tests
and tests/benchmarks/bench_templates.py. Each is refused with a TemplateError."""

from __future__ import annotations

BIG = "{% set a = 'x' * 1000000 %}"
HOSTILE_TEMPLATES: dict[str, str] = {
    # the four of the issue
    "nested loops over a million": (
        "{% set big = ['x']*1000000 %}{% for a in big %}{% for b in big %}{% endfor %}{% endfor %}x"
    ),
    "lipsum": "{{ lipsum(100000, False, 999, 1000)|length }}",
    "center 3e9": "{{ ('x'|center(3000000000))|length }}",
    "percent width": "{{ '%0900000000d' % 1 }}",
    # the same ideas through other doors
    "ljust": "{{ 'x'.ljust(3000000000)|length }}",
    "zfill": "{{ 'x'.zfill(10**9)|length }}",
    "format width": "{{ '{:>999999999}'.format(1)|length }}",
    "nested format width": "{{ '{0:{1}}'.format(1, 999999999)|length }}",
    "format filter": "{{ '%0900000000d'|format(1) }}",
    "percent star": "{{ '%*d' % (999999999, 1) }}",
    "precision": "{{ '%.999999999f' % 1.0 }}",
    "list repeat": BIG + "{{ ([a] * 1000000)|join|length }}",
    "literal nesting": BIG
    + "{% set b = [a,a,a,a,a,a,a,a,a,a] %}{% set c = [b,b,b,b,b,b,b,b,b,b] %}"
    "{% set d = [c,c,c,c,c,c,c,c,c,c] %}{{ d }}",
    "literal nesting to string": BIG + "{% set b = [a,a,a,a,a,a,a,a,a,a] %}"
    "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{{ (c|string)|length }}",
    "literal nesting to json": BIG + "{% set b = [a,a,a,a,a,a,a,a,a,a] %}"
    "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{{ (c|tojson)|length }}",
    "concat doubling": "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "plus doubling": "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}"
    "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    "captured output": "{% set x %}{% for i in range(100000) %}{% for j in range(100000) %}"
    "{{ 'y' * 100000 }}{% endfor %}{% endfor %}{% endset %}{{ x|length }}",
    "macro output": "{% macro m() %}{% for i in range(100000) %}{{ 'y' * 10000 }}{% endfor %}"
    "{% endmacro %}{{ m()|length }}",
    "replace": BIG + "{{ a|replace('x', a)|length }}",
    "replace method": BIG + "{{ a.replace('x', a)|length }}",
    "expandtabs": "{{ ('\t' * 1000000).expandtabs(1000000)|length }}",
    "translate": BIG + "{{ a.translate({120: a})|length }}",
    "indent": "{{ ('x\n' * 100000)|indent(1000000)|length }}",
    "wordwrap": BIG + "{{ a|wordwrap(1, wrapstring=a)|length }}",
    "join separator": BIG + "{{ range(100000)|join(a)|length }}",
    "tojson indent": "{{ messages|tojson(indent=1000000000) }}",
    "power": "{{ (2 ** 4096) ** 4096 }}",
    "product": "{% set ns = namespace(n=2 ** 4000) %}{% for i in range(60) %}"
    "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}",
    "slices": "{{ 'x'|slice(1000000000)|list|length }}",
    "quadratic list building": "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
    "{% for j in range(100000) %}{% set ns.l = ns.l + [j] %}{% endfor %}{% endfor %}x",
    "recursive loop": "{% for i in range(100000) recursive %}{{ loop(range(100000)) }}{% endfor %}",
    "recursive macro": "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "silent range loops": "{% for i in range(100000) %}{% for j in range(100000) %}"
    "{% endfor %}{% endfor %}",
    "grow_list_doubling": "{% set ns = namespace(l=[0]) %}{% for i in range(64) %}"
    "{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}",
    "grow_string_list_doubling": "{% set ns = namespace(l=['xxxxxxxxxx']) %}"
    "{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}",
    "grow_nested_doubling": "{% set ns = namespace(l=[[0, 1, 2, 3]]) %}{% for i in range(64) %}"
    "{% set ns.l = ns.l + [ns.l] %}{% endfor %}{{ ns.l|tojson|length }}",
    "guard name": "{% set _chatdesk_loop = 1 %}{% for i in range(3) %}{% endfor %}",
}
