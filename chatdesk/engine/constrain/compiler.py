"""A JSON schema (draft 2020-12 subset) as a GBNF grammar, or a refusal naming the keyword.

The walk that checks a schema is the walk that writes its grammar: every keyword is either
an annotation (ignored by validation too), handled here exactly, or refused with
``SchemaRefused`` (keyword and JSON pointer). So nothing is ever silently dropped.

Exactly handled: ``type`` (one or a list), ``nullable``, ``enum``, ``const``;
objects: ``properties``, ``required``, ``additionalProperties`` (false / true / a schema);
arrays: ``items``, ``minItems``, ``maxItems``; strings: ``minLength``, ``maxLength``,
``pattern`` (see ``patterns``); numbers: ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum`` (integer bounds for ``number``, any for ``integer``); ``anyOf``;
``oneOf`` when its branches cannot overlap (distinct types, or distinct ``const`` values
of one required property); ``$ref`` to ``#``, ``#/$defs/...`` or ``#/definitions/...``
(recursion included).

The grammar produces a subset of the valid documents: properties in schema order, no
property the schema does not name, no exponents, strings without ``\\u`` escapes (so a
length counted in code points is a length in grammar characters), bounded whitespace.

**Bounded grammars** (``limit``, for replies that must end within a token budget; see
``bounds``): every string without its own length holds at most ``limit`` UTF-8 bytes
(``bstr-<limit>``), one with ``minLength``/``maxLength`` at most ``max(minLength,
limit // 4)`` characters, arrays and open objects at most ``items_for(limit)`` entries
(or their ``minItems``), whitespace at most one space, and "any JSON value" nests two
levels deep. A pattern with an open repetition or a recursive ``$ref`` stays unbounded
(``bounds.max_bytes`` says so and the caller refuses it).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from chatdesk.engine.constrain.bounds import byte_string, byte_string_rules, repeat
from chatdesk.engine.constrain.numbers import decimal_range, whole_range
from chatdesk.engine.constrain.patterns import PatternRefused, exact, pattern_grammar

ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "$schema", "$id",
     "deprecated", "readOnly", "writeOnly", "$defs", "definitions"}
)  # fmt: skip
TYPE_KEYWORDS = {
    "object": {"properties", "required", "additionalProperties"},
    "array": {"items", "minItems", "maxItems"},
    "string": {"minLength", "maxLength", "pattern"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"},
}
TYPE_KEYWORDS["integer"] = TYPE_KEYWORDS["number"]
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
GENERAL = {"type", "nullable", "enum", "const", "anyOf", "oneOf", "$ref"}
SUPPORTED = GENERAL | set().union(*TYPE_KEYWORDS.values())
TYPES = ("null", "boolean", "object", "array", "string", "number", "integer")

BASE_RULES = {
    "ws": '| " " | "\\n" " "{0,16}',  # bounded: a model cannot run away in whitespace
    "char": '[^"\\\\\\x00-\\x1F] | "\\\\" ["\\\\/bfnrt]',
    "string": '"\\"" char* "\\""',
    "number": '"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,15})?',
    "integer": '"-"? ("0" | [1-9] [0-9]{0,15})',
    "boolean": '"true" | "false"',
    "null": '"null"',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"',
    "array": '"[" ws ( value ws ( "," ws value ws )* )? "]"',
}

_SCALAR = "string | number | boolean | null"
COMMA = '"," ws'
BOUNDED_RULES = {
    **BASE_RULES,
    "ws": '| " "',
    "value": f"object | array | {_SCALAR}",
    "value1": f"object1 | array1 | {_SCALAR}",
    "scalar": _SCALAR,
}


def items_for(limit: int) -> int:
    """How many entries a bounded array or open object may hold, for a string limit."""
    return 1 + limit // 32


def _bounded_containers(limit: int) -> dict[str, str]:
    """``object``/``array`` holding ``value1``; ``object1``/``array1`` holding scalars."""
    more = items_for(limit) - 1
    rules = {}
    for suffix, inner in (("", "value1"), ("1", "scalar")):
        pair = f'string ws ":" ws {inner} ws'
        pairs = f"{pair} {repeat(f'{COMMA} {pair}', more)}"
        items = f"{inner} ws {repeat(f'{COMMA} {inner} ws', more)}"
        rules[f"object{suffix}"] = f'"{{" ws ( {pairs} )? "}}"'
        rules[f"array{suffix}"] = f'"[" ws ( {items} )? "]"'
    return rules


class SchemaRefused(ValueError):
    """The schema asks for something that cannot be enforced exactly."""

    def __init__(self, keyword: str, path: str, reason: str) -> None:
        where = path or "/"
        super().__init__(f"cannot enforce '{keyword}' at {where}: {reason}")
        self.keyword = keyword
        self.path = path or "/"
        self.reason = reason


class BudgetTooSmall(SchemaRefused):
    """``max_tokens`` cannot hold every reply the format allows: said in the request's own
    terms (no schema path: the limit is on the whole reply)."""

    def __init__(self, reason: str) -> None:
        super().__init__("max_tokens", "/", reason)
        self.args = (f"cannot keep the reply within 'max_tokens': {reason}",)


def pointer(path: str, *parts: object) -> str:
    """``path`` extended by JSON-pointer segments."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return path + "".join("/" + part for part in escaped)


class GrammarCompiler:
    """Compiles one root schema; ``grammar()`` is the GBNF text with ``root`` first."""

    def __init__(self, root: Any, limit: int | None = None) -> None:
        self.root = root
        self.limit = limit  # bounded grammar: bytes per string (see the module's note)
        self.rules: dict[str, str] = {}
        self.names: dict[str, str] = {}  # rule body -> rule name (shared sub-rules)
        self.refs: dict[str, str] = {}  # $ref -> rule name

    def grammar(self, root_rule: str | None = None, *, chain: bool = True) -> str:
        """The whole grammar for the root schema (or ``root ::= root_rule``); without
        ``chain`` a bounded grammar leaves its ``bstr-N`` rules out (``bounds.max_bytes``
        knows their length, so measuring it stays cheap)."""
        top = root_rule if root_rule is not None else self.schema(self.root, "")
        lines = [f"root ::= {top}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        lines += [f"{name} ::= {body}" for name, body in self._base_rules(chain).items()]
        return "\n".join(lines) + "\n"

    def _base_rules(self, chain: bool) -> dict[str, str]:
        if self.limit is None:
            return BASE_RULES
        rules = BOUNDED_RULES | {"string": byte_string(self.limit)}
        rules |= _bounded_containers(self.limit)
        return rules | byte_string_rules(self.limit) if chain else rules

    @staticmethod
    def _most(low: int, high: int | None, cap: int) -> int:
        """A bounded grammar's upper count: the schema's own, at most ``cap`` (at least low)."""
        cap = max(low, cap)
        return cap if high is None else min(high, cap)

    @staticmethod
    def base(name: str) -> str:
        """A rule of ``BASE_RULES`` (always part of the grammar)."""
        return name

    def rule(self, body: str, hint: str) -> str:
        """A named rule for ``body`` (one per distinct body)."""
        known = self.names.get(body)
        if known is not None:
            return known
        name = f"r{len(self.rules)}-{''.join(c for c in hint if c.isalnum())[:20]}".rstrip("-")
        self.rules[name] = body
        self.names[body] = name
        return name

    # -- schemas ----------------------------------------------------------------------------

    def schema(self, schema: Any, path: str) -> str:
        """A GBNF expression for the values ``schema`` accepts."""
        if schema is True or schema == {}:
            return self.base("value")
        if schema is False:
            raise SchemaRefused("false", path, "a false schema accepts no value")
        if not isinstance(schema, dict):
            raise SchemaRefused("(schema)", path, "a schema must be an object or a boolean")
        self._check_keywords(schema, path)
        if "$ref" in schema:
            return self._ref(schema, path)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(schema, path)
        if "const" in schema or "enum" in schema:
            return self._literals(schema, path)
        types = self._types(schema, path)
        options = [self._typed(schema, kind, path) for kind in types]
        return options[0] if len(options) == 1 else "(" + " | ".join(options) + ")"

    def _check_keywords(self, schema: dict[str, Any], path: str) -> None:
        for keyword in schema:
            if keyword not in SUPPORTED and keyword not in ANNOTATIONS:
                raise SchemaRefused(keyword, pointer(path, keyword), "keyword not supported")
        for keyword in ("$id", "$schema"):
            if keyword in schema and path:
                raise SchemaRefused(keyword, pointer(path, keyword), "only at the root")
        nullable = schema.get("nullable", False)
        if not isinstance(nullable, bool):
            raise SchemaRefused("nullable", pointer(path, "nullable"), "must be true or false")

    def _constraining(self, schema: dict[str, Any], keep: str) -> list[str]:
        return [k for k in schema if k not in ANNOTATIONS and k not in (keep, "nullable")]

    def _ref(self, schema: dict[str, Any], path: str) -> str:
        ref = schema["$ref"]
        others = self._constraining(schema, "$ref")
        if others:
            raise SchemaRefused(others[0], pointer(path, others[0]), "beside '$ref'")
        known = self.refs.get(ref)
        if known is not None:
            return self._nullable(schema, known)
        target = self._resolve(ref, pointer(path, "$ref"))
        name = f"ref{len(self.refs)}"
        self.refs[ref] = name
        self.rules[name] = ""  # reserved first, so a recursive reference finds it
        self.rules[name] = self.schema(target, ref.lstrip("#"))
        return self._nullable(schema, name)

    def _resolve(self, ref: Any, path: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaRefused("$ref", path, f"only local references ('#/...'), not {ref!r}")
        node = self.root
        for raw in [p for p in ref[1:].split("/") if p]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SchemaRefused("$ref", path, f"{ref!r} points to nothing")
        return node

    def _nullable(self, schema: dict[str, Any], expression: str) -> str:
        return f"({expression} | null)" if schema.get("nullable") is True else expression

    def _union(self, schema: dict[str, Any], path: str) -> str:
        keyword = "anyOf" if "anyOf" in schema else "oneOf"
        branches = schema[keyword]
        where = pointer(path, keyword)
        others = self._constraining(schema, keyword)
        if others:
            raise SchemaRefused(others[0], pointer(path, others[0]), f"beside '{keyword}'")
        if not isinstance(branches, list) or not branches:
            raise SchemaRefused(keyword, where, "must be a non-empty list of schemas")
        if keyword == "oneOf":
            check_disjoint(branches, where, self._resolve_branch)
        options = [self.schema(branch, pointer(where, i)) for i, branch in enumerate(branches)]
        return self._nullable(schema, "(" + " | ".join(options) + ")")

    def _resolve_branch(self, branch: Any) -> Any:
        if isinstance(branch, dict) and isinstance(branch.get("$ref"), str):
            return self._resolve(branch["$ref"], "")
        return branch

    def _literals(self, schema: dict[str, Any], path: str) -> str:
        keyword = "const" if "const" in schema else "enum"
        values = [schema["const"]] if keyword == "const" else schema["enum"]
        if not isinstance(values, list) or not values:
            raise SchemaRefused(keyword, pointer(path, keyword), "must list at least one value")
        others = [k for k in self._constraining(schema, keyword) if k not in ("type", "enum")]
        if others:
            raise SchemaRefused(others[0], pointer(path, others[0]), f"beside '{keyword}'")
        allowed = self._types(schema, path) if "type" in schema else list(TYPES)
        if schema.get("nullable") is True:
            allowed.append("null")
        fitting = [v for v in values if json_type_of(v) in allowed or _integral_fits(v, allowed)]
        if keyword == "const" and "enum" in schema:
            fitting = [v for v in fitting if any(json_equal(v, e) for e in schema["enum"])]
        if not fitting:
            raise SchemaRefused(keyword, pointer(path, keyword), "no listed value fits the schema")
        options = [literal_value(value) for value in fitting]
        return options[0] if len(options) == 1 else "(" + " | ".join(options) + ")"

    def _types(self, schema: dict[str, Any], path: str) -> list[str]:
        declared = schema.get("type")
        if declared is None:
            kinds = [k for k, words in TYPE_KEYWORDS.items() if words & schema.keys()]
            kinds = [k for k in kinds if not (k == "integer" and "number" in kinds)]
            kinds = kinds or ["null", "boolean", "object", "array", "string", "number"]
        else:
            kinds = [declared] if isinstance(declared, str) else declared
            if not isinstance(kinds, list) or not kinds or any(k not in TYPES for k in kinds):
                raise SchemaRefused("type", pointer(path, "type"), f"unknown type {declared!r}")
        if schema.get("nullable") is True and "null" not in kinds:
            kinds = [*kinds, "null"]
        return list(dict.fromkeys(kinds))

    def _typed(self, schema: dict[str, Any], kind: str, path: str) -> str:
        if kind in ("null", "boolean"):
            return self.base(kind)
        if kind == "string":
            return self._string(schema, path)
        if kind in ("number", "integer"):
            return self._number(schema, kind, path)
        if kind == "array":
            return self._array(schema, path)
        return self._object(schema, path)

    # -- strings and numbers --------------------------------------------------------------

    def _string(self, schema: dict[str, Any], path: str) -> str:
        low = _count(schema, "minLength", path, 0)
        high = _count(schema, "maxLength", path, None)
        if "pattern" in schema:
            if "minLength" in schema or "maxLength" in schema:
                keyword = "minLength" if "minLength" in schema else "maxLength"
                raise SchemaRefused(keyword, pointer(path, keyword), "beside 'pattern'")
            return self._pattern(schema["pattern"], pointer(path, "pattern"))
        if high is not None and high < low:
            raise SchemaRefused("maxLength", pointer(path, "maxLength"), "below minLength")
        if low == 0 and high is None:
            return self.base("string")
        if self.limit is not None:  # a character may take four bytes
            high = self._most(low, high, self.limit // 4)
        reps = f"{{{low},{high if high is not None else ''}}}"
        return self.rule(f'"\\"" char{reps} "\\""', pointer(path, "str"))

    def _pattern(self, pattern: Any, path: str) -> str:
        if not isinstance(pattern, str):
            raise SchemaRefused("pattern", path, "must be a string")
        try:
            re.compile(pattern)  # what the validation after generation will use
            body = pattern_grammar(pattern)
        except re.error as error:
            raise SchemaRefused(
                "pattern", path, f"not a valid regular expression: {error}"
            ) from None
        except PatternRefused as error:
            raise SchemaRefused("pattern", path, f"{error} in {pattern!r}") from None
        return self.rule(f'"\\"" {body} "\\""', "pattern")

    def _number(self, schema: dict[str, Any], kind: str, path: str) -> str:
        bounds = [_bound(schema, word, path) for word in BOUNDS]
        if all(bound is None for bound in bounds):
            return self.base(kind)
        low, low_open = _tightest(bounds[0], bounds[2], max)
        high, high_open = _tightest(bounds[1], bounds[3], min)
        if kind == "integer":
            whole_low = _whole(low, low_open, math.floor, 1)
            whole_high = _whole(high, high_open, math.ceil, -1)
            if whole_low is not None and whole_high is not None and whole_low > whole_high:
                raise SchemaRefused("minimum", path, "no integer between the bounds")
            return self.rule(whole_range(whole_low, whole_high), pointer(path, "int"))
        lower = "exclusiveMinimum" if low_open else "minimum"
        upper = "exclusiveMaximum" if high_open else "maximum"
        for value, word in ((low, lower), (high, upper)):
            if value is not None and value != int(value):
                raise SchemaRefused(word, pointer(path, word), "a non-integer bound on a number")
        expression = decimal_range(
            None if low is None else int(low), low_open, None if high is None else int(high),
            high_open,
        )  # fmt: skip
        if expression is None:
            raise SchemaRefused("minimum", path, "no number between the bounds")
        return self.rule(expression, pointer(path, "num"))

    # -- arrays and objects ---------------------------------------------------------------

    def _array(self, schema: dict[str, Any], path: str) -> str:
        low = _count(schema, "minItems", path, 0)
        high = _count(schema, "maxItems", path, None)
        if high is not None and high < low:
            raise SchemaRefused("maxItems", pointer(path, "maxItems"), "below minItems")
        if self.limit is not None:
            high = self._most(low, high, items_for(self.limit))
        items = schema.get("items", True)
        if items is False or high == 0:
            if low > 0:
                raise SchemaRefused("items", pointer(path, "items"), "no item may be written")
            return '"[" ws "]"'
        item = self.schema(items, pointer(path, "items"))
        more = f"{{{max(low - 1, 0)},{high - 1 if high is not None else ''}}}"
        body = f'{item} ws ("," ws {item} ws){more}'
        body = body if low > 0 else f"({body})?"
        return self.rule(f'"[" ws {body} "]"', pointer(path, "arr"))

    def _object(self, schema: dict[str, Any], path: str) -> str:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        extra = schema.get("additionalProperties", True)
        if not isinstance(properties, dict):
            raise SchemaRefused("properties", pointer(path, "properties"), "must be an object")
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise SchemaRefused("required", pointer(path, "required"), "must list names")
        if not properties and not required and extra is not False:
            if extra is True or extra == {}:
                return self.base("object")
            return self._map(extra, pointer(path, "additionalProperties"))
        fields = list(properties.items())
        for name in required:
            if name not in properties:
                if extra is False:
                    raise SchemaRefused("required", pointer(path, "required"), f"{name!r} is "
                                        "required but additionalProperties is false")  # fmt: skip
                fields.append((name, extra))
        return self._fields(fields, set(required), path)

    def _map(self, values: Any, path: str) -> str:
        value = self.schema(values, path)
        pair = f'string ws ":" ws {value} ws'
        more = f"({COMMA} {pair})*"
        if self.limit is not None:
            more = repeat(f"{COMMA} {pair}", items_for(self.limit) - 1)
        return self.rule(f'"{{" ws ({pair} {more})? "}}"', "map")

    def _fields(self, fields: list[tuple[str, Any]], required: set[str], path: str) -> str:
        """Properties in order; required ones always, optional ones maybe, commas between."""
        first, after = '"}"', '"}"'  # what may follow with nothing / something written
        for name, sub in reversed(fields):
            value = self.schema(sub, pointer(path, "properties", name))
            pair = f'{literal_value(name)} ws ":" ws {value} ws'
            if name in required:
                first, after = f"{pair} {after}", f'"," ws {pair} {after}'
            else:
                first = f"({pair} {after} | {first})"
                after = f'("," ws {pair})? {after}'
            first = self.rule(first, name) if len(first) > 60 else first
            after = self.rule(after, name) if len(after) > 60 else after
        return self.rule(f'"{{" ws {first}', pointer(path, "obj"))


def check_disjoint(branches: list[Any], path: str, resolve: Any) -> None:
    """Refuse a ``oneOf`` whose branches could both accept one value."""
    resolved = [resolve(branch) for branch in branches]
    kinds = [_declared_types(branch) for branch in resolved]
    if all(k is not None for k in kinds):
        flat = [t for k in kinds for t in k or ()]
        if len(flat) == len(set(flat)) and not ({"integer", "number"} <= set(flat)):
            return
    tag = _discriminator(resolved)
    if tag is None:
        reason = "branches may overlap (give each a distinct type or a distinct 'const' in one "
        raise SchemaRefused("oneOf", path, reason + "required property), or use anyOf")


def _declared_types(branch: Any) -> list[str] | None:
    if not isinstance(branch, dict):
        return None
    declared = branch.get("type")
    if isinstance(declared, str):
        declared = [declared]
    if declared is None and ("const" in branch or "enum" in branch):
        return None
    return list(declared) + (["null"] if branch.get("nullable") is True else []) if isinstance(
        declared, list) else None  # fmt: skip


def _discriminator(branches: list[Any]) -> str | None:
    """A property every branch requires with a const value, distinct across branches."""
    if not all(isinstance(b, dict) and b.get("type") == "object" for b in branches):
        return None
    for name in branches[0].get("required", []):
        values = []
        for branch in branches:
            prop = branch.get("properties", {}).get(name)
            if name not in branch.get("required", []) or not isinstance(prop, dict):
                break
            if "const" not in prop:
                break
            values.append(json.dumps(prop["const"], sort_keys=True))
        else:
            if len(set(values)) == len(values):
                return name
    return None


def json_type_of(value: Any) -> str:
    """The JSON-schema type name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _integral_fits(value: Any, allowed: list[str]) -> bool:
    kind = json_type_of(value)
    return (kind == "integer" and "number" in allowed) or (
        kind == "number" and "integer" in allowed and float(value).is_integer()
    )


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality (1 == 1.0, but True != 1)."""
    return (json_type_of(a) == json_type_of(b) and a == b) or (
        {json_type_of(a), json_type_of(b)} <= {"integer", "number"} and a == b
    )


def literal_value(value: Any) -> str:
    """GBNF for exactly the JSON text of ``value``."""
    return exact(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _count(schema: dict[str, Any], keyword: str, path: str, default: int | None) -> Any:
    value = schema.get(keyword, default)
    if value is default:
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SchemaRefused(keyword, pointer(path, keyword), "must be a non-negative integer")
    if value > 10_000:
        raise SchemaRefused(keyword, pointer(path, keyword), "larger than 10000")
    return value


def _bound(schema: dict[str, Any], keyword: str, path: str) -> float | None:
    value = schema.get(keyword)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaRefused(keyword, pointer(path, keyword), "must be a number")
    if abs(value) >= 10**15:
        raise SchemaRefused(keyword, pointer(path, keyword), "beyond 15 digits")
    return value


def _tightest(inclusive: float | None, exclusive: float | None, pick: Any) -> tuple[Any, bool]:
    if exclusive is None:
        return inclusive, False
    if inclusive is None:
        return exclusive, True
    chosen = pick(inclusive, exclusive)
    return chosen, (chosen == exclusive and chosen != inclusive) or inclusive == exclusive


def _whole(value: float | None, open_: bool, rounding: Any, step: int) -> int | None:
    """The tightest integer bound: floor+1 / ceil-1 past an exclusive or fractional bound."""
    if value is None:
        return None
    if value == int(value):
        return int(value) + (step if open_ else 0)
    return int(rounding(value)) + step
