"""A bounded parser for the header of a GGUF file: key/values and tensor infos, never weights.

GGUF metadata is untrusted input. gguf's own ``GGUFReader`` maps the whole file and
silently truncates a string whose length runs past the end, and it materialises every
array element as a numpy view (slow on 150k-token vocabularies). This parser walks
the header through a read-only memory map and checks every count and length against
the bytes actually present and against sane caps before using it, so a hostile file
costs neither time nor memory. Large arrays (vocabulary, merges, scores) are skipped
and summarised; strings from them are fetched on demand via ``StringArray.item``.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS

# Sanity caps: far above any real model, far below anything that could hurt.
MAX_KEY_BYTES = 64 * 1024
MAX_STRING_BYTES = 16 * 1024 * 1024
MAX_ARRAY_ITEMS = 1 << 26
MAX_KV_COUNT = 1 << 20
MAX_TENSOR_COUNT = 1 << 20
KEEP_ARRAY_ITEMS = 64  # small arrays (per-layer head counts) are kept as tuples
STRING_CHECKPOINT_EVERY = 1024
_U64 = struct.Struct("<Q")

_SCALAR_FORMATS: dict[int, str] = {
    GGUFValueType.UINT8: "<B",
    GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I",
    GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f",
    GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT64: "<d",
}


class HeaderError(Exception):
    """The header cannot be parsed; ``kind`` says why: not-gguf, truncated, corrupt."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class StringArray:
    """A string array left in the file: its length, and a way to read items on demand."""

    count: int
    offset: int
    checkpoints: tuple[int, ...] = field(repr=False)
    path: Path = field(repr=False)

    def item(self, index: int) -> str:
        """The ``index``-th string (reads the file again; walks at most 1024 entries)."""
        return self.items([index])[index]

    def items(self, indexes: Iterable[int]) -> dict[int, str]:
        """Several strings by index, in one pass over the file."""
        wanted = sorted(set(indexes))
        if any(not 0 <= i < self.count for i in wanted):
            raise IndexError(f"string index out of range 0..{self.count - 1}")
        found: dict[int, str] = {}
        with _open_map(self.path) as (view, _size):
            cursor = _Cursor(view)
            position = -1  # index of the string the cursor stands before
            for index in wanted:
                checkpoint = index // STRING_CHECKPOINT_EVERY * STRING_CHECKPOINT_EVERY
                if position < checkpoint or position > index:
                    cursor.pos = self.checkpoints[checkpoint // STRING_CHECKPOINT_EVERY]
                    position = checkpoint
                for _ in range(index - position):
                    cursor.skip(cursor.length(MAX_STRING_BYTES, "array string"))
                found[index] = cursor.string(MAX_STRING_BYTES, "array string")
                position = index + 1
        return found


@dataclass(frozen=True)
class ArraySummary:
    """A large non-string array left in the file: element type, count, where it starts."""

    item_type: int
    count: int
    offset: int = field(default=0, repr=False)
    path: Path | None = field(default=None, repr=False)

    def integers(self) -> list[int]:
        """The items of an integer array (token types, for instance)."""
        fmt = _SCALAR_FORMATS[self.item_type]
        if self.path is None or fmt[1] in "fd?":
            raise TypeError("not an integer array stored in a file")
        with _open_map(self.path) as (view, _size):
            return list(struct.unpack_from(f"<{self.count}{fmt[1]}", view, self.offset))


Value = int | float | bool | str | tuple[int | float | bool, ...] | StringArray | ArraySummary


@dataclass(frozen=True)
class TensorEntry:
    """One tensor info: name, shape (GGUF order: fastest dimension first), type, bytes."""

    name: str
    shape: tuple[int, ...]
    type_id: int
    offset: int
    nbytes: int

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def type_name(self) -> str:
        return GGMLQuantizationType(self.type_id).name


@dataclass(frozen=True)
class GGUFHeader:
    """Everything before the tensor data."""

    version: int
    values: dict[str, Value]
    tensors: tuple[TensorEntry, ...]
    data_offset: int
    file_size: int


class _Cursor:
    """Reads little-endian values from a buffer, refusing to run past its end."""

    def __init__(self, view: mmap.mmap | bytes, pos: int = 0) -> None:
        self.view = view
        self.pos = pos
        self.size = len(view)

    def need(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise HeaderError(
                "truncated",
                f"the file ends inside its header (reading {what} at byte {self.pos})",
            )

    def unpack(self, fmt: str, width: int, what: str) -> int | float | bool:
        self.need(width, what)
        value: int | float | bool = struct.unpack_from(fmt, self.view, self.pos)[0]
        self.pos += width
        return value

    def u32(self, what: str) -> int:
        return int(self.unpack("<I", 4, what))

    def u64(self, what: str) -> int:
        return int(self.unpack("<Q", 8, what))

    def skip(self, n: int) -> None:
        self.pos += n

    def length(self, cap: int, what: str) -> int:
        """A string length, checked against ``cap`` and against the bytes left."""
        n = self.u64(what + " length")
        if n > cap:
            raise HeaderError("corrupt", f"{what} claims {n:,} bytes (limit {cap:,})")
        self.need(n, what)
        return n

    def string(self, cap: int, what: str) -> str:
        n = self.length(cap, what)
        raw = bytes(self.view[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")


@contextmanager
def _open_map(path: Path) -> Iterator[tuple[mmap.mmap | bytes, int]]:
    """Read-only memory map of a file (an empty file maps to b"")."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield b"", 0
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            yield view, size


def _read_array(cursor: _Cursor, key: str, path: Path) -> Value:
    item_type = cursor.u32(f"array type of {key}")
    count = cursor.u64(f"array length of {key}")
    if count > MAX_ARRAY_ITEMS:
        raise HeaderError("corrupt", f"metadata array {key} claims {count:,} items")
    if item_type == GGUFValueType.STRING:
        return _skip_string_array(cursor, key, count, path)
    if item_type not in _SCALAR_FORMATS:
        raise HeaderError("corrupt", f"metadata array {key} has unsupported item type {item_type}")
    fmt = _SCALAR_FORMATS[item_type]
    width = struct.calcsize(fmt)
    cursor.need(count * width, f"array {key}")
    if count > KEEP_ARRAY_ITEMS:
        summary = ArraySummary(item_type, count, cursor.pos, path)
        cursor.skip(count * width)
        return summary
    items = struct.unpack_from(f"<{count}{fmt[1]}", cursor.view, cursor.pos)
    cursor.skip(count * width)
    return tuple(items)


def _skip_string_array(cursor: _Cursor, key: str, count: int, path: Path) -> StringArray:
    """Walk past ``count`` strings, noting where every 1024th starts (a tight loop: vocabularies
    and merge lists hold 100k-300k strings)."""
    cursor.need(count * 8, f"array {key}")
    start = pos = cursor.pos
    view, size, unpack = cursor.view, cursor.size, _U64.unpack_from
    checkpoints: list[int] = []
    for index in range(count):
        if index % STRING_CHECKPOINT_EVERY == 0:
            checkpoints.append(pos)
        if pos + 8 > size:
            break
        (length,) = unpack(view, pos)
        if length > MAX_STRING_BYTES:
            raise HeaderError("corrupt", f"string {index} of {key} claims {length:,} bytes")
        pos += 8 + length
    if pos > size or len(checkpoints) * STRING_CHECKPOINT_EVERY < count:
        raise HeaderError("truncated", f"the file ends inside its header (in array {key})")
    cursor.pos = pos
    return StringArray(count, start, tuple(checkpoints), path)


def _read_value(cursor: _Cursor, key: str, value_type: int, path: Path) -> Value:
    if value_type == GGUFValueType.STRING:
        return cursor.string(MAX_STRING_BYTES, f"value of {key}")
    if value_type == GGUFValueType.ARRAY:
        return _read_array(cursor, key, path)
    if value_type in _SCALAR_FORMATS:
        fmt = _SCALAR_FORMATS[value_type]
        return cursor.unpack(fmt, struct.calcsize(fmt), f"value of {key}")
    raise HeaderError("corrupt", f"metadata key {key} has unknown value type {value_type}")


def _tensor_nbytes(name: str, shape: tuple[int, ...], type_id: int) -> int:
    try:
        block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(type_id)]
    except (ValueError, KeyError):
        raise HeaderError(
            "corrupt", f"tensor {name} has tensor type {type_id}, unknown to this version"
        ) from None
    if any(dim <= 0 for dim in shape) or shape[0] % block_size:
        raise HeaderError("corrupt", f"tensor {name} has an impossible shape {list(shape)}")
    count = 1
    for dim in shape:
        count *= dim
    return count // block_size * type_size


def _read_tensor(cursor: _Cursor) -> TensorEntry:
    name = cursor.string(MAX_KEY_BYTES, "tensor name")
    n_dims = cursor.u32(f"dimension count of {name}")
    if not 1 <= n_dims <= MAX_DIMS:
        raise HeaderError("corrupt", f"tensor {name} claims {n_dims} dimensions")
    shape = tuple(cursor.u64(f"shape of {name}") for _ in range(n_dims))
    type_id = cursor.u32(f"type of {name}")
    offset = cursor.u64(f"offset of {name}")
    return TensorEntry(name, shape, type_id, offset, _tensor_nbytes(name, shape, type_id))


def _read_counts(cursor: _Cursor) -> tuple[int, int, int]:
    """Magic, version and the two counts, each checked."""
    if cursor.size < 4 or bytes(cursor.view[:4]) != GGUF_MAGIC:
        raise HeaderError("not-gguf", "the file does not start with the GGUF signature")
    cursor.skip(4)
    version = cursor.u32("version")
    if version not in SUPPORTED_VERSIONS:
        raise HeaderError("corrupt", f"GGUF version {version} is not supported (only 2 and 3)")
    n_tensors = cursor.u64("tensor count")
    n_kv = cursor.u64("metadata count")
    if n_tensors > MAX_TENSOR_COUNT or n_kv > MAX_KV_COUNT:
        raise HeaderError(
            "corrupt", f"the header claims {n_tensors:,} tensors and {n_kv:,} metadata keys"
        )
    return version, n_tensors, n_kv


def parse_header(path: str | Path) -> GGUFHeader:
    """Parse the header of ``path``; raises ``HeaderError`` (or ``OSError``)."""
    path = Path(path)
    with _open_map(path) as (view, size):
        cursor = _Cursor(view)
        version, n_tensors, n_kv = _read_counts(cursor)
        values: dict[str, Value] = {}
        for _ in range(n_kv):
            key = cursor.string(MAX_KEY_BYTES, "metadata key")
            values[key] = _read_value(cursor, key, cursor.u32(f"type of {key}"), path)
        tensors = tuple(_read_tensor(cursor) for _ in range(n_tensors))
        alignment = values.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise HeaderError("corrupt", f"general.alignment {alignment!r} is not a power of two")
        data_offset = -(-cursor.pos // alignment) * alignment
        return GGUFHeader(version, values, tensors, data_offset, size)
