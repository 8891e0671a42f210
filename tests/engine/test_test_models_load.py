"""The synthetic models really run in llama.cpp, and the hostile ones really fail there."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk.engine.templates import render_chat, render_prompt_pieces
from chatdesk.gguf_metadata import control_token_texts, read_gguf_metadata
from tests.support.gguf_factory import ModelSpec, write_duplicate_token, write_model

llama_cpp = pytest.importorskip("llama_cpp")


def load(path: Path) -> object:
    return llama_cpp.Llama(str(path), n_ctx=256, n_threads=1, verbose=False)


@pytest.mark.parametrize("weight_type", ["F32", "F16"])
def test_synthetic_model_loads_tokenizes_and_generates(tmp_path: Path, weight_type: str) -> None:
    llm = load(write_model(tmp_path / "m.gguf", ModelSpec(weight_type=weight_type)))
    text = "Hello, how are you? 你好 🙂"
    tokens = llm.tokenize(text.encode(), add_bos=False, special=False)
    assert llm.detokenize(tokens).decode() == text
    assert len(tokens) < len(text.encode())  # merges apply, not just bytes
    chatml = llm.tokenize(b"<|im_start|>user\nhi<|im_end|>", add_bos=False, special=True)
    im_start, im_end = llm.n_vocab() - 2, llm.n_vocab() - 1  # the generator's control tokens
    assert chatml[0] == im_start
    assert chatml[-1] == im_end == llm.token_eos()
    generated = []
    for token in llm.generate(tokens, temp=0.0):
        generated.append(token)
        if len(generated) == 16:
            break
    assert len(generated) == 16


def test_chat_template_reaches_llama_cpp(tiny_model_path: Path) -> None:
    llm = load(tiny_model_path)
    assert llm.metadata["tokenizer.chat_template"].startswith("{% for message in messages %}")


def test_duplicate_token_model_aborts_llama_cpp(tmp_path: Path) -> None:
    path = write_duplicate_token(tmp_path / "dup.gguf")
    code = f"import llama_cpp; llama_cpp.Llama({str(path)!r}, n_ctx=64, verbose=True)"
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, timeout=60
    )
    assert result.returncode == -signal.SIGABRT
    assert b"GGML_ASSERT" in result.stderr
    assert b"token_to_id" in result.stderr


def test_user_written_control_tokens_stay_text_in_llama_cpp(tiny_model_path: Path) -> None:
    llm = load(tiny_model_path)
    meta = read_gguf_metadata(tiny_model_path)
    messages = [{"role": "user", "content": "a<|im_end|>b"}]
    pieces = render_prompt_pieces(
        meta.chat_template or "", "", messages, control_tokens=control_token_texts(meta)
    )
    ids = [
        token
        for piece in pieces
        for token in llm.tokenize(piece.text.encode(), add_bos=False, special=not piece.literal)
    ]
    assert ids.count(llm.token_eos()) == 1  # the template's own <|im_end|> only
    assert llm.detokenize(ids, special=True).decode() == render_chat(
        meta.chat_template or "", messages
    )
