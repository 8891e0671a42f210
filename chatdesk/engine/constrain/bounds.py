"""How long a grammar's longest sentence is, in UTF-8 bytes: the token budget's guarantee.

Every token a model writes is at least one byte, so a reply held to a grammar whose
sentences are at most ``B`` bytes ends within ``B`` tokens. ``max_bytes`` reads the GBNF
this package writes (rules one per line; literals, character classes, rule names, groups,
``|``, ``* + ?`` and ``{m}``/``{m,}``/``{m,n}``) and returns that bound, or infinity when a
repetition is open-ended or a rule reaches itself.

``byte_string_rules`` is the bounded string of the bounded grammars (``GrammarCompiler``
with ``limit``): a chain of rules ``bstr-N`` ("at most N more bytes", ``bstr-0`` never
written: an empty tail is no rule at all), where each character
spends as many bytes as its UTF-8 form takes. ASCII text therefore gets the whole budget,
and text in any script still fits it exactly, with one unambiguous path per string (so
llama.cpp's grammar sampler keeps a single stack).

``largest_fitting`` finds the largest per-string limit whose grammar fits a byte budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

_RULE = re.compile(r"^([A-Za-z0-9-]+) ::= (.*)$")
_CHAIN = re.compile(r"^bstr-(\d+)$")
_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])|(?P<name>[A-Za-z0-9-]+)'
    r"|(?P<rep>\{\d*(?:,\d*)?\})|(?P<op>[()|*+?]))"
)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t"}

# The characters a JSON string may hold raw, by their UTF-8 length, and its two-byte escapes.
_CHAR_CLASSES = (
    (1, "[ !#-\\x5B\\x5D-~]"),
    (2, '"\\\\" ["\\\\/bfnrt]'),
    (2, "[\\u0080-\\u07FF]"),
    (3, "[\\u0800-\\uFFFF]"),
    (4, "[\\U00010000-\\U0010FFFF]"),
)


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, text)


def _class_bytes(body: str) -> int:
    """The most bytes one character of the class ``[...]`` can take."""
    if body.startswith("[^"):
        return 4  # everything but a few characters: any code point
    points = [ord(c) for c in _unescape(body[1:-1])]
    return max((len(chr(p).encode("utf-8", "surrogatepass")) for p in points), default=0)


class _Reader:
    """Max bytes of one rule body (recursive descent over its tokens)."""

    def __init__(self, text: str, rule: Callable[[str], float]) -> None:
        found = _TOKEN.finditer(text)
        self.tokens = [(m.lastgroup or "", m.group(m.lastgroup or 0)) for m in found]
        self.at, self.rule = 0, rule

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def alternation(self) -> float:
        best = self.sequence()
        while self.peek() == ("op", "|"):
            self.at += 1
            best = max(best, self.sequence())
        return best

    def sequence(self) -> float:
        total = 0.0
        while self.peek()[0] in ("lit", "cls", "name") or self.peek() == ("op", "("):
            total += self.repeated(self.atom())
        return total

    def atom(self) -> float:
        kind, text = self.peek()
        self.at += 1
        if kind == "lit":
            return float(len(_unescape(text[1:-1]).encode("utf-8", "surrogatepass")))
        if kind == "cls":
            return float(_class_bytes(text))
        if kind == "name":
            return self.rule(text)
        inner = self.alternation()
        self.at += 1  # ")"
        return inner

    def repeated(self, inner: float) -> float:
        kind, text = self.peek()
        if kind == "op" and text in "*+?":
            self.at += 1
            return inner if text == "?" else (math.inf if inner else 0.0)
        if kind != "rep":
            return inner
        self.at += 1
        low, _, high = text[1:-1].partition(",")
        most = low if "," not in text else high
        if not most:
            return math.inf if inner else 0.0
        return inner * int(most) if int(most) else 0.0  # never inf * 0


def max_bytes(grammar: str) -> float:
    """The longest sentence of ``grammar`` (from ``root``) in UTF-8 bytes; inf if unbounded.
    A ``bstr-N`` rule counts N bytes (``byte_string_rules``; it may be left out)."""
    bodies = {m.group(1): m.group(2) for line in grammar.splitlines() if (m := _RULE.match(line))}
    known: dict[str, float] = {}
    visiting: set[str] = set()

    def rule(name: str) -> float:
        if name in known:
            return known[name]
        if chain := _CHAIN.match(name):
            return float(chain.group(1))  # a string chain: N bytes by construction
        if name in visiting or name not in bodies:
            return math.inf  # recursion (or a rule that does not exist)
        visiting.add(name)
        known[name] = _Reader(bodies[name], rule).alternation()
        visiting.discard(name)
        return known[name]

    return rule("root")


def byte_string_rules(limit: int) -> dict[str, str]:
    """``bstr-0`` .. ``bstr-<limit>``: string contents of at most that many UTF-8 bytes."""
    rules = {}
    for left in range(1, limit + 1):
        options = [
            f"{cls} bstr-{left - size}" if size < left else cls
            for size, cls in _CHAR_CLASSES
            if size <= left
        ]
        rules[f"bstr-{left}"] = "(" + " | ".join(options) + ")?"
    return rules


def byte_string(limit: int) -> str:
    """A JSON string of at most ``limit`` content bytes (with ``byte_string_rules``)."""
    return f'"\\"" bstr-{limit} "\\""' if limit else '"\\"\\""'


def repeat(expression: str, most: int) -> str:
    """``expression`` at most ``most`` times (nothing when 0)."""
    return f"( {expression} ){{0,{most}}}" if most else ""


def largest_fitting(grammar_for: Callable[[int], str], budget: int, most: int) -> int | None:
    """The largest ``limit`` in 0..``most`` with ``max_bytes(grammar_for(limit)) <= budget``
    (the bound grows with the limit); None when not even 0 fits."""
    if max_bytes(grammar_for(0)) > budget:
        return None
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if max_bytes(grammar_for(middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return low
