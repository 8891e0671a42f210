"""A JSON-schema ``pattern`` as GBNF for the inside of a JSON string, or a refusal.

The supported regular-expression subset: literal characters and escapes, ``.``, classes
(``[a-z_]``, ``[^...]``, with ``\\d \\w \\s`` inside), groups ``(...)`` and ``(?:...)``,
alternation, the quantifiers ``* + ? {n} {n,} {n,m}`` (lazy forms match the same strings),
and ``^`` / ``$`` at the ends of a branch. Anything else (look-around, back-references,
word boundaries, possessive quantifiers, Unicode properties, inline flags) raises
``PatternRefused``. JSON Schema patterns search (``re.search``): an unanchored end is
padded with ``.*``.

What is generated is always a subset of what the pattern matches, written as valid JSON
string content: quote, backslash and control characters become JSON escapes; shorthands
produce ASCII only (``\\d`` -> ``[0-9]``, ``\\s`` -> space), negated shorthands and
negated classes with shorthands produce printable ASCII only, so no Unicode digit can slip
into a ``\\D``.
"""

from __future__ import annotations

import json

ASCII_PRINTABLE = [(0x20, 0x7E)]
SHORTHANDS = {
    "d": [(0x30, 0x39)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "s": [(0x20, 0x20)],
}
LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
PLAIN_DOT = r'[^\x00-\x1F"\\]'
MAX_REPEAT = 200


class PatternRefused(ValueError):
    """The pattern uses a feature that cannot be enforced exactly."""


Intervals = list[tuple[int, int]]


def subtract(universe: Intervals, removed: Intervals) -> Intervals:
    """The code points of ``universe`` not in ``removed``."""
    result = []
    for low, high in universe:
        pieces = [(low, high)]
        for r_low, r_high in removed:
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, r_low - 1)), (max(a, r_high + 1), b))
                if part[0] <= part[1]
            ]
        result += pieces
    return result


def _hex(point: int) -> str:
    return f"\\x{point:02X}" if point < 0x100 else f"\\U{point:08X}"


def exact(text: str) -> str:
    """GBNF for exactly ``text``."""
    return '"' + "".join(_hex(ord(c)) if c in '"\\' or ord(c) < 0x20 else c for c in text) + '"'


def literal(text: str) -> str:
    """GBNF for ``text`` written inside a JSON string (JSON escapes where needed)."""
    return exact(json.dumps(text, ensure_ascii=False)[1:-1])


def char_set(points: Intervals) -> str:
    """GBNF for one character from ``points``, as JSON string content."""
    specials = [(0x00, 0x1F), (0x22, 0x22), (0x5C, 0x5C)]
    plain = subtract(points, specials)
    options = []
    if plain:
        ranges = "".join(_hex(a) if a == b else f"{_hex(a)}-{_hex(b)}" for a, b in plain)
        options.append(f"[{ranges}]")
    for low, high in points:
        for special_low, special_high in specials:
            for point in range(max(low, special_low), min(high, special_high) + 1):
                options.append(literal(chr(point)))
    if not options:
        raise PatternRefused("a character class that matches no character")
    return options[0] if len(options) == 1 else "(" + " | ".join(options) + ")"


class _Parser:
    """Recursive descent over the pattern; each method returns a GBNF expression."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.at += 1
        return char

    def alternation(self, top: bool) -> str:
        branches = [self.branch(top)]
        while self.peek() == "|":
            self.take()
            branches.append(self.branch(top))
        return branches[0] if len(branches) == 1 else "(" + " | ".join(branches) + ")"

    def branch(self, top: bool) -> str:
        anchored_start = top and self.peek() == "^"
        if anchored_start:
            self.take()
        items: list[str] = []
        anchored_end = False
        while self.peek() not in ("", "|", ")"):
            if self.peek() == "$" and top:
                self.take()
                anchored_end = True
                if self.peek() not in ("", "|"):
                    raise PatternRefused("'$' before the end of the pattern")
                break
            items.append(self.quantified())
        pad = f"{PLAIN_DOT}*"
        items = ([] if anchored_start else [pad]) + items + ([] if anchored_end else [pad])
        return "(" + " ".join(items) + ")" if items else '""'

    def quantified(self) -> str:
        atom = self.atom()
        char = self.peek()
        if char in "*+?":
            self.take()
            suffix = char
        elif char == "{":
            suffix = self.braces()
        else:
            return atom
        if self.peek() == "?":
            self.take()  # lazy: the same strings match
        elif self.peek() == "+":
            raise PatternRefused("a possessive quantifier")
        return f"({atom}){suffix}"

    def braces(self) -> str:
        end = self.text.find("}", self.at)
        inner = self.text[self.at + 1 : end] if end > 0 else ""
        low, comma, high = inner.partition(",")
        if not low.isdigit() or (high and not high.isdigit()):
            raise PatternRefused(f"the quantifier '{{{inner}'")
        if int(low) > MAX_REPEAT or (high and int(high) > MAX_REPEAT):
            raise PatternRefused(f"a repeat count above {MAX_REPEAT}")
        if high and int(high) < int(low):
            raise PatternRefused(f"the quantifier '{{{inner}}}' (maximum below minimum)")
        self.at = end + 1
        return "{" + low + ("," + high if comma else "") + "}"

    def atom(self) -> str:
        char = self.take()
        if char == "(":
            return self.group()
        if char == "[":
            return char_set(self.char_class())
        if char == ".":
            return PLAIN_DOT
        if char == "\\":
            return self.escape()
        if char in "*+?{":
            raise PatternRefused(f"'{char}' with nothing to repeat")
        if char in "^$":
            raise PatternRefused(f"'{char}' inside the pattern (only at the ends)")
        return literal(char)

    def group(self) -> str:
        if self.peek() == "?":
            if self.text[self.at : self.at + 2] != "?:":
                raise PatternRefused("a look-around, named group or inline flag '(?'")
            self.at += 2
        inner = self.alternation(top=False)
        if self.take() != ")":
            raise PatternRefused("an unclosed group")
        return f"({inner})"

    def escape(self) -> str:
        char = self.take()
        if char in SHORTHANDS:
            return char_set(SHORTHANDS[char])
        if char.lower() in SHORTHANDS:
            return char_set(subtract(ASCII_PRINTABLE, SHORTHANDS[char.lower()]))
        return literal(self.escaped_char(char))

    def escaped_char(self, char: str) -> str:
        if char in LITERAL_ESCAPES:
            return LITERAL_ESCAPES[char]
        if char in "ux":
            size = 4 if char == "u" else 2
            digits = self.text[self.at : self.at + size]
            if len(digits) != size or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise PatternRefused(f"the escape '\\{char}{digits}'")
            self.at += size
            return chr(int(digits, 16))
        if char and not char.isalnum():
            return char
        raise PatternRefused(f"the escape '\\{char}'")

    def char_class(self) -> Intervals:
        negated = self.peek() == "^"
        if negated:
            self.take()
        points: Intervals = []
        shorthand = False
        first = True
        while self.peek() != "]" or first:
            if not self.peek():
                raise PatternRefused("an unclosed character class")
            first = False
            low = self.class_char()
            if isinstance(low, list):
                points += low
                shorthand = True
                continue
            high = low
            if self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                self.take()
                end = self.class_char()
                if isinstance(end, list) or ord(end) < ord(low):
                    raise PatternRefused("a bad range in a character class")
                high = end
            points.append((ord(low), ord(high)))
        self.take()
        if not negated:
            return points
        if shorthand:
            return subtract(ASCII_PRINTABLE, points)
        return subtract([(0x20, 0x10FFFF)], [*points, (0xD800, 0xDFFF)])

    def class_char(self) -> str | Intervals:
        char = self.take()
        if char == "[" and self.peek() in ":=.":
            raise PatternRefused("a POSIX class inside a character class")
        if char != "\\":
            return char
        char = self.take()
        if char in SHORTHANDS:
            return SHORTHANDS[char]
        if char.lower() in SHORTHANDS:
            raise PatternRefused(f"'\\{char}' inside a character class")
        if char == "b":
            return "\b"
        return self.escaped_char(char)


def pattern_grammar(pattern: str) -> str:
    """GBNF for the content of a JSON string that ``re.search(pattern)`` accepts."""
    parser = _Parser(pattern)
    expression = parser.alternation(top=True)
    if parser.at < len(pattern):
        raise PatternRefused(f"an unmatched '{pattern[parser.at]}'")
    return expression
