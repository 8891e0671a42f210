"""The synthetic-model generator writes well-formed GGUF files (checked with gguf's reader)."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from tests.support.byte_bpe import CONTROL_TOKENS, build_vocab
from tests.support.gguf_factory import (
    CHATML_TEMPLATE,
    ModelSpec,
    tensor_shapes,
    write_duplicate_token,
    write_model,
)


def token_texts(reader: gguf.GGUFReader) -> list[str]:
    field = reader.fields["tokenizer.ggml.tokens"]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def test_tiny_model_has_every_llama_tensor_at_its_shape(tiny_model_path: Path) -> None:
    reader = gguf.GGUFReader(tiny_model_path)
    expected = tensor_shapes(ModelSpec())
    found = {t.name: tuple(reversed([int(n) for n in t.shape])) for t in reader.tensors}
    assert found == expected


def test_tiny_model_carries_chatml_template_and_control_tokens(tiny_model_path: Path) -> None:
    reader = gguf.GGUFReader(tiny_model_path)
    assert reader.fields["tokenizer.chat_template"].contents() == CHATML_TEMPLATE
    tokens = token_texts(reader)
    assert len(tokens) == len(set(tokens)) == ModelSpec().n_vocab
    eos = reader.fields["tokenizer.ggml.eos_token_id"].contents()
    assert tokens[eos] == "<|im_end|>"
    assert tokens[-len(CONTROL_TOKENS) :] == list(CONTROL_TOKENS)


def test_model_without_template_has_no_template_key(tiny_model_no_template_path: Path) -> None:
    reader = gguf.GGUFReader(tiny_model_no_template_path)
    assert "tokenizer.chat_template" not in reader.fields


@pytest.mark.parametrize("weight_type", ["F32", "F16", "Q8_0", "Q4_0"])
def test_weight_types_are_stored_as_asked(tmp_path: Path, weight_type: str) -> None:
    path = write_model(tmp_path / "m.gguf", ModelSpec(weight_type=weight_type))
    reader = gguf.GGUFReader(path)
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert types["blk.0.ffn_up.weight"] == weight_type
    assert types["output_norm.weight"] == "F32"


def test_same_seed_same_file_other_seed_other_weights(tmp_path: Path) -> None:
    first = write_model(tmp_path / "a.gguf", ModelSpec(seed=1)).read_bytes()
    again = write_model(tmp_path / "b.gguf", ModelSpec(seed=1)).read_bytes()
    other = write_model(tmp_path / "c.gguf", ModelSpec(seed=2)).read_bytes()
    assert first == again
    assert first != other


def test_vocab_merges_only_join_existing_tokens() -> None:
    vocab = build_vocab(2000, seed=3)
    known = set(vocab.tokens)
    assert len(vocab.tokens) == len(known) == 2000
    for merge in vocab.merges:
        left, right = merge.split(" ")
        assert {left, right, left + right} <= known


def test_duplicate_token_file_really_repeats_a_token(tmp_path: Path) -> None:
    reader = gguf.GGUFReader(write_duplicate_token(tmp_path / "dup.gguf"))
    tokens = token_texts(reader)
    assert len(set(tokens)) == len(tokens) - 1
