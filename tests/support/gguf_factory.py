"""Synthetic llama-architecture GGUF models for tests and benchmarks, and hostile files.

``write_model(path, ModelSpec(...))`` writes a model llama.cpp loads and runs: seeded
random weights at the shapes asked for (F32, F16 or Q8_0), a byte-level BPE tokenizer
with ChatML control tokens, and a chat template in ``tokenizer.chat_template``.
Presets: ``tiny`` (loads in milliseconds, for unit tests) and ``real-shape`` (896 wide,
24 layers, Q8_0, about 0.45 GB: benchmarks only, never in unit tests).

The ``write_*`` functions below ``write_model`` make broken files for error paths:
not a GGUF, truncated, duplicate token, missing tensor, unknown architecture, absurd
context length, and metadata with bogus array counts or string lengths.

Command line::

    python -m tests.support.gguf_factory OUT.gguf --preset tiny|real-shape [options]
    python -m tests.support.gguf_factory OUT.gguf --hostile truncated
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType, LlamaFileType

from tests.support.byte_bpe import ByteBPEVocab, build_vocab

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

WEIGHT_TYPES = {
    "F32": (GGMLQuantizationType.F32, LlamaFileType.ALL_F32),
    "F16": (GGMLQuantizationType.F16, LlamaFileType.MOSTLY_F16),
    "Q8_0": (GGMLQuantizationType.Q8_0, LlamaFileType.MOSTLY_Q8_0),
    "Q4_0": (GGMLQuantizationType.Q4_0, LlamaFileType.MOSTLY_Q4_0),
}


@dataclass(frozen=True)
class ModelSpec:
    """Shape and contents of a synthetic model (defaults: the tiny preset)."""

    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    n_vocab: int = 640
    context_length: int = 2048
    seed: int = 0
    weight_type: str = "F32"
    chat_template: str | None = CHATML_TEMPLATE
    name: str = "ChatDesk test model"
    architecture: str = "llama"
    tie_embeddings: bool = False
    rope_freq_base: float = 10000.0
    rms_norm_eps: float = 1e-6
    write_file_type: bool = True  # general.file_type (False: readers must infer it)
    # more header keys, e.g. (("general.sampling.temp", 0.6),): float32, uint32 or string
    extra_metadata: tuple[tuple[str, float | int | str], ...] = ()

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


PRESETS = {
    "tiny": ModelSpec(),
    "real-shape": ModelSpec(
        n_embd=896,
        n_layer=24,
        n_head=14,
        n_head_kv=2,
        n_ff=4864,
        n_vocab=32000,
        context_length=32768,
        weight_type="Q8_0",
        name="ChatDesk real-shape test model",
    ),
}


def tensor_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Every tensor of a llama model, as numpy shapes (rows = output features)."""
    kv_dim = spec.n_head_kv * spec.head_dim
    shapes: dict[str, tuple[int, ...]] = {"token_embd.weight": (spec.n_vocab, spec.n_embd)}
    for i in range(spec.n_layer):
        blk = f"blk.{i}."
        shapes[blk + "attn_norm.weight"] = (spec.n_embd,)
        shapes[blk + "attn_q.weight"] = (spec.n_head * spec.head_dim, spec.n_embd)
        shapes[blk + "attn_k.weight"] = (kv_dim, spec.n_embd)
        shapes[blk + "attn_v.weight"] = (kv_dim, spec.n_embd)
        shapes[blk + "attn_output.weight"] = (spec.n_embd, spec.n_head * spec.head_dim)
        shapes[blk + "ffn_norm.weight"] = (spec.n_embd,)
        shapes[blk + "ffn_gate.weight"] = (spec.n_ff, spec.n_embd)
        shapes[blk + "ffn_up.weight"] = (spec.n_ff, spec.n_embd)
        shapes[blk + "ffn_down.weight"] = (spec.n_embd, spec.n_ff)
    shapes["output_norm.weight"] = (spec.n_embd,)
    if not spec.tie_embeddings:
        shapes["output.weight"] = (spec.n_vocab, spec.n_embd)
    return shapes


def _storage_type(spec: ModelSpec, shape: tuple[int, ...]) -> GGMLQuantizationType:
    """Norms (1-D) stay F32, as llama.cpp's own converters keep them."""
    return GGMLQuantizationType.F32 if len(shape) == 1 else WEIGHT_TYPES[spec.weight_type][0]


def _encode(values: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    """Values converted to the stored type (uint8 blocks for quantised types)."""
    if qtype == GGMLQuantizationType.F32:
        return values.astype(np.float32)
    if qtype == GGMLQuantizationType.F16:
        return values.astype(np.float16)
    return gguf.quants.quantize(values, qtype)


def _stored_nbytes(shape: tuple[int, ...], qtype: GGMLQuantizationType) -> int:
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    return int(np.prod(shape)) // block_size * type_size


def _add_tensor_info(
    writer: gguf.GGUFWriter, name: str, shape: tuple[int, ...], qtype: GGMLQuantizationType
) -> None:
    """Announce a tensor before its data is generated (so data can be streamed)."""
    nbytes = _stored_nbytes(shape, qtype)
    if qtype in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
        dtype = np.dtype(np.float32 if qtype == GGMLQuantizationType.F32 else np.float16)
        writer.add_tensor_info(name, shape, dtype, nbytes)
    else:
        byte_shape = gguf.quants.quant_shape_to_byte_shape(shape, qtype)
        writer.add_tensor_info(name, byte_shape, np.dtype(np.uint8), nbytes, raw_dtype=qtype)


def _tensor_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Norm weights of one, everything else small normal noise (std 0.02)."""
    if len(shape) == 1:
        return np.ones(shape, dtype=np.float32)
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)


def _add_hparams(writer: gguf.GGUFWriter, spec: ModelSpec) -> None:
    arch = spec.architecture
    writer.add_name(spec.name)
    if spec.write_file_type:
        writer.add_file_type(int(WEIGHT_TYPES[spec.weight_type][1]))
    if spec.weight_type not in ("F32", "F16"):
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    if spec.context_length >= 2**32:
        writer.add_uint64(f"{arch}.context_length", spec.context_length)
    else:
        writer.add_context_length(spec.context_length)
    writer.add_embedding_length(spec.n_embd)
    writer.add_block_count(spec.n_layer)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    writer.add_rope_dimension_count(spec.head_dim)
    writer.add_rope_freq_base(spec.rope_freq_base)
    writer.add_layer_norm_rms_eps(spec.rms_norm_eps)
    writer.add_vocab_size(spec.n_vocab)
    for key, value in spec.extra_metadata:
        if isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_float32(key, value)


def _add_tokenizer(writer: gguf.GGUFWriter, spec: ModelSpec, vocab: ByteBPEVocab) -> None:
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.token_id("<|endoftext|>"))
    writer.add_eos_token_id(vocab.token_id("<|im_end|>"))
    writer.add_pad_token_id(vocab.token_id("<|endoftext|>"))
    writer.add_add_bos_token(False)
    if spec.chat_template is not None:
        writer.add_chat_template(spec.chat_template)


def write_model(
    path: str | Path,
    spec: ModelSpec | None = None,
    *,
    vocab: ByteBPEVocab | None = None,
    skip_tensors: frozenset[str] = frozenset(),
    split_max_tensors: int = 0,
) -> Path:
    """Write a llama-architecture GGUF model; tensors are generated and written one by one.

    ``vocab`` replaces the generated tokenizer (hostile files use it); ``skip_tensors``
    leaves tensors out entirely (a model llama.cpp must refuse); ``split_max_tensors``
    splits the model into parts named like "NAME-00001-of-00003.gguf" (the first part's
    path is returned).
    """
    spec = spec or ModelSpec()
    path = Path(path)
    vocab = vocab or build_vocab(spec.n_vocab, spec.seed)
    shapes = {n: s for n, s in tensor_shapes(spec).items() if n not in skip_tensors}
    writer = gguf.GGUFWriter(path, spec.architecture, split_max_tensors=split_max_tensors)
    _add_hparams(writer, spec)
    _add_tokenizer(writer, spec, vocab)
    for name, shape in shapes.items():
        _add_tensor_info(writer, name, shape, _storage_type(spec, shape))
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    rng = np.random.default_rng(spec.seed)
    for shape in shapes.values():  # in the order announced above
        writer.write_tensor_data(_encode(_tensor_values(rng, shape), _storage_type(spec, shape)))
    writer.close()
    return writer.format_shard_names(path)[0]


# --- hostile files -------------------------------------------------------------------------


def write_not_gguf(path: str | Path) -> Path:
    """A file with a .gguf name that is something else entirely (an HTML error page)."""
    path = Path(path)
    path.write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>\n" * 20)
    return path


def write_truncated(path: str | Path, spec: ModelSpec | None = None, keep: float = 0.6) -> Path:
    """A valid model cut short: the header is intact, the tensor data ends early."""
    path = write_model(path, spec)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(int(size * keep))
    return path


def write_duplicate_token(path: str | Path, spec: ModelSpec | None = None) -> Path:
    """A vocabulary listing one token twice: llama.cpp's loader aborts the process on it."""
    spec = spec or ModelSpec()
    vocab = build_vocab(spec.n_vocab, spec.seed)
    tokens = list(vocab.tokens)
    tokens[300] = tokens[299]
    return write_model(path, spec, vocab=replace(vocab, tokens=tokens))


def write_missing_tensor(
    path: str | Path, spec: ModelSpec | None = None, tensor: str = "blk.0.attn_q.weight"
) -> Path:
    """A model without one of the tensors its architecture needs."""
    return write_model(path, spec, skip_tensors=frozenset({tensor}))


def write_unsupported_architecture(
    path: str | Path, spec: ModelSpec | None = None, architecture: str = "chatdesk-unknown"
) -> Path:
    """A well-formed file whose general.architecture no llama.cpp knows."""
    return write_model(path, replace(spec or ModelSpec(), architecture=architecture))


def write_absurd_context(
    path: str | Path, spec: ModelSpec | None = None, context_length: int = 2**31
) -> Path:
    """A model claiming a trained context nobody could allocate (2**31 tokens by default).

    Below 2**32 the value is stored as llama.cpp expects (u32) and the model loads with
    an explicit n_ctx; from 2**32 on it is stored as u64, which llama.cpp refuses to load.
    """
    return write_model(path, replace(spec or ModelSpec(), context_length=context_length))


def _gguf_string(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def _raw_gguf(n_tensors: int, kv_entries: list[bytes], tail: bytes = b"\0" * 64) -> bytes:
    """A GGUF v3 file from hand-packed key/value entries (no tensor infos follow)."""
    header = struct.pack("<4sIQQ", b"GGUF", 3, n_tensors, len(kv_entries))
    return header + b"".join(kv_entries) + tail


def _string_kv(key: str, value: str) -> bytes:
    return _gguf_string(key) + struct.pack("<I", gguf.GGUFValueType.STRING) + _gguf_string(value)


def write_huge_array_count(path: str | Path, count: int = 2**61) -> Path:
    """Metadata whose token array claims ``count`` strings in a file of a few hundred bytes."""
    entry = _gguf_string("tokenizer.ggml.tokens")
    entry += struct.pack("<IIQ", gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING, count)
    entry += _gguf_string("a") + _gguf_string("b")
    path = Path(path)
    path.write_bytes(_raw_gguf(0, [_string_kv("general.architecture", "llama"), entry]))
    return path


def write_bogus_string_length(path: str | Path, length: int = 2**60) -> Path:
    """Metadata whose general.name string claims ``length`` bytes."""
    entry = _gguf_string("general.name")
    entry += struct.pack("<IQ", gguf.GGUFValueType.STRING, length) + b"x" * 16
    path = Path(path)
    path.write_bytes(_raw_gguf(0, [_string_kv("general.architecture", "llama"), entry]))
    return path


def write_huge_counts(path: str | Path, n_tensors: int = 2**62, n_kv: int = 2**62) -> Path:
    """A header claiming astronomically many tensors and key/value pairs."""
    path = Path(path)
    path.write_bytes(struct.pack("<4sIQQ", b"GGUF", 3, n_tensors, n_kv) + b"\0" * 64)
    return path


HOSTILE_WRITERS: dict[str, Callable[[Path], Path]] = {
    "not-gguf": write_not_gguf,
    "truncated": write_truncated,
    "duplicate-token": write_duplicate_token,
    "missing-tensor": write_missing_tensor,
    "unsupported-architecture": write_unsupported_architecture,
    "absurd-context": write_absurd_context,
    "huge-array-count": write_huge_array_count,
    "bogus-string-length": write_bogus_string_length,
    "huge-counts": write_huge_counts,
}


# --- command line --------------------------------------------------------------------------


def _template_option(value: str) -> str | None:
    """``chatml`` (default), ``none``, or a path to a Jinja file."""
    if value == "chatml":
        return CHATML_TEMPLATE
    if value == "none":
        return None
    return Path(value).read_text(encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.support.gguf_factory")
    parser.add_argument("output", type=Path)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--hostile", choices=sorted(HOSTILE_WRITERS))
    for field in ("n_embd", "n_layer", "n_head", "n_head_kv", "n_ff", "n_vocab"):
        parser.add_argument("--" + field.replace("_", "-"), dest=field, type=int)
    parser.add_argument("--context-length", dest="context_length", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--type", dest="weight_type", choices=sorted(WEIGHT_TYPES))
    parser.add_argument(
        "--template",
        type=_template_option,
        default="chatml",
        help="chatml, none, or a path to a Jinja template file",
    )
    parser.add_argument("--name")
    return parser


def _spec_from_args(args: argparse.Namespace) -> ModelSpec:
    overrides = {
        key: value
        for key, value in vars(args).items()
        if key in ModelSpec.__dataclass_fields__ and value is not None
    }
    overrides["chat_template"] = args.template
    return replace(PRESETS[args.preset], **overrides)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    if args.hostile:
        path = HOSTILE_WRITERS[args.hostile](args.output)
    else:
        path = write_model(args.output, _spec_from_args(args))
    elapsed = time.perf_counter() - started
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
