"""Schema -> grammar: refusals name the keyword and its path; grammars accept exactly.

The grammars are checked by llama.cpp's own grammar sampler (``GrammarChecker``, the
starter model's vocabulary only), so "accepts" here means what generation will allow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.constrain import (
    SchemaRefused,
    call_or_reply,
    check_reply,
    compile_json_object,
    compile_schema,
)


@pytest.fixture(scope="module")
def checker(starter_model_path: Path) -> Iterator[Any]:
    pytest.importorskip("llama_cpp")
    from tests.support.grammar_check import GrammarChecker

    grammar_checker = GrammarChecker(starter_model_path)
    yield grammar_checker
    grammar_checker.close()


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 5},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 2},
        "nick": {"type": ["string", "null"]},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "keyword", "path"),
    [
        ({"type": "string", "format": "email"}, "format", "/format"),
        ({"properties": {"a": {"allOf": [{}]}}}, "allOf", "/properties/a/allOf"),
        ({"type": "array", "uniqueItems": True}, "uniqueItems", "/uniqueItems"),
        ({"type": "object", "patternProperties": {"^x": {}}}, "patternProperties", None),
        ({"not": {"type": "string"}}, "not", "/not"),
        ({"if": {}, "then": {}}, "if", "/if"),
        ({"type": "number", "multipleOf": 2}, "multipleOf", "/multipleOf"),
        ({"type": "number", "minimum": 0.5}, "minimum", "/minimum"),
        ({"type": "string", "pattern": "(?=a)b"}, "pattern", "/pattern"),
        ({"type": "string", "pattern": "(a)\\1"}, "pattern", "/pattern"),
        ({"type": "string", "pattern": "^a+", "maxLength": 3}, "maxLength", "/maxLength"),
        ({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]}, "oneOf", "/oneOf"),
        ({"$ref": "https://example.com/s.json"}, "$ref", "/$ref"),
        ({"$ref": "#/$defs/missing"}, "$ref", "/$ref"),
        (
            {"type": "object", "properties": {}, "required": ["x"], "additionalProperties": False},
            "required",
            "/required",
        ),
        ({"type": "integer", "minimum": 5, "maximum": 4}, "minimum", "/"),
        ({"enum": [1, 2], "type": "string"}, "enum", "/enum"),
        ({"type": "strnig"}, "type", "/type"),
    ],
)
def test_a_schema_that_cannot_be_enforced_is_refused_naming_keyword_and_path(
    schema: dict[str, Any], keyword: str, path: str | None
) -> None:
    with pytest.raises(SchemaRefused) as refused:
        compile_schema(schema)
    assert refused.value.keyword == keyword
    if path is not None:
        assert refused.value.path == path
    assert keyword in str(refused.value)


def test_a_person_schema_accepts_valid_documents_and_nothing_else(checker: Any) -> None:
    grammar = compile_schema(PERSON).grammar
    good = ['{"name":"Ann","age":30}', '{"name": "Bo", "age": 0, "tags": ["a","b"]}',
            '{"name":"Cy","age":120,"tags":["b"],"nick":null}',
            '{"name":"Dee","age":7,"nick":"d"}']  # fmt: skip
    bad = ['{"name":"","age":3}', '{"name":"Ann"}', '{"name":"Toolong","age":3}',
           '{"name":"A","age":121}', '{"name":"A","age":-1}', '{"name":"A","age":3,"x":1}',
           '{"name":"A","age":3,"tags":[]}', '{"name":"A","age":3,"tags":["c"]}',
           '{"name":"A","age":3.5}', '{"name":"A","age":3} trailing']  # fmt: skip
    for text in good:
        assert checker.accepts(grammar, text), text
    for text in bad:
        assert not checker.accepts(grammar, text), text


def test_integer_bounds_are_exact(checker: Any) -> None:
    grammar = compile_schema({"type": "integer", "minimum": -37, "exclusiveMaximum": 251}).grammar
    wrong = [n for n in range(-150, 400) if checker.accepts(grammar, str(n)) != (-37 <= n <= 250)]
    assert wrong == []


def test_number_bounds_are_exact(checker: Any) -> None:
    grammar = compile_schema({"type": "number", "exclusiveMinimum": -3, "maximum": 7}).grammar
    for text in ["-2.9", "-0.5", "0", "6.99", "7", "3.25"]:
        assert checker.accepts(grammar, text), text
    for text in ["-3", "-3.0", "-3.5", "7.1", "8", "01", "1e3"]:
        assert not checker.accepts(grammar, text), text


def test_patterns_are_enforced_as_json_string_content(checker: Any) -> None:
    grammar = compile_schema({"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"}).grammar
    assert checker.accepts(grammar, '"AB-123"')
    assert not checker.accepts(grammar, '"AB-12"')
    assert not checker.accepts(grammar, '"ab-123"')
    quoted = compile_schema({"type": "string", "pattern": '^say "[a-z]+"$'}).grammar
    assert checker.accepts(quoted, json.dumps('say "hi"'))


def test_recursive_refs_and_disjoint_one_of(checker: Any) -> None:
    tree = {
        "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                  "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                  "required": ["v"], "additionalProperties": False}},
        "$ref": "#/$defs/node",
    }  # fmt: skip
    grammar = compile_schema(tree).grammar
    assert checker.accepts(grammar, '{"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]}')
    assert not checker.accepts(grammar, '{"v":1,"kids":[{"w":2}]}')
    either = compile_schema({"oneOf": [{"type": "string"}, {"type": "integer"}]}).grammar
    assert checker.accepts(either, '"x"')
    assert checker.accepts(either, "42")
    assert not checker.accepts(either, "true")


def test_strings_never_hold_raw_control_characters(checker: Any) -> None:
    grammar = compile_json_object().grammar
    assert checker.accepts(grammar, '{"a": "line\\nbreak", "b": [1, 2.5, null]}')
    assert not checker.accepts(grammar, '{"a": "line\nbreak"}')
    assert not checker.accepts(grammar, "[1]")


def test_call_or_reply_accepts_a_call_or_plain_text(checker: Any) -> None:
    call = {"type": "object", "properties": {"name": {"const": "get_time"},
            "arguments": {"type": "object"}}, "required": ["name", "arguments"],
            "additionalProperties": False}  # fmt: skip
    grammar = call_or_reply(call, "<tool_call>", "</tool_call>").grammar
    assert checker.accepts(grammar, '<tool_call>{"name":"get_time","arguments":{}}</tool_call>')
    assert checker.accepts(grammar, "It is noon.")
    assert not checker.accepts(grammar, '<tool_call>{"name":"other","arguments":{}}</tool_call>')


def test_replies_are_validated_and_a_cut_off_reply_is_incomplete() -> None:
    constraint = compile_schema(PERSON)
    assert check_reply('{"name":"Ann","age":30}', constraint).valid
    wrong = check_reply('{"name":"Ann","age":300}', constraint)
    assert wrong.status == "invalid"
    assert "/age" in (wrong.error or "")
    cut = check_reply('{"name":"Ann","age":30}', constraint, finish_reason="length")
    assert cut.status == "incomplete"
    assert not cut.valid
    assert check_reply("not json", constraint).status == "invalid"


def test_a_twenty_property_schema_compiles_to_a_grammar_llama_cpp_parses(checker: Any) -> None:
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string", "maxLength": 30}
              for i in range(20)}, "required": [f"p{i}" for i in range(10)]}  # fmt: skip
    assert checker.parses(compile_schema(schema).grammar)


WEATHER_CALL = {"type": "object", "properties": {"name": {"const": "get_weather"},
                "arguments": {"type": "object", "properties": {"city": {"type": "string"},
                "units": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city"],
                "additionalProperties": False}}, "required": ["name", "arguments"],
                "additionalProperties": False}  # fmt: skip


def call_text(city: str) -> str:
    return json.dumps({"name": "get_weather", "arguments": {"city": city}}, ensure_ascii=False)


@pytest.mark.parametrize("budget", [90, 127, 500])
def test_a_bounded_grammar_fits_its_byte_budget_and_llama_cpp_holds_it(
    checker: Any, budget: int
) -> None:
    """Every document of the grammar fits ``budget`` bytes (so that many tokens): the
    longest string it allows is accepted, one byte more is not, in any script."""
    from chatdesk.engine.constrain.bounds import max_bytes
    from chatdesk.engine.constrain.compiler import GrammarCompiler

    grammar = compile_schema(WEATHER_CALL, budget=budget).grammar
    assert max_bytes(grammar) <= budget
    assert checker.parses(grammar)
    room = budget - int(max_bytes(GrammarCompiler(WEATHER_CALL, 0).grammar()))
    assert room > 0
    assert checker.accepts(grammar, call_text("a" * room))
    assert not checker.accepts(grammar, call_text("a" * (room + 1)))
    assert checker.accepts(grammar, call_text("é" * (room // 2)))  # two bytes each
    assert not checker.accepts(grammar, call_text("é" * (room // 2 + 1)))


def test_the_call_of_call_or_reply_is_bounded_and_the_reply_is_free(checker: Any) -> None:
    from chatdesk.engine.constrain.bounds import max_bytes

    bounded = call_or_reply(WEATHER_CALL, "<tool_call>\n", "\n</tool_call>", budget=150)
    assert checker.accepts(bounded.grammar, f"<tool_call>\n{call_text('Paris')}\n</tool_call>")
    too_long = f"<tool_call>\n{call_text('P' * 100)}\n</tool_call>"
    assert not checker.accepts(bounded.grammar, too_long)
    assert checker.accepts(bounded.grammar, "A plain reply " * 50)
    assert max_bytes(bounded.grammar) == float("inf")  # the plain reply, not the call


def test_the_string_chain_is_as_long_as_its_name_says() -> None:
    """``max_bytes`` counts ``bstr-N`` as N bytes; the rules themselves agree."""
    from chatdesk.engine.constrain.bounds import byte_string_rules, max_bytes

    rules = byte_string_rules(9)
    grammar = "root ::= bstr-9\n" + "".join(f"{k} ::= {v}\n" for k, v in rules.items())
    assert max_bytes(grammar.replace("bstr-", "chain-")) == 9


RECURSIVE = {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (WEATHER_CALL, "may need 84 tokens"),  # with a space wherever one may go, and the end
        ({"type": "string", "pattern": "^a+$"}, "cannot be bounded"),
        (RECURSIVE, "cannot be bounded"),
    ],
)
def test_a_budget_the_grammar_cannot_keep_is_refused(schema: Any, reason: str) -> None:
    with pytest.raises(SchemaRefused) as refused:
        compile_schema(schema, budget=10)  # max_tokens 11
    assert refused.value.keyword == "max_tokens"
    assert reason in str(refused.value)
    assert str(refused.value).startswith("cannot keep the reply within 'max_tokens': ")
    assert " at /" not in str(refused.value)


def test_wrapped_calls_are_calls_in_markers_and_nothing_else(checker: Any) -> None:
    from chatdesk.engine.constrain import wrapped_calls
    from chatdesk.engine.constrain.bounds import max_bytes

    one = f"<tool_call>\n{call_text('Oslo')}\n</tool_call>"
    single = wrapped_calls(WEATHER_CALL, "<tool_call>\n", "\n</tool_call>", False, 200).grammar
    several = wrapped_calls(WEATHER_CALL, "<tool_call>\n", "\n</tool_call>", True, 400).grammar
    assert max_bytes(single) <= 200
    assert max_bytes(several) <= 400
    assert checker.accepts(single, one)
    assert not checker.accepts(single, f"{one}\n{one}")
    assert not checker.accepts(single, call_text("Oslo"))  # bare JSON is not the syntax
    assert not checker.accepts(single, "Let me check." + one)
    assert checker.accepts(several, f"{one}\n{one}")
