"""``chatdesk ask --json``: one object with everything the reply has (issue 19, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.docs.test_docs_cli import run_cli

KEYS = {
    "conversation_id", "message_id", "text", "reasoning", "finish_reason", "status", "error",
    "model", "stats", "sources", "documents_error", "tool_calls", "tools_offered", "tokens",
    "response_format",
}  # fmt: skip


@pytest.mark.slow
def test_ask_json_on_the_real_model_carries_text_sources_tools_and_tokens(
    tmp_path: Path, starter_model_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    atlas = tmp_path / "atlas.md"
    atlas.write_text("# Atlas\n\nThe capital of Freedonia is Zubrowka.\n", encoding="utf-8")
    assert run_cli("docs", "add", str(tmp_path), "-c", "atlas").returncode == 0
    asked = run_cli(
        "ask", starter_model_path, "What is the capital of Freedonia?", "--docs", "atlas",
        "--tools", "calculator", "--yes", "--logprobs", "2", "--json",
        "--temperature", "0", "--seed", "1", "--max-tokens", "24",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)  # the whole of stdout is the one object
    assert set(data) == KEYS
    assert data["text"]
    assert data["finish_reason"] in ("stop", "length")
    assert data["status"] == "complete"
    assert data["model"] == str(starter_model_path)
    assert data["stats"]["completion_tokens"] > 0
    [source] = data["sources"]
    assert (source["file"], source["page"]) == (str(atlas), None)
    assert (source["line_start"], source["line_end"], source["label"]) == (
        1,
        3,
        "atlas.md, lines 1-3",
    )
    assert source["text"].endswith("Zubrowka.")
    assert source["cited"] == ("[1]" in data["text"])
    assert data["tools_offered"] == ["calculator"]
    for call in data["tool_calls"]:  # the small model rarely calls; each call has its result
        assert call["name"]
        assert call["result"] is not None
    tokens = data["tokens"]
    assert tokens
    assert all(len(t["top"]) == 2 for t in tokens)
    assert "".join(t["token"] for t in tokens).strip() == data["text"].strip()
    assert (data["reasoning"], data["response_format"], data["error"]) == ("", None, None)
