"""What a GGUF model file says about itself, read from its header without touching weights.

``read_gguf_metadata(path)`` describes a model (architecture, size, quantisation,
trained context, chat template, special tokens, split parts); ``validate_gguf(path)``
also checks that llama.cpp can load it and raises a ``GGUFError`` subclass with a
reason a person can act on. Used by the engine before loading and by the hub's model
library; imports neither llama_cpp nor Qt.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gguf import LlamaFileType

from chatdesk.gguf_header import (
    ArraySummary,
    GGUFHeader,
    HeaderError,
    StringArray,
    Value,
    parse_header,
)


def _name_set(names: str) -> frozenset[str]:
    """A set from a whitespace-separated list (long lists read better as text)."""
    return frozenset(names.split())


# Architectures this build of llama.cpp runs as chat models (the names it registers).
CHAT_ARCHITECTURES = _name_set(
    """
    llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bloom
    stablelm qwen qwen2 qwen2moe qwen2vl qwen3 qwen3moe qwen3next qwen3vl qwen3vlmoe qwen35
    qwen35moe phi2 phi3 phimoe plamo plamo2 codeshell orion internlm2 minicpm minicpm3 gemma
    gemma2 gemma3 gemma3n gemma4 starcoder2 mamba mamba2 jamba falcon-h1 xverse command-r
    cohere2 dbrx olmo olmo2 olmoe openelm arctic deepseek deepseek2 chatglm glm4 glm4moe
    bitnet t5 jais nemotron nemotron_h exaone exaone4 rwkv6 rwkv6qwen2 rwkv7 arwkv7 granite
    granitemoe granitehybrid chameleon plm bailingmoe bailingmoe2 dots1 arcee ernie4_5
    ernie4_5-moe hunyuan-moe hunyuan-dense smollm3 gpt-oss lfm2 lfm2moe dream smallthinker
    llada llada-moe seed_oss grovemoe apertus minimax-m2 cogvlm mistral3 pangu-embedded
    """
)
# Known to llama.cpp, but they embed, encode or decode audio: nothing to chat with.
NON_CHAT_ARCHITECTURES = _name_set(
    """
    clip bert modern-bert nomic-bert nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3
    eurobert t5encoder wavtokenizer-dec gemma-embedding
    """
)
# Plain transformers: every layer has attention (separate q/k/v or fused qkv) and an output.
ATTENTION_EVERY_LAYER = _name_set(
    """
    llama qwen2 qwen2moe qwen3 qwen3moe phi3 gemma gemma2 gemma3 starcoder2 mistral3
    granite granitemoe olmo olmo2 smollm3 internlm2 command-r cohere2 exaone stablelm
    """
)
_SPECIAL_TOKEN_TYPES = (2, 3)  # llama.cpp's token types UNKNOWN and CONTROL
_SPLIT_NAME = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


class GGUFError(Exception):
    """A model file ChatDesk cannot use; ``reason`` is one sentence for the user."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{Path(path).name}: {reason}")
        self.path = Path(path)
        self.reason = reason


class NotGGUFError(GGUFError):
    """The file is not a GGUF model at all (an HTML page, a safetensors file, ...)."""


class TruncatedGGUFError(GGUFError):
    """The file ends early: usually an interrupted download."""


class CorruptGGUFError(GGUFError):
    """The header is malformed: impossible counts, lengths or types."""


class UnsupportedArchitectureError(GGUFError):
    """llama.cpp in this build cannot run this kind of model as a chat model."""


class MissingTensorsError(GGUFError):
    """Tensors the architecture needs are absent (or a split part is missing)."""


@dataclass(frozen=True)
class SplitInfo:
    """A model stored in several files ("name-00001-of-00003.gguf")."""

    index: int  # 0-based part number of this file
    count: int
    tensor_count: int  # tensors in all parts together, as the header says
    parts: tuple[Path, ...]  # expected file of every part, in order
    missing: tuple[Path, ...]  # parts not found next to this file


@dataclass(frozen=True)
class GGUFMetadata:
    """A model as its header describes it (numbers are None when the header omits them)."""

    path: Path
    size_bytes: int  # this file (all parts together: see total_size_bytes)
    gguf_version: int
    architecture: str
    name: str | None
    parameter_count: int  # from tensor shapes, all parts when they are present
    file_type: str  # quantisation label: Q4_K_M, Q8_0, F16, ...
    context_length: int | None
    chat_template: str | None
    bos_token: str | None
    eos_token: str | None
    block_count: int | None
    embedding_length: int | None
    head_count: int | None
    head_count_kv: int | None
    feed_forward_length: int | None
    vocab_size: int | None
    tensor_count: int
    total_size_bytes: int
    split: SplitInfo | None
    tensor_names: frozenset[str]
    values: dict[str, Value]

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)


def _as_int(value: Value | None) -> int | None:
    """A scalar count; per-layer arrays give their largest entry."""
    if isinstance(value, tuple) and value:
        value = max(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _as_str(value: Value | None) -> str | None:
    return value if isinstance(value, str) else None


def _quantisation_label(header: GGUFHeader) -> str:
    """general.file_type as llama.cpp names it, else the type holding most weight bytes."""
    file_type = _as_int(header.values.get("general.file_type"))
    if file_type is not None:
        try:
            name = LlamaFileType(file_type).name
        except ValueError:
            name = ""
        if name and name != "GUESSED":
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    weights: Counter[str] = Counter()
    for tensor in header.tensors:
        if len(tensor.shape) >= 2:
            weights[tensor.type_name] += tensor.nbytes
    return weights.most_common(1)[0][0] if weights else "unknown"


def _token_text(header: GGUFHeader, key: str) -> str | None:
    """Text of the special token whose id is stored under ``key``."""
    tokens = header.values.get("tokenizer.ggml.tokens")
    token_id = _as_int(header.values.get(key))
    if not isinstance(tokens, StringArray) or token_id is None:
        return None
    if not 0 <= token_id < tokens.count:
        return None
    return tokens.item(token_id)


def _vocab_size(header: GGUFHeader, arch: str) -> int | None:
    tokens = header.values.get("tokenizer.ggml.tokens")
    if isinstance(tokens, StringArray):
        return tokens.count
    return _as_int(header.values.get(f"{arch}.vocab_size"))


def _parse(path: Path) -> GGUFHeader:
    """parse_header with its failures mapped onto GGUFError subclasses."""
    try:
        return parse_header(path)
    except HeaderError as error:
        kinds: dict[str, type[GGUFError]] = {
            "not-gguf": NotGGUFError,
            "truncated": TruncatedGGUFError,
        }
        raise kinds.get(error.kind, CorruptGGUFError)(path, error.reason) from None
    except OSError as error:
        raise GGUFError(path, f"cannot read the file ({error.strerror or error})") from None


def _split_parts(path: Path, count: int) -> tuple[Path, ...]:
    match = _SPLIT_NAME.match(path.name)
    if not match:
        return (path,) if count == 1 else ()
    stem = match.group("stem")
    return tuple(path.with_name(f"{stem}-{i + 1:05d}-of-{count:05d}.gguf") for i in range(count))


def _split_info(path: Path, header: GGUFHeader) -> SplitInfo | None:
    count = _as_int(header.values.get("split.count"))
    if count is None or count <= 1:
        return None
    index = _as_int(header.values.get("split.no")) or 0
    parts = _split_parts(path, count)
    tensor_count = _as_int(header.values.get("split.tensors.count")) or len(header.tensors)
    missing = tuple(part for part in parts if not part.is_file())
    return SplitInfo(index, count, tensor_count, parts, missing)


def _other_parts(path: Path, split: SplitInfo | None) -> list[GGUFHeader]:
    """Headers of the other parts of a split model (those present)."""
    if split is None:
        return []
    others = [p for p in split.parts if p not in split.missing and p.resolve() != path.resolve()]
    return [_parse(part) for part in others]


def read_gguf_metadata(path: str | Path, *, complete: bool = False) -> GGUFMetadata:
    """Describe the model in ``path`` from its header; raises a GGUFError subclass.

    ``complete`` adds the check that every part holds all its tensors' data (a
    TruncatedGGUFError otherwise): file sizes against the header's offsets, no weights read.
    """
    meta, headers = _describe(Path(path))
    if complete:
        _check_parts_complete(meta, headers)
    return meta


def _first_part(path: Path, header: GGUFHeader) -> tuple[Path, GGUFHeader]:
    """A later part of a split model stands for the whole model: its first part."""
    index = _as_int(header.values.get("split.no")) or 0
    count = _as_int(header.values.get("split.count")) or 1
    if index == 0 or count <= 1:
        return path, header
    parts = _split_parts(path, count)
    if not parts:
        raise MissingTensorsError(
            path, f"this is part {index + 1} of {count} of a split model, under a renamed file"
        )
    if not parts[0].is_file():
        raise MissingTensorsError(
            path, f"this is part {index + 1} of {count}; the first part {parts[0].name} is missing"
        )
    return parts[0], _parse(parts[0])


def _describe(path: Path) -> tuple[GGUFMetadata, list[GGUFHeader]]:
    """The metadata, and the parsed header of every part present (the first part first).

    Given any part of a split model, the metadata describes the model from its first part
    (``path`` of the result is then the first part: the one llama.cpp must be given)."""
    path, header = _first_part(path, _parse(path))
    values = header.values
    arch = _as_str(values.get("general.architecture"))
    if not arch:
        raise CorruptGGUFError(path, "the header names no architecture (general.architecture)")
    split = _split_info(path, header)
    headers = [header, *_other_parts(path, split)]
    tensors = [tensor for part in headers for tensor in part.tensors]
    meta = GGUFMetadata(
        path=path,
        size_bytes=header.file_size,
        gguf_version=header.version,
        architecture=arch,
        name=_as_str(values.get("general.name")),
        parameter_count=sum(tensor.n_elements for tensor in tensors),
        file_type=_quantisation_label(header),
        context_length=_as_int(values.get(f"{arch}.context_length")),
        chat_template=_as_str(values.get("tokenizer.chat_template")),
        bos_token=_token_text(header, "tokenizer.ggml.bos_token_id"),
        eos_token=_token_text(header, "tokenizer.ggml.eos_token_id"),
        block_count=_as_int(values.get(f"{arch}.block_count")),
        embedding_length=_as_int(values.get(f"{arch}.embedding_length")),
        head_count=_as_int(values.get(f"{arch}.attention.head_count")),
        head_count_kv=_as_int(values.get(f"{arch}.attention.head_count_kv")),
        feed_forward_length=_as_int(values.get(f"{arch}.feed_forward_length")),
        vocab_size=_vocab_size(header, arch),
        tensor_count=len(header.tensors),
        total_size_bytes=sum(part.file_size for part in headers),
        split=split,
        tensor_names=frozenset(tensor.name for tensor in tensors),
        values=values,
    )
    return meta, headers


# the model authors' recommended sampling (llama.cpp's ``general.sampling.*`` keys) -> our names
SAMPLING_KEYS = {
    "general.sampling.temp": "temperature",
    "general.sampling.top_k": "top_k",
    "general.sampling.top_p": "top_p",
    "general.sampling.min_p": "min_p",
    "general.sampling.penalty_repeat": "repeat_penalty",
}


def recommended_sampling(meta: GGUFMetadata) -> dict[str, float | int]:
    """The sampling the model's authors recommend, as written in its header.

    Header values are untrusted: only finite numbers are taken (a string, an array or a NaN
    is left out); the caller checks ranges against its own limits."""
    found: dict[str, float | int] = {}
    for key, name in SAMPLING_KEYS.items():
        value = meta.values.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            found[name] = int(value) if name == "top_k" else float(value)
    return found


def control_token_texts(meta: GGUFMetadata) -> list[str]:
    """Texts of the vocabulary's control (and unknown-type) tokens, such as "<|im_end|>".

    llama.cpp turns these strings into single special tokens when it parses a prompt with
    special tokens enabled, so user-written text that contains them must be kept apart
    (see ``chatdesk.engine.templates.render_chat_pieces``).
    """
    tokens = meta.values.get("tokenizer.ggml.tokens")
    types = meta.values.get("tokenizer.ggml.token_type")
    if not isinstance(tokens, StringArray):
        return []
    if isinstance(types, ArraySummary):
        try:
            type_list: list[int | float | bool] = list(types.integers())
        except (TypeError, OSError, struct.error):
            return []
    elif isinstance(types, tuple):
        type_list = list(types)
    else:
        return []
    wanted = [i for i, t in enumerate(type_list[: tokens.count]) if t in _SPECIAL_TOKEN_TYPES]
    try:
        texts = tokens.items(wanted)
    except (HeaderError, OSError, IndexError):
        return []
    return [texts[i] for i in wanted if texts[i]]


def _check_complete(path: Path, header: GGUFHeader) -> None:
    """Every tensor's data must lie inside the file."""
    if not header.tensors:
        return
    end = max((t.offset + t.nbytes for t in header.tensors), default=0) + header.data_offset
    if end > header.file_size:
        percent = 100 * header.file_size / end
        raise TruncatedGGUFError(
            path,
            f"the file is {header.file_size:,} bytes but its tensors need {end:,} "
            f"({percent:.1f}% present): the download was probably interrupted",
        )


def _check_parts_complete(meta: GGUFMetadata, headers: list[GGUFHeader]) -> None:
    """_check_complete for every part present, ``headers`` in _describe's order."""
    for header, part in zip(headers, _present_parts(meta), strict=True):
        _check_complete(part, header)


def _check_architecture(meta: GGUFMetadata) -> None:
    arch = meta.architecture
    if arch in NON_CHAT_ARCHITECTURES:
        raise UnsupportedArchitectureError(
            meta.path, f"'{arch}' is an embedding/encoder model, not a chat model"
        )
    if arch not in CHAT_ARCHITECTURES:
        raise UnsupportedArchitectureError(
            meta.path, f"architecture '{arch}' is not supported by this version of llama.cpp"
        )


def _missing_tensor_names(meta: GGUFMetadata) -> list[str]:
    names = meta.tensor_names
    missing = [n for n in ("token_embd.weight",) if n not in names]
    if meta.architecture not in ATTENTION_EVERY_LAYER:
        return missing
    missing += [n for n in ("output_norm.weight",) if n not in names]
    for layer in range(meta.block_count or 0):
        blk = f"blk.{layer}."
        separate = [blk + part for part in ("attn_q.weight", "attn_k.weight", "attn_v.weight")]
        if blk + "attn_qkv.weight" not in names:
            missing += [n for n in separate if n not in names]
        if blk + "attn_output.weight" not in names:
            missing.append(blk + "attn_output.weight")
    return missing


def _check_tensors(meta: GGUFMetadata) -> None:
    if meta.split is not None and not meta.split.parts:
        raise MissingTensorsError(
            meta.path,
            f"this model is split into {meta.split.count} files but this file was renamed, so "
            "the other parts cannot be found (expected NAME-00001-of-"
            f"{meta.split.count:05d}.gguf)",
        )
    if meta.split is not None and meta.split.missing:
        absent = ", ".join(part.name for part in meta.split.missing)
        raise MissingTensorsError(
            meta.path, f"this model is split into {meta.split.count} files and {absent} is missing"
        )
    missing = _missing_tensor_names(meta)
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise MissingTensorsError(meta.path, f"the file lacks required tensors: {shown}")


def _present_parts(meta: GGUFMetadata) -> list[Path]:
    """Paths in the order _describe parsed them: this file, then the other parts present."""
    if meta.split is None:
        return [meta.path]
    others = [p for p in meta.split.parts if p not in meta.split.missing]
    return [meta.path, *(p for p in others if p.resolve() != meta.path.resolve())]


def validate_gguf(path: str | Path) -> GGUFMetadata:
    """``read_gguf_metadata`` plus the checks llama.cpp would otherwise fail (or abort) on."""
    meta, headers = _describe(Path(path))
    _check_parts_complete(meta, headers)
    _check_architecture(meta)
    _check_tensors(meta)
    return meta
