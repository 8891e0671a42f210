"""Safe file names made from conversation titles, for exporting many chats to one folder.

Rules: path separators, characters Windows forbids and control characters become ``_``;
leading and trailing dots and spaces go (no ``..``, no hidden files, nothing Windows
would silently strip); reserved device names (``CON``, ``NUL``, ``COM1`` ...) get a
``_`` in front; unicode letters and emoji are kept (NFC); the name is capped at
``MAX_NAME_BYTES`` of UTF-8; names already used in the folder, compared without case,
get `` (2)``, `` (3)`` ...
"""

from __future__ import annotations

import unicodedata

from chatdesk.paths import windows_reserved

FORBIDDEN = set('<>:"/\\|?*')
KEPT_FORMAT_CHARACTERS = {"\u200d"}  # zero-width joiner: keeps emoji sequences whole
MAX_NAME_BYTES = 120  # whole name with suffix and extension; file systems allow 255
FALLBACK = "Untitled"


def clean_character(char: str) -> str:
    """The character itself, or ``_`` for one that is unsafe in a file name."""
    if char in FORBIDDEN:
        return "_"
    category = unicodedata.category(char)
    if category.startswith("C") and char not in KEPT_FORMAT_CHARACTERS:
        return " " if category == "Cc" and char.isspace() else "_"
    return char


def truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that fits in ``limit`` bytes of UTF-8."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def safe_stem(title: str, limit: int) -> str:
    """A file name (without extension) made from ``title``, at most ``limit`` bytes."""
    text = "".join(clean_character(char) for char in unicodedata.normalize("NFC", title))
    text = " ".join(text.split()).strip(" .")
    if windows_reserved(text):
        text = "_" + text
    text = truncate_utf8(text, limit).rstrip(" .")
    return text or FALLBACK


def unique_file_name(title: str, extension: str, taken: set[str]) -> str:
    """A safe, unused name ``<title>.<extension>``; records it in ``taken`` (casefolded)."""
    suffix_room = MAX_NAME_BYTES - len(extension.encode("utf-8")) - 1
    for number in range(1, 1_000_000):
        suffix = "" if number == 1 else f" ({number})"
        stem = safe_stem(title, suffix_room - len(suffix))
        name = f"{stem}{suffix}.{extension}"
        if name.casefold() not in taken:
            taken.add(name.casefold())
            return name
    raise RuntimeError("no free file name")  # pragma: no cover - a million duplicates
