"""The engine commands as a user runs them: ask, chat, prompt, bench, and their failures."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatdesk.store import Store
from tests.support import gguf_factory

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
ROOT = Path(__file__).resolve().parents[2]


def chatdesk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatdesk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chatdesk: error: ")
    for word in words:
        assert word in lines[0]


def test_ask_streams_the_reply_and_saves_the_exchange(tiny_model_path: Path) -> None:
    result = chatdesk(
        "ask", str(tiny_model_path), "Hello there", "--seed", "4", "--max-tokens", "12",
        "--temperature", "0.7", "--system", "Be brief.", "--ctx", "1024",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Store() as store:
        [conversation] = store.list_conversations()
        assert conversation.system_prompt == "Be brief."
        assert conversation.settings["temperature"] == 0.7
        user, reply = store.active_path(conversation.id)
    assert (user.role, user.content) == ("user", "Hello there")
    assert reply.role == "assistant"
    assert reply.status == "complete"
    assert result.stdout == reply.content + "\n"
    assert reply.completion_tokens is not None
    assert 1 <= reply.completion_tokens <= 12
    assert reply.prompt_tokens is not None
    assert reply.finish_reason in ("stop", "length")


def test_ask_with_conversation_continues_it(tiny_model_path: Path) -> None:
    first = chatdesk("ask", str(tiny_model_path), "First", "--max-tokens", "5", "--system", "S")
    assert first.returncode == 0, first.stderr
    with Store() as store:
        [conversation] = store.list_conversations()
    second = chatdesk(
        "ask", str(tiny_model_path), "Second", "--max-tokens", "5",
        "--conversation", conversation.id[:8],
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    with Store() as store:
        assert len(store.list_conversations()) == 1
        path = store.active_path(conversation.id)
    assert [m.role for m in path] == ["user", "assistant", "user", "assistant"]
    assert path[2].content == "Second"


def test_ask_with_conversation_alone_uses_the_conversations_model(tiny_model_path: Path) -> None:
    first = chatdesk("ask", str(tiny_model_path), "First", "--max-tokens", "5")
    assert first.returncode == 0, first.stderr
    with Store() as store:
        [conversation] = store.list_conversations()
    assert conversation.model == str(tiny_model_path)
    second = chatdesk("ask", "--conversation", conversation.id[:8], "Second", "--max-tokens", "5")
    assert second.returncode == 0, second.stderr
    with Store() as store:
        path = store.active_path(conversation.id)
    assert [m.content for m in path if m.role == "user"] == ["First", "Second"]
    assert path[-1].model == str(tiny_model_path)
    assert path[-1].model_identity["size"] == tiny_model_path.stat().st_size


def test_ask_continue_carries_on_the_cut_off_reply_in_place(starter_model_path: Path) -> None:
    first = chatdesk(
        "ask", str(starter_model_path), "Name three European capitals.",
        "--temperature", "0", "--max-tokens", "4",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    with Store() as store:
        [conversation] = store.list_conversations()
        [_, cut] = store.active_path(conversation.id)
    assert cut.finish_reason == "length"
    more = chatdesk(
        "ask", "--conversation", conversation.id[:8], "--continue", "--max-tokens", "30",
        "--temperature", "0",
    )  # fmt: skip
    assert more.returncode == 0, more.stderr
    with Store() as store:
        [_, reply] = store.active_path(conversation.id)
    assert reply.id == cut.id
    assert reply.content.startswith(cut.content)
    assert len(reply.content) > len(cut.content)
    assert more.stdout == reply.content + "\n"


def test_ask_continue_needs_a_conversation(tiny_model_path: Path) -> None:
    result = chatdesk("ask", str(tiny_model_path), "--continue")
    assert_one_line_error(result, "--continue")


def test_chat_reads_prompts_until_exit(tiny_model_path: Path) -> None:
    result = chatdesk("chat", str(tiny_model_path), "--max-tokens", "5", stdin="hi\nmore\n/exit\n")
    assert result.returncode == 0, result.stderr
    with Store() as store:
        [conversation] = store.list_conversations()
        roles = [m.role for m in store.active_path(conversation.id)]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_prompt_prints_exactly_the_rendered_prompt(tiny_model_path: Path, tmp_path: Path) -> None:
    messages = tmp_path / "messages.json"
    messages.write_text(
        json.dumps(
            [
                {"role": "user", "content": "Hi 你好"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Bye"},
            ]
        ),
        encoding="utf-8",
    )
    turns = (
        "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi 你好<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
    )
    result = chatdesk(
        "prompt", str(tiny_model_path), "--messages", str(messages), "--system", "Be kind."
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == turns + "<|im_start|>assistant\n"
    bare = chatdesk(
        "prompt", str(tiny_model_path), "--messages", str(messages), "--system", "Be kind.",
        "--no-generation-prompt",
    )  # fmt: skip
    assert bare.stdout == turns


def test_bench_json_compares_with_the_plain_loop(tiny_model_path: Path) -> None:
    result = chatdesk(
        "bench", str(tiny_model_path), "--tokens", "64", "--prompt-tokens", "32", "--json",
        "--repeats", "1", "--no-llama-bench",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert isinstance(figures["ratio"], float)
    assert figures["ratio"] > 0
    assert figures["host"]["generated_tokens"] == 64
    assert figures["plain"]["generated_tokens"] == 64
    assert figures["host"]["load_seconds"] > 0
    assert figures["plain"]["decode_tokens_per_second"] > 0


def test_missing_model_is_one_clear_line(tmp_path: Path) -> None:
    assert_one_line_error(chatdesk("ask", str(tmp_path / "none.gguf"), "hi"), "no model matches")


def test_truncated_model_is_one_clear_line(tmp_path: Path) -> None:
    path = gguf_factory.write_truncated(tmp_path / "cut.gguf")
    assert_one_line_error(chatdesk("ask", str(path), "hi"), "interrupted")


def test_model_that_crashes_llama_cpp_is_one_clear_line(tmp_path: Path) -> None:
    path = gguf_factory.write_duplicate_token(tmp_path / "dup.gguf")
    result = chatdesk("ask", str(path), "hi")
    assert_one_line_error(result, "SIGABRT", "GGML_ASSERT")
    with Store() as store:
        assert store.list_conversations() == []  # nothing half-made is left behind


@pytest.mark.parametrize("content", ["{not json", '{"messages": [{"role": 1}]}'])
def test_prompt_with_bad_messages_file_is_one_clear_line(
    tiny_model_path: Path, tmp_path: Path, content: str
) -> None:
    messages = tmp_path / "bad.json"
    messages.write_text(content, encoding="utf-8")
    assert_one_line_error(chatdesk("prompt", str(tiny_model_path), "--messages", str(messages)))


def test_chat_reads_a_resumed_conversation_while_the_first_line_is_typed(
    tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatdesk.cli.main import build_parser
    from chatdesk.cli.terminal_chat import TerminalChat
    from chatdesk.engine.types import ReplyStats

    long = "Tell me about the harbour and its cranes. " * 20
    first = chatdesk("chat", str(tiny_model_path), "--max-tokens", "4", stdin=f"{long}\n/exit\n")
    assert first.returncode == 0, first.stderr
    with Store() as store:
        [conversation] = store.list_conversations()
    args = build_parser().parse_args(
        ["chat", str(tiny_model_path), "--conversation", conversation.id, "--max-tokens", "4"]
    )
    lines = iter(["And the lighthouse?", "/exit"])
    ended: list[ReplyStats | None] = []
    with TerminalChat.open(args) as session:  # a new engine host: nothing cached
        engine = session.services.engine.raw_engine

        def typed(_prompt: str) -> str:  # the user types while the host reads the history
            deadline = time.monotonic() + 30
            while engine.status().result(10)["context_tokens"] < 100:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            return next(lines)

        monkeypatch.setattr("builtins.input", typed)
        session.services.turns.add_end_hook(lambda _t, stats, _e: bool(ended.append(stats)))
        session.interactive()
    stats = ended[0]
    assert stats is not None
    assert stats.evaluated_prompt_tokens < 30 < stats.prompt_tokens  # the new line only
