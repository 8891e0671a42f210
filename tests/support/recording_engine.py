"""The real engine client, remembering what it was asked: replies and warms."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.request import ChatRequest


class RecordingEngine(EngineClient):
    """The real engine client, remembering every reply it started (to check cancels) and
    every warm asked of it (to wait for them, as a person reading a reply would)."""

    def __init__(self, auto_reload: bool = True) -> None:
        super().__init__(auto_reload=auto_reload)
        self.replies: list[ReplyStream] = []
        self.warms: list[Future[dict[str, Any]]] = []
        self.started = threading.Event()

    def generate(self, request: ChatRequest) -> ReplyStream:
        reply = super().generate(request)
        self.replies.append(reply)
        self.started.set()
        return reply

    def warm(self, request: ChatRequest) -> Future[dict[str, Any]]:
        warming = super().warm(request)
        self.warms.append(warming)
        return warming

    def warms_done(self, timeout: float = 600) -> list[dict[str, Any]]:
        """Wait for every warm asked so far; their results."""
        return [warming.result(timeout=timeout) for warming in self.warms]
