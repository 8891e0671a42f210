"""The wire format between the engine client and the engine host.

One frame = a 4-byte big-endian length, then that many bytes of UTF-8 JSON holding one object.
The client writes requests to the host's stdin; the host writes replies and events to its
stdout (llama.cpp's own logging goes to stderr, which the client keeps a tail of).

Requests: ``{"id": N, "op": OP, ...}`` with OP one of ``OPS``; ``generate`` and ``render``
carry one ``request`` (``ChatRequest.to_wire``, validated by the host on arrival),
``complete`` a text ``prompt`` and ``sampling``; ``load`` answers the model's info plus its
``capabilities``. Answers carry the request's id:
``{"id": N, "type": "result", "value": ...}`` or ``{"id": N, "type": "error", "code": C,
"message": M}``; a ``generate`` or ``complete`` request instead streams ``fitted``,
``progress`` (long prompts: ``evaluated``, ``total``, ``seconds``), ``delta`` (and, when
asked, ``probs``) events and ends with ``done`` (``stats``) or ``failed`` (``code``,
``message``, ``stats``). ``cancel`` carries the id of the request to cancel (``target``) and
gets no answer. ``embed`` (``model``: an embedding GGUF, ``texts``) answers ``{"count",
"dim", "data"}``: base64 of float32 rows. ``count`` (``texts``) answers the tokens each
takes as a message's content. ``warm`` (a ``request`` whose last message may be
the user's unsent draft) fills the KV cache ahead of the next turn and answers what it
evaluated; any later request cancels a warm still running (host/warming.py).
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 256 * 1024 * 1024  # a frame this large means the stream is corrupt

OPS = (
    "load", "unload", "generate", "complete", "cancel", "render", "status", "shutdown", "embed",
    "warm", "count",
)  # fmt: skip
STREAM_END_TYPES = ("done", "failed")


class ProtocolError(Exception):
    """The byte stream is not a valid sequence of frames."""


def encode_frame(message: dict[str, Any]) -> bytes:
    """One message as header + JSON payload."""
    payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(payload)) + payload


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    """Exactly ``size`` bytes, or None at a clean end of stream before the first byte."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if remaining == size:
                return None
            raise ProtocolError(f"stream ended inside a frame ({size - remaining}/{size} bytes)")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next message from ``stream``, or None when the stream has ended."""
    header = _read_exact(stream, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {size} bytes is larger than the {MAX_FRAME_BYTES} limit")
    payload = _read_exact(stream, size) if size else b""
    if payload is None:
        raise ProtocolError("stream ended after a frame header")
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"frame is not UTF-8 JSON: {error}") from error
    if not isinstance(message, dict):
        raise ProtocolError("frame does not hold a JSON object")
    return message


def write_frame_fd(fd: int, message: dict[str, Any]) -> None:
    """Write one whole frame to a raw file descriptor (one frame per call, no buffering)."""
    data = memoryview(encode_frame(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def nothing_warmed(cancelled: bool) -> dict[str, Any]:
    """The result of a ``warm`` that read nothing (``cancelled``: another request came
    first, or the engine cannot warm)."""
    return {"evaluated": 0, "kv_source": "none", "cancelled": cancelled, "seconds": 0.0}


def error_message(request_id: int, code: str, message: str) -> dict[str, Any]:
    """The answer for a request that failed."""
    return {"id": request_id, "type": "error", "code": code, "message": message}


def result_message(request_id: int, value: Any) -> dict[str, Any]:
    """The answer for a request that succeeded."""
    return {"id": request_id, "type": "result", "value": value}
