"""``chatdesk ask --engine NAME MODEL_ID`` through the turn service, against a real server."""

from __future__ import annotations

import pytest

from chatdesk.cli.main import main
from chatdesk.store import Store
from tests.support.openai_servers import LlamaCppServer, free_port

pytestmark = pytest.mark.slow

ASK = ["--system", "Answer in one word.", "--temperature", "0", "--max-tokens", "12"]


def test_ask_through_a_remote_engine_records_and_continues_it(
    capsys: pytest.CaptureFixture[str], llama_server: LlamaCppServer
) -> None:
    assert main(["engines", "add", "local", llama_server.url]) == 0
    question = "What is the capital of France? Answer in one word."
    status = main(["ask", "--engine", "local", "starter", question, *ASK, "--stats"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Paris" in out
    assert "sent to the server (llama-cpp-python): temperature=0" in err
    with Store() as store:
        conversation = store.list_conversations()[0]
        reply = store.active_path(conversation.id)[-1]
    assert conversation.model == "remote:local/starter"
    assert reply.model_identity["kind"] == "remote"
    assert reply.model_identity["engine"] == "local"
    assert reply.model_identity["model_id"] == "starter"
    assert reply.extra["sampling_sent"]["temperature"] == 0
    # continuing the conversation uses the same engine and model without naming them
    status = main(["ask", "--conversation", conversation.id[:8], "And of Italy?", *ASK])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.strip()
    with Store() as store:
        path = store.active_path(conversation.id)
    assert [m.role for m in path] == ["user", "assistant", "user", "assistant"]
    assert path[-1].model == "remote:local/starter"


def test_unknown_engine_and_unreachable_server_are_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "--engine", "ghost", "m", "hi"]) == 1
    assert "no remote engine named 'ghost'" in capsys.readouterr().err
    main(["engines", "add", "down", f"http://127.0.0.1:{free_port()}/v1"])
    capsys.readouterr()
    assert main(["ask", "--engine", "down", "m", "hi"]) == 1
    assert "connection refused" in capsys.readouterr().err


def test_chat_through_a_remote_engine(
    capsys: pytest.CaptureFixture[str],
    llama_server: LlamaCppServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    main(["engines", "add", "local", llama_server.url])
    monkeypatch.setattr("sys.stdin", io.StringIO("What is the capital of France?\n/exit\n"))
    assert main(["chat", "--engine", "local", "starter", *ASK]) == 0
    out, err = capsys.readouterr()
    assert "Paris" in out
    assert "Type /exit to leave" in err
    with Store() as store:
        (conversation,) = store.list_conversations()
    assert conversation.model == "remote:local/starter"
