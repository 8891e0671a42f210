"""Words that people read: counts ("1 conversation", "2 conversations") and model names in
shared files (a file name, never the full local path with its user name and folders).

One helper each for the command line, the window and the exports, so they all agree.
"""

from __future__ import annotations

import re
from typing import overload

PATH_SEPARATORS = re.compile(r"[\\/]")


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` followed by ``noun``, in the plural unless the count is exactly one."""
    word = noun if count == 1 else (plural or noun + "s")
    return f"{count:,} {word}"


@overload
def shared_model_name(model: str) -> str: ...


@overload
def shared_model_name(model: None) -> None: ...


def shared_model_name(model: str | None) -> str | None:
    """A model as a shared file names it: a local path becomes its file name."""
    if not model:
        return model
    return PATH_SEPARATORS.split(model.rstrip("/\\"))[-1] or model
