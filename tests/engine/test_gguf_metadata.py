"""GGUF header reading and validation: what the model library shows, what the engine refuses."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from chatdesk.gguf_header import StringArray
from chatdesk.gguf_metadata import (
    CorruptGGUFError,
    GGUFError,
    MissingTensorsError,
    NotGGUFError,
    TruncatedGGUFError,
    UnsupportedArchitectureError,
    control_token_texts,
    read_gguf_metadata,
    validate_gguf,
)
from tests.support.byte_bpe import build_vocab
from tests.support.gguf_factory import (
    CHATML_TEMPLATE,
    ModelSpec,
    tensor_shapes,
    write_absurd_context,
    write_bogus_string_length,
    write_huge_array_count,
    write_huge_counts,
    write_missing_tensor,
    write_model,
    write_not_gguf,
    write_truncated,
    write_unsupported_architecture,
)


def expected_parameters(spec: ModelSpec) -> int:
    total = 0
    for shape in tensor_shapes(spec).values():
        count = 1
        for dim in shape:
            count *= dim
        total += count
    return total


def test_tiny_model_metadata_matches_what_was_written(tiny_model_path: Path) -> None:
    spec = ModelSpec()
    meta = validate_gguf(tiny_model_path)
    assert meta.architecture == "llama"
    assert meta.name == spec.name
    assert meta.parameter_count == expected_parameters(spec)
    assert meta.file_type == "F32"
    assert meta.context_length == spec.context_length
    assert meta.chat_template == CHATML_TEMPLATE
    assert meta.has_chat_template
    assert (meta.bos_token, meta.eos_token) == ("<|endoftext|>", "<|im_end|>")
    assert meta.block_count == spec.n_layer
    assert meta.embedding_length == spec.n_embd
    assert (meta.head_count, meta.head_count_kv) == (spec.n_head, spec.n_head_kv)
    assert meta.feed_forward_length == spec.n_ff
    assert meta.vocab_size == spec.n_vocab
    assert meta.size_bytes == meta.total_size_bytes == tiny_model_path.stat().st_size
    assert meta.split is None


def test_model_without_template_reports_none(tiny_model_no_template_path: Path) -> None:
    meta = read_gguf_metadata(tiny_model_no_template_path)
    assert meta.chat_template is None
    assert not meta.has_chat_template


@pytest.mark.parametrize("weight_type", ["F16", "Q8_0"])
def test_quantisation_label_from_file_type(tmp_path: Path, weight_type: str) -> None:
    path = write_model(tmp_path / "m.gguf", ModelSpec(weight_type=weight_type))
    assert read_gguf_metadata(path).file_type == weight_type


def test_quantisation_label_falls_back_to_dominant_tensor_type(tmp_path: Path) -> None:
    spec = ModelSpec(weight_type="Q8_0", write_file_type=False)
    meta = read_gguf_metadata(write_model(tmp_path / "m.gguf", spec))
    assert "general.file_type" not in meta.values
    assert meta.file_type == "Q8_0"


def test_split_model_counts_all_parts_and_names_a_missing_one(tmp_path: Path) -> None:
    spec = ModelSpec()
    first = write_model(tmp_path / "big.gguf", spec, split_max_tensors=8)
    assert first.name == "big-00001-of-00003.gguf"
    meta = validate_gguf(first)
    assert meta.split is not None
    assert (meta.split.index, meta.split.count) == (0, 3)
    assert meta.split.tensor_count == len(tensor_shapes(spec))
    assert meta.parameter_count == expected_parameters(spec)
    assert meta.total_size_bytes == sum(p.stat().st_size for p in tmp_path.glob("big-*.gguf"))
    (tmp_path / "big-00002-of-00003.gguf").unlink()
    with pytest.raises(MissingTensorsError, match=r"big-00002-of-00003\.gguf is missing"):
        validate_gguf(first)


def test_absurd_context_is_reported_not_rejected(tmp_path: Path) -> None:
    meta = validate_gguf(write_absurd_context(tmp_path / "m.gguf", context_length=2**40))
    assert meta.context_length == 2**40


HOSTILE: list[tuple[Callable[[Path], Path], type[GGUFError], str]] = [
    (write_not_gguf, NotGGUFError, "GGUF signature"),
    (write_truncated, TruncatedGGUFError, "download was probably interrupted"),
    (write_missing_tensor, MissingTensorsError, "blk.0.attn_q.weight"),
    (write_unsupported_architecture, UnsupportedArchitectureError, "chatdesk-unknown"),
    (write_huge_array_count, CorruptGGUFError, "tokenizer.ggml.tokens claims"),
    (write_bogus_string_length, CorruptGGUFError, "general.name claims"),
    (write_huge_counts, CorruptGGUFError, "tensors and"),
]


@pytest.mark.parametrize(
    ("writer", "error", "reason"), HOSTILE, ids=[w.__name__ for w, _, _ in HOSTILE]
)
def test_hostile_files_get_a_specific_reason_cheaply(
    tmp_path: Path, writer: Callable[[Path], Path], error: type[GGUFError], reason: str
) -> None:
    path = writer(tmp_path / "bad.gguf")
    tracemalloc.start()
    try:
        with pytest.raises(error, match=reason) as raised:
            validate_gguf(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # no allocation sized by a bogus count
    assert raised.value.path == path
    assert str(raised.value).startswith("bad.gguf: ")


def test_file_cut_inside_the_header_is_truncated(tiny_model_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_model_path.read_bytes()[:5000])
    with pytest.raises(TruncatedGGUFError, match="ends inside its header"):
        read_gguf_metadata(path)


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(NotGGUFError):
        read_gguf_metadata(empty)
    with pytest.raises(GGUFError, match="cannot read the file"):
        read_gguf_metadata(tmp_path / "absent.gguf")


def test_unknown_gguf_version_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "v9.gguf"
    path.write_bytes(struct.pack("<4sIQQ", b"GGUF", 9, 0, 0))
    with pytest.raises(CorruptGGUFError, match="version 9"):
        read_gguf_metadata(path)


def test_encoder_models_are_refused_as_not_chat_models(tmp_path: Path) -> None:
    path = write_model(tmp_path / "bert.gguf", ModelSpec(architecture="bert"))
    assert read_gguf_metadata(path).architecture == "bert"
    with pytest.raises(UnsupportedArchitectureError, match="not a chat model"):
        validate_gguf(path)


def test_missing_tensor_list_is_capped(tmp_path: Path) -> None:
    spec = ModelSpec(n_layer=6)
    gone = frozenset(f"blk.{i}.attn_output.weight" for i in range(6)) | {"output_norm.weight"}
    path = write_model(tmp_path / "m.gguf", spec, skip_tensors=gone)
    with pytest.raises(MissingTensorsError, match="and 2 more") as raised:
        validate_gguf(path)
    assert "output_norm.weight" in raised.value.reason


def test_control_token_texts_lists_the_vocabulary_control_tokens(tiny_model_path: Path) -> None:
    meta = read_gguf_metadata(tiny_model_path)
    assert control_token_texts(meta) == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def test_string_array_items_reads_any_indexes(tmp_path: Path) -> None:
    spec = ModelSpec(n_vocab=3000)
    vocab = build_vocab(spec.n_vocab, spec.seed)
    tokens = read_gguf_metadata(write_model(tmp_path / "m.gguf", spec)).values[
        "tokenizer.ggml.tokens"
    ]
    assert isinstance(tokens, StringArray)
    wanted = [2999, 0, 1023, 1024, 1025, 2048, 7]
    assert tokens.items(wanted) == {i: vocab.tokens[i] for i in wanted}
    with pytest.raises(IndexError):
        tokens.item(3000)


def test_real_llama_cpp_vocab_file_is_read_and_refused_for_missing_weights() -> None:
    path = Path(__file__).parent.parent / "data" / "gguf" / "ggml-vocab-phi-3.gguf"
    meta = read_gguf_metadata(path)
    assert (meta.architecture, meta.name, meta.vocab_size) == ("phi3", "Phi3", 32064)
    assert (meta.bos_token, meta.eos_token) == ("<s>", "<|endoftext|>")
    assert (meta.context_length, meta.block_count, meta.embedding_length) == (4096, 32, 3072)
    assert meta.chat_template is not None
    assert "<|assistant|>" in meta.chat_template
    assert meta.parameter_count == 0
    assert {"<|user|>", "<|assistant|>", "<|end|>"} <= set(control_token_texts(meta))
    with pytest.raises(MissingTensorsError, match=r"token_embd\.weight"):
        validate_gguf(path)
