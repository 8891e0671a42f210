"""Names from the hub are untrusted: repository ids and GGUF file names, checked and parsed.

Hub names are held to a short ASCII pattern. A file the user imports is theirs, so
:func:`check_local_filename` accepts any script (``小模型.gguf``, ``modèle.gguf``) and
refuses only what the library folder cannot hold: separators, control characters, bytes
that are not text, names too long for the file system, hidden and device names.

Also parses what a GGUF file name says about itself: its quantisation label (``Q4_K_M``,
``IQ4_XS``, ``BF16`` ...) and whether it is one shard of a split model
(``name-00001-of-00003.gguf``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from chatdesk.hub.errors import InvalidNameError
from chatdesk.paths import windows_reserved

_REPO_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,95})$")
_FILE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+ ()\[\]-]{0,199}$")
_SPLIT = re.compile(r"^(?P<base>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)
_QUANT = re.compile(
    r"^(?:I?Q\d(?:_[A-Z0-9]{1,3}){0,3}|TQ\d_\d|BF16|FP16|F16|F32|FP32|MXFP4)$", re.IGNORECASE
)
_TOKEN_SPLIT = re.compile(r"[-.]")
# Common file systems hold 255 bytes a name; an import copies through ".NAME.importing".
MAX_LOCAL_NAME_BYTES = 255 - len("..importing")


def check_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is a safe ``owner/name`` id, else raise InvalidNameError."""
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(_REPO_PART.match(part) for part in parts):
        raise InvalidNameError(f"not a valid repository id: {repo_id!r} (expected owner/name)")
    if any(".." in part or part.endswith(".") for part in parts):
        raise InvalidNameError(f"not a valid repository id: {repo_id!r}")
    if any(windows_reserved(part) for part in parts):
        raise InvalidNameError(f"{repo_id!r} uses a name Windows reserves for devices")
    return repo_id


def check_gguf_filename(filename: str) -> str:
    """Return ``filename`` (a path inside a repo) if it is a safe relative .gguf path.

    Rejects absolute paths, ``..`` or empty components, backslashes, control characters,
    names Windows reserves (``CON.gguf``, ``con/aux.gguf``, ``NUL``, ``COM1`` ...) and
    anything that does not end in ``.gguf``.
    """
    if not filename.lower().endswith(".gguf"):
        raise InvalidNameError(f"only .gguf files are models: {filename!r}")
    if "\\" in filename or filename.startswith("/") or len(filename) > 400:
        raise InvalidNameError(f"unsafe file name: {filename!r}")
    parts = filename.split("/")
    if not all(_FILE_PART.match(part) and part not in (".", "..") for part in parts):
        raise InvalidNameError(f"unsafe file name: {filename!r}")
    if any(part.startswith(".") or part.endswith((".", " ")) for part in parts):
        raise InvalidNameError(f"unsafe file name: {filename!r}")
    if any(windows_reserved(part) for part in parts):
        raise InvalidNameError(f"{filename!r} uses a name Windows reserves for devices")
    return filename


def check_local_filename(name: str) -> str:
    """Return ``name`` (one file name, any script) if the library folder can hold it.

    InvalidNameError says why not; "unsafe" only for separators and control characters.
    """
    if not name.lower().endswith(".gguf"):
        raise InvalidNameError(f"only .gguf files are models: {name!r}")
    problem = _local_name_problem(name)
    if problem is not None:
        raise InvalidNameError(f"cannot import {name!r}: {problem}")
    return name


def _local_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file in the library folder, or None."""
    if any(char in "/\\" or unicodedata.category(char) == "Cc" for char in name):
        return "unsafe file name (path separator or control character)"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "the name is not valid text (undecodable bytes); rename the file"
    if size > MAX_LOCAL_NAME_BYTES:
        return f"the name is {size} bytes long (at most {MAX_LOCAL_NAME_BYTES}); rename the file"
    if name.startswith("."):
        return "a name starting with a dot is hidden from the library; rename the file"
    if windows_reserved(name):
        return "it uses a name Windows reserves for devices"
    return None


def is_gguf_name(filename: str) -> bool:
    """True if ``filename`` passes :func:`check_gguf_filename`."""
    try:
        check_gguf_filename(filename)
    except InvalidNameError:
        return False
    return True


@dataclass(frozen=True)
class SplitPart:
    """Where one shard sits in a split GGUF model."""

    base: str
    index: int
    total: int


def split_part(filename: str) -> SplitPart | None:
    """The shard position of ``name-00002-of-00003.gguf``, or None for a single file."""
    match = _SPLIT.match(filename)
    if match is None:
        return None
    index, total = int(match["index"]), int(match["total"])
    if not 1 <= index <= total:
        return None
    return SplitPart(match["base"], index, total)


def model_stem(filename: str) -> str:
    """The file name without directories, ``.gguf`` and any ``-0000N-of-0000M`` suffix."""
    name = PurePosixPath(filename).name
    part = split_part(name)
    if part is not None:
        return part.base
    return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name


def parse_quantization(filename: str) -> str | None:
    """The quantisation label in a GGUF file name (upper case), or None if it names none.

    ``qwen2.5-0.5b-instruct-q4_k_m.gguf`` -> ``Q4_K_M``; ``gemma-2-2b-it-IQ4_XS.gguf`` ->
    ``IQ4_XS``; ``model-f16-00001-of-00002.gguf`` -> ``F16``. The last matching token wins.
    """
    tokens = _TOKEN_SPLIT.split(model_stem(filename))
    labels = [token.upper() for token in tokens if _QUANT.match(token)]
    if not labels:
        return None
    label = labels[-1]
    return {"FP16": "F16", "FP32": "F32"}.get(label, label)
