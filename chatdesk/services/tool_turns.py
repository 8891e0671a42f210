"""Tool steps inside a chat turn, for window and CLI alike ("reason, act, read, reason").

``ToolTurns`` plugs into the ``TurnService``. A turn whose request carries
``extras["tools"]`` (tool names, or "all") gets the schemas of those tools
(``extras["tool_schemas"]``, sent to the model's chat template) and a ``ToolState``: its
reply streams through a ``ToolCallStream``, so a call is recognised as it starts and never
shown as text. When the reply ends with calls:

1. the assistant row is stored complete, with its ``tool_calls``;
2. the calls run on a worker thread through the ``ToolsService`` (policy, the ``approve``
   callback, audit log); the window's approver shows its dialog from there;
3. back on the owner's thread, one ``tool`` row per call is stored under it, in order;
4. the next step starts: a new assistant row after the results, with the whole branch
   (calls and results included) sent again.

The turn ends when a reply has no call, after ``ToolsService.max_steps`` steps, or when the
model wrote unreadable calls ``MAX_MALFORMED + 1`` times in a row (each got an error result
to correct itself). Stop while a reply streams works as for any reply; Stop while tools run
ends the turn at once: a python run in progress is killed, the calls without a stored
result get "stopped by the user" (an MCP call in progress is cancelled, its session
closed), and the turn is ``interrupted``. Nothing is lost: every step is its own
row of the tree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.types import ReplyStats
from chatdesk.services.tool_history import store_loop_message
from chatdesk.services.tools import Approver, ToolRun, ToolsService
from chatdesk.services.turns import Turn, TurnRequest, TurnService, stats_to_dict
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.formats import reasoning_only, reply_format
from chatdesk.tools.streaming import ToolCallStream

log = logging.getLogger(__name__)
MAX_MALFORMED = 2
STOPPED = "Error: stopped by the user before it ran"
ALL_TOOLS = "all"
Worker = Callable[[Callable[[], None]], None]
RunReport = Callable[[Turn, ToolRun], None]


def tool_message(run: ToolRun) -> dict[str, Any]:
    """A call's result as a ``tool`` message."""
    return {"role": "tool", "tool_call_id": run.call.id, "name": run.call.name,
            "content": run.outcome.text}  # fmt: skip


def start_thread(work: Callable[[], None]) -> None:
    """Run ``work`` on a new daemon thread (tools may take seconds, or wait for approval)."""
    threading.Thread(target=work, name="tool calls", daemon=True).start()


@dataclass
class ToolState:
    """A turn's tool bookkeeping: the call recogniser and where the loop stands."""

    parser: ToolCallStream
    step: int = 1
    malformed: int = 0
    running: bool = False
    done: bool = False
    calls: list[ToolCall] = field(default_factory=list)
    runs: list[ToolRun] = field(default_factory=list)  # appended by the worker as calls end


class ToolTurns:
    """The tool steps of every turn of one ``TurnService``."""

    def __init__(
        self,
        turns: TurnService,
        tools: ToolsService,
        *,
        approve: Approver | None = None,
        approved_by: str | None = None,
        worker: Worker = start_thread,
    ) -> None:
        self.turns, self.tools = turns, tools
        self.approve, self.approved_by = approve, approved_by
        self.worker = worker
        self.on_run: RunReport | None = None  # told of each stored result (owner's thread)
        turns.tool_steps = self

    def prepare(self, request: TurnRequest) -> None:
        """Tool names (or "all") in ``extras["tools"]`` -> their schemas, once per request."""
        wanted = request.extras.get("tools")
        if wanted and "tool_schemas" not in request.extras:
            names = None if wanted == ALL_TOOLS else list(wanted)
            request.extras["tool_schemas"] = self.tools.schemas(names)

    def state_for(self, turn: Turn) -> ToolState:
        """The state of a turn's first step. A reply continued from a chosen token (a
        branch) is read from its start: a call begun before the branch point runs too."""
        parser = self.parser(turn)
        parser.feed(turn.text)  # already on screen
        return ToolState(parser)

    def parser(self, turn: Turn) -> ToolCallStream:
        """The reply reader for the loaded model: its template's call format (all formats
        for an unknown one), reasoning opened by the template, and the offered tool names.
        A turn offered no tools reads only reasoning (no text is taken as a call)."""
        info = getattr(self.turns.engines.engine, "model_info", None)
        offered = turn.request.extras.get("tool_schemas") or []
        names = [s.get("function", {}).get("name", "") for s in offered]
        fmt = reply_format(str(getattr(info, "tool_format", "") or ""))
        return ToolCallStream(
            fmt if offered else reasoning_only(fmt),
            thinking_open=bool(getattr(info, "thinking_open", False)),
            tool_names=names,
        )

    # --- after a reply -----------------------------------------------------------------
    def after_reply(
        self, turn: Turn, stats: ReplyStats | None, error: BaseException | None
    ) -> bool:
        """The reply ended: True when it called tools (which now run), else False (the turn
        ends as usual, with the call-free text)."""
        state: ToolState = turn.tools
        if state.done:
            return False
        parsed = state.parser.finish()
        turn.text = parsed.content
        if parsed.reasoning:  # kept with the reply (its extra), never sent back
            turn.data["reasoning"] = parsed.reasoning
        if error is not None or turn.cancel_requested or not parsed.calls:
            state.done = True
            return False
        state.malformed = state.malformed + 1 if all(c.error for c in parsed.calls) else 0
        turn.stats, turn.status = stats_to_dict(stats), "complete"
        self.turns.persist_reply(turn, final=True)
        self.turns.store.set_tool_calls(turn.message_id, [c.to_message() for c in parsed.calls])
        turn.status = "streaming"  # the turn goes on while its tools run
        state.calls, state.runs, state.running = parsed.calls, [], True
        self.worker(lambda: self._run(turn, state))
        return True

    def _run(self, turn: Turn, state: ToolState) -> None:
        """Worker thread: run the calls in order (until Stop); then back to the owner."""
        try:
            for call in state.calls:
                if turn.cancel_requested:
                    break
                state.runs.append(self._run_one(turn, call))
        except Exception:  # the app is closing (store closed) or the approver failed
            log.exception("tool calls ended early")
        if not turn.cancel_requested:
            self.turns.dispatch(lambda: self._after_tools(turn))

    def _run_one(self, turn: Turn, call: ToolCall) -> ToolRun:
        return self.tools.run(
            call, conversation_id=turn.conversation_id, approve=self.approve,
            approved_by=self.approved_by,
        )  # fmt: skip

    def _after_tools(self, turn: Turn) -> None:
        state: ToolState = turn.tools
        if not state.running:
            return  # stopped meanwhile: the turn already ended
        state.running = False
        last = self._store_results(turn, list(state.runs))
        limit = self._limit_reached(state)
        if limit:
            turn.error = limit
            self._end(turn)
        else:
            self._next_step(turn, last)

    def _store_results(self, turn: Turn, runs: list[ToolRun]) -> str:
        """One tool row per call (a stopped one says so); the id of the last."""
        by_id = {run.call.id: run for run in runs}
        last = turn.message_id
        for call in turn.tools.calls:
            run = by_id.get(call.id)
            message = tool_message(run) if run else {"role": "tool", "tool_call_id": call.id,
                                                     "content": STOPPED}  # fmt: skip
            stored = store_loop_message(self.turns.store, turn.conversation_id, message)
            last = stored.id
            if run is not None and self.on_run is not None:
                self.on_run(turn, run)
        return last

    def _limit_reached(self, state: ToolState) -> str | None:
        if state.malformed > MAX_MALFORMED:
            return "stopped: the model kept writing tool calls that could not be read"
        if state.step >= self.tools.max_steps():
            return f"stopped after {state.step} tool steps (the limit in Tools settings)"
        return None

    def _next_step(self, turn: Turn, after: str) -> None:
        """A new assistant reply after the tool results, with everything so far."""
        store = self.turns.store
        path = store.path_to(after)
        request = self.turns.request_for(turn.conversation_id, path)
        request.extras.update(turn.request.extras)
        placeholder = store.append_message(
            turn.conversation_id, "assistant", "", parent_id=after, status="streaming",
            model=turn.model, settings=request.sampling,
        )  # fmt: skip
        step = Turn(request, placeholder.id, [*path, placeholder], turn.model, turn.identity)
        step.tools = ToolState(self.parser(step), turn.tools.step + 1, turn.tools.malformed)
        self._end(turn)
        self.turns.begin(step)

    def _end(self, turn: Turn) -> None:
        """This step's turn ends (its row is already stored; listeners hear it finished)."""
        turn.tools.done = True
        turn.status = "streaming"
        self.turns.finish(turn)

    def stop(self, turn: Turn) -> None:
        """Stop pressed while tools run: results so far, "stopped" for the rest, end now."""
        turn.cancel_requested = True
        turn.tools.running = False
        self.tools.stop_running()
        self._store_results(turn, list(turn.tools.runs))
        self._end(turn)
