"""`chatdesk ask --json-schema FILE` / `--format json` with the real starter model.

What a user checks: stdout is the reply as JSON that follows the schema, the exit status
says whether it does, a schema that cannot be enforced is refused (keyword named) before
the model is loaded, and the JSON export carries the schema and the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.cli.test_real_model_cli import chatdesk

pytestmark = pytest.mark.slow

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_ask_with_a_schema_prints_valid_json_and_the_export_keeps_the_verdict(
    chatdesk_home: Path, starter_model_path: Path, tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    schema_file = tmp_path / "person.json"
    schema_file.write_text(json.dumps(PERSON))
    args = ["ask", str(starter_model_path), "Invent a person.", "--json-schema", str(schema_file)]
    asked = chatdesk(chatdesk_home, *args, "--temperature", "1.0", "--seed", "3", "--ctx", "2048")
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)
    jsonschema.validate(reply, PERSON)
    cid = chatdesk(chatdesk_home, "list").stdout.split()[0]
    exported = json.loads(chatdesk(chatdesk_home, "export", cid, "--format", "json").stdout)
    messages = exported["conversations"][0]["messages"]
    replies = [m for m in messages if m["role"] == "assistant"]
    verdict = replies[-1]["extra"]["structured"]
    assert verdict["status"] == "valid"
    assert verdict["schema"] == PERSON
    assert verdict["type"] == "json_schema"


def test_a_reply_cut_off_exits_non_zero_as_incomplete(
    chatdesk_home: Path, starter_model_path: Path, tmp_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    schema_file = tmp_path / "person.json"
    schema_file.write_text(json.dumps(PERSON))
    args = ["ask", str(starter_model_path), "Invent a person.", "--json-schema", str(schema_file)]
    asked = chatdesk(chatdesk_home, *args, "--max-tokens", "4", "--ctx", "2048")
    assert asked.returncode == 3
    assert "incomplete JSON" in asked.stderr


def test_format_json_gives_an_object_or_says_it_was_cut_off(
    chatdesk_home: Path, starter_model_path: Path
) -> None:
    """The tiny model rambles inside a free-form object: either it closes the object
    (exit 0, an object on stdout) or the token limit cuts it (exit 3, said so) — never a
    claim of JSON that does not parse."""
    pytest.importorskip("llama_cpp")
    args = ["ask", str(starter_model_path), "Describe a cat as JSON.", "--format", "json"]
    asked = chatdesk(chatdesk_home, *args, "--temperature", "1", "--seed", "2", "--ctx", "2048")
    if asked.returncode == 0:
        assert isinstance(json.loads(asked.stdout), dict)
    else:
        assert asked.returncode == 3
        assert "incomplete JSON: the reply was cut off by the token limit" in asked.stderr
        with pytest.raises(json.JSONDecodeError):
            json.loads(asked.stdout)


def test_an_unenforceable_schema_is_refused_before_loading(
    chatdesk_home: Path, tmp_path: Path
) -> None:
    schema_file = tmp_path / "email.json"
    schema_file.write_text(json.dumps({"type": "string", "format": "email"}))
    asked = chatdesk(chatdesk_home, "ask", "no-such-model.gguf", "hi", "--json-schema",
                     str(schema_file))  # fmt: skip
    assert asked.returncode != 0
    assert "'format'" in asked.stderr
    assert "/format" in asked.stderr
