"""Naming a model on the command line as people do with `ollama run` (issue 24, item 16):
any unique part of an installed model's name, ignoring case; no name at all means the
conversation's model or the last one used; a wrong name lists what is installed. The chat
banner says the name the user knows, and `show` prints tool calls and failed replies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk.services.model_choices import ModelNameError, display_name, find_model
from chatdesk.store import Store
from tests.support.gguf_factory import ModelSpec, write_model

ROOT = Path(__file__).resolve().parents[2]
STARTER_FOLDER = Path("models") / "HuggingFaceTB" / "SmolLM2-135M-Instruct"


def chatdesk(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHATDESK_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "chatdesk", *args],
        capture_output=True, text=True, env=env, check=False, timeout=300, input=stdin,
    )  # fmt: skip


def install(home: Path, starter: Path) -> Path:
    folder = home / STARTER_FOLDER
    folder.mkdir(parents=True)
    (folder / starter.name).symlink_to(starter)
    return folder / starter.name


def test_a_unique_part_of_the_name_finds_the_model(chatdesk_home: Path, tmp_path: Path) -> None:
    tiny = write_model(tmp_path / "tiny.gguf", ModelSpec())
    for quant in ("Q4_K_M", "Q8_0"):
        folder = chatdesk_home / "models" / "Qwen" / "Qwen3-1.7B-GGUF"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"Qwen3-1.7B-{quant}.gguf").write_bytes(tiny.read_bytes())
    assert find_model("q8_0").name == "Qwen3-1.7B-Q8_0.gguf"
    assert find_model("Qwen3-1.7B-Q4_K_M").name == "Qwen3-1.7B-Q4_K_M.gguf"  # exact name
    with pytest.raises(ModelNameError, match="more than one model matches 'qwen3'"):
        find_model("qwen3")
    with pytest.raises(ModelNameError, match="no model matches 'llama'; installed: Qwen"):
        find_model("llama")
    assert display_name(find_model("q8_0")) == "Qwen3-1.7B-GGUF"


def test_ask_by_short_name_then_without_a_name(
    chatdesk_home: Path, starter_model_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    install(chatdesk_home, starter_model_path)
    asked = chatdesk(chatdesk_home, "ask", "smollm2", "Say hi.", "--max-tokens", "4")
    assert asked.returncode == 0, asked.stderr
    again = chatdesk(chatdesk_home, "ask", "Say hi again.", "--max-tokens", "4")
    assert again.returncode == 0, again.stderr  # the model used last time
    wrong = chatdesk(chatdesk_home, "ask", "mistral", "Hi", "--max-tokens", "4")
    assert wrong.returncode == 1
    assert "no model matches 'mistral'; installed: HuggingFaceTB/SmolLM2" in wrong.stderr


def test_chat_banner_names_the_model_as_the_library_does(
    chatdesk_home: Path, starter_model_path: Path
) -> None:
    pytest.importorskip("llama_cpp")
    install(chatdesk_home, starter_model_path)
    chatted = chatdesk(chatdesk_home, "chat", "SmolLM2", stdin="/exit\n")
    assert chatted.returncode == 0, chatted.stderr
    assert chatted.stderr.startswith("SmolLM2-135M-Instruct (Q4_1")
    assert "Lc100K" not in chatted.stderr  # general.name, a training label


def test_show_prints_tool_calls_results_and_errors(chatdesk_home: Path) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "calculator", "arguments": '{"expression": "2**10"}'}}  # fmt: skip
    with Store() as store:
        chat = store.create_conversation(title="Tools")
        store.append_message(chat.id, "user", "What is 2**10?")
        store.append_message(chat.id, "assistant", "", tool_calls=[call])
        store.append_message(chat.id, "tool", "1024", tool_call_id="call_1")
        failed = store.append_message(chat.id, "assistant", "", status="error")
        store.set_reply_metadata(failed.id, error="the engine host died\x1b[2J")
    shown = chatdesk(chatdesk_home, "show", chat.id[:8])
    assert shown.returncode == 0, shown.stderr
    assert '→ called calculator {"expression": "2**10"} (call call_1)' in shown.stdout
    assert "(result of call call_1)\n1024" in shown.stdout
    assert "[error: the engine host died\\x1b[2J]" in shown.stdout
