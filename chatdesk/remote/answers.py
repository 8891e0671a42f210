"""Chat answers that are not a clean event stream: HTML pages, whole JSON, stalled streams.

A streamed request can get three other things back with status 200:

- an HTML page (a router's login page, a web UI at the URL instead of its API): refused
  as "not an OpenAI-compatible server", naming what came back;
- a whole JSON chat completion (a server or proxy that ignores ``stream``): read whole,
  with a size cap, and turned into one chunk of the streamed shape, so the reply is kept;
- a stream that stays open on keep-alive comments without ever sending text again: every
  line resets the HTTP read timeout, so ``until_stalled`` ends it when no ``data:`` line
  came for the read timeout's length (an overall deadline without new tokens).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from chatdesk.engine.types import EngineError
from chatdesk.remote.errors import RemoteErrorCode

MAX_WHOLE_ANSWER = 16 * 1024 * 1024


def content_type(response: httpx.Response) -> str:
    """The media type, lower case, without parameters."""
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def is_whole_json(response: httpx.Response) -> bool:
    """A JSON body rather than server-sent events."""
    kind = content_type(response)
    return kind == "application/json" or kind.endswith("+json")


def refuse_non_openai(response: httpx.Response, base_url: str) -> None:
    """EngineError for an HTML page (or any text/html) where events were expected."""
    kind = content_type(response)
    if kind in ("text/html", "application/xhtml+xml"):
        raise EngineError(
            f"{base_url} is not an OpenAI-compatible server: it answered with an HTML page "
            "(is the address the API's, usually ending in /v1?)",
            RemoteErrorCode.MALFORMED,
        )


def whole_answer_chunk(response: httpx.Response) -> dict[str, Any]:
    """A whole chat completion as one chunk of the streamed shape (delta, finish, usage)."""
    body = b"".join(_capped(response.iter_bytes()))
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise EngineError(
            f"the server answered with JSON that is not a chat completion: {body[:120]!r}",
            RemoteErrorCode.MALFORMED,
        )
    first = choices[0]
    found = first.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    listed = message.get("tool_calls")
    calls: list[Any] = listed if isinstance(listed, list) else []
    numbered = [{**c, "index": i} for i, c in enumerate(calls) if isinstance(c, dict)]
    choice = {**first, "delta": {**message, "tool_calls": numbered}}
    return {**answer, "choices": [choice]}


def _capped(blocks: Iterable[bytes]) -> Iterator[bytes]:
    size = 0
    for block in blocks:
        size += len(block)
        if size > MAX_WHOLE_ANSWER:
            raise EngineError(
                f"the server's answer is over {MAX_WHOLE_ANSWER // 2**20} MiB",
                RemoteErrorCode.MALFORMED,
            )
        yield block


def until_stalled(lines: Iterable[str], seconds: float) -> Iterator[str]:
    """``lines``, ended with an EngineError when no ``data:`` line came for ``seconds``
    (keep-alive comments and blank lines do not count as progress)."""
    last = time.monotonic()
    for line in lines:
        now = time.monotonic()
        if line.startswith("data:"):
            last = now
        elif now - last > seconds:
            raise EngineError(
                f"the stream stalled: no new text for {seconds:g} s (only keep-alive "
                "messages); the text so far is kept",
                RemoteErrorCode.TIMEOUT,
            )
        yield line
