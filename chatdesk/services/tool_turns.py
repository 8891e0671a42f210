"""Tool steps inside a chat turn, for window and CLI alike ("reason, act, read, reason").

``ToolTurns`` plugs into the ``TurnService`` through its hooks, as documents and token
probabilities do (``install``): a request hook, a text hook, an end hook and a stop hook.
A turn whose request carries ``extras["tools"]`` (tool names, or "all") gets those tools'
``ToolSpec``s in its engine request (``request.chat.tools``, which the engine gives the
model's chat template; the request hook) and a ``ToolState`` in ``turn.state``
(``tool_state(turn)``): its reply streams through a ``ToolCallStream``, so a call is
recognised as it starts and never shown as text (the text hook). When the reply ends with
calls (the end hook takes the turn over):

1. the assistant row is stored complete, with its ``tool_calls`` (the turn service's one
   reply writer);
2. the calls run on a worker thread through the ``ToolsService`` (policy, the ``approve``
   callback, audit log); the window's approver shows its dialog from there;
3. back on the owner's thread, one ``tool`` row per call is stored under it, in order;
4. the next step starts: a new assistant row after the results, with the whole branch
   (calls and results included) sent again.

The turn ends when a reply has no call, after ``ToolsService.max_steps`` steps, or when the
model wrote unreadable calls ``MAX_MALFORMED + 1`` times in a row (each got an error result
to correct itself). Stop while a reply streams works as for any reply; Stop while tools run
ends the turn at once: a python run in progress is killed (an MCP call in progress is
cancelled, its session closed) and gets ``STOP_WAIT_S`` to end, so that its row holds what
it returned and how it was stopped, as the audit log does; the calls that never started
get "stopped by the user before it ran", and the turn is ``interrupted``. Nothing is
lost: every step is its own row of the tree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.request import ToolSpec
from chatdesk.engine.types import ReplyStats
from chatdesk.services.tool_history import store_tool_result
from chatdesk.services.tools import Approver, ToolRun, ToolsService
from chatdesk.services.turns import Turn, TurnRequest, TurnService
from chatdesk.tools.calls import ToolCall
from chatdesk.tools.formats import reasoning_only, reply_format
from chatdesk.tools.streaming import ToolCallStream

log = logging.getLogger(__name__)
MAX_MALFORMED = 2
STOPPED = "Error: stopped by the user before it ran"
STOPPED_RUNNING = "Error: stopped by the user while it ran"  # it did not end in STOP_WAIT_S
STOP_WAIT_S = 2.0
ALL_TOOLS = "all"
STATE_KEY = "tools"  # turn.state: the turn's ToolState
Worker = Callable[[Callable[[], None]], None]
RunReport = Callable[[Turn, ToolRun], None]


def tool_message(run: ToolRun) -> dict[str, Any]:
    """A call's result as a ``tool`` message."""
    return {"role": "tool", "tool_call_id": run.call.id, "name": run.call.name,
            "content": run.outcome.text}  # fmt: skip


def stopped_message(call: ToolCall, state: ToolState | None) -> dict[str, Any]:
    """The ``tool`` message of a call stopped without a result: before it ran, or while
    it ran (it did not end within ``STOP_WAIT_S`` of Stop)."""
    running = state is not None and state.executing is call
    return {"role": "tool", "tool_call_id": call.id,
            "content": STOPPED_RUNNING if running else STOPPED}  # fmt: skip


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
    executing: ToolCall | None = None  # the call running now (approved), until its run ends
    settled: threading.Event = field(default_factory=threading.Event)  # set as it ends


def tool_state(turn: Turn) -> ToolState | None:
    """The tool bookkeeping of a turn that offers tools (None for any other turn)."""
    state = turn.state.get(STATE_KEY)
    return state if isinstance(state, ToolState) else None


class ToolTurns:
    """The tool steps of every turn of one ``TurnService`` (after ``install``)."""

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

    def install(self) -> None:
        """Join every turn of the turn service through its hooks."""
        self.turns.add_request_hook(self.on_request)
        self.turns.add_text_hook(self.on_text)
        self.turns.add_end_hook(self.after_reply)
        self.turns.add_stop_hook(self.on_stop)

    # --- hooks -------------------------------------------------------------------------
    def on_request(self, request: TurnRequest) -> None:
        """Tool names (or "all") in ``extras["tools"]`` -> their ``ToolSpec``s in the request."""
        wanted = request.extras.get("tools")
        if wanted and not request.chat.tools:
            names = None if wanted == ALL_TOOLS else list(wanted)
            specs = tuple(ToolSpec.from_openai(s) for s in self.tools.schemas(names))
            request.chat = request.chat.replace(tools=specs)

    def on_text(self, turn: Turn, delta: str) -> str:
        """The text to show: a call being written is held back."""
        return self._state(turn).parser.feed(delta)

    def on_stop(self, turn: Turn) -> bool:
        """Stop while tools run ends the turn here (True); otherwise the reply is stopped."""
        state = tool_state(turn)
        if state is None or not state.running:
            return False
        self.stop(turn)
        return True

    def _state(self, turn: Turn) -> ToolState:
        """The turn's state, made on its first event: every reply is read, for calls when
        its request offers tools and for reasoning in any case."""
        state = tool_state(turn)
        if state is None:
            state = self.state_for(turn)
            turn.state[STATE_KEY] = state
        return state

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
        names = [tool.name for tool in turn.request.chat.tools]
        fmt = reply_format(str(getattr(info, "tool_format", "") or ""))
        return ToolCallStream(
            fmt if names else reasoning_only(fmt),
            thinking_open=bool(getattr(info, "thinking_open", False)),
            tool_names=names,
        )

    # --- after a reply -----------------------------------------------------------------
    def after_reply(
        self, turn: Turn, stats: ReplyStats | None, error: BaseException | None
    ) -> bool:
        """The reply ended: True when it called tools (which now run), else False (the turn
        ends as usual, with the call-free text)."""
        state = self._state(turn)
        if state is None or state.done:
            return False
        parsed = state.parser.finish()
        turn.text = parsed.content
        if parsed.reasoning:  # kept with the reply (its extra), never sent back
            turn.data["reasoning"] = parsed.reasoning
        if error is not None or turn.cancel_requested or not parsed.calls:
            state.done = True
            return False
        state.malformed = state.malformed + 1 if all(c.error for c in parsed.calls) else 0
        turn.status, turn.tool_calls = "complete", [c.to_message() for c in parsed.calls]
        self.turns.persist_reply(turn, final=True)
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
                state.runs.append(self._run_one(turn, state, call))
                state.executing = None
                state.settled.set()
        except Exception:  # the app is closing (store closed) or the approver failed
            log.exception("tool calls ended early")
        if not turn.cancel_requested:
            self.turns.dispatch(lambda: self._after_tools(turn))

    def _run_one(self, turn: Turn, state: ToolState, call: ToolCall) -> ToolRun:
        def started() -> None:
            state.settled.clear()
            state.executing = call

        return self.tools.run(
            call, conversation_id=turn.conversation_id, approve=self.approve,
            approved_by=self.approved_by, started=started,
            offered=[tool.name for tool in turn.request.chat.tools],
        )  # fmt: skip

    def _after_tools(self, turn: Turn) -> None:
        state = tool_state(turn)
        if state is None or not state.running:
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
        state = tool_state(turn)
        for call in state.calls if state else []:
            run = by_id.get(call.id)
            message = tool_message(run) if run else stopped_message(call, state)
            stored = store_tool_result(self.turns.store, turn.conversation_id, message)
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
        path = self.turns.store.path_to(after)
        request = self.turns.request_for(turn.conversation_id, path, turn.request.extras)
        placeholder = self.turns.replies.open(
            turn.conversation_id, after, model=turn.model, settings=request.settings
        )
        step = Turn(request, placeholder.id, [*path, placeholder], turn.model, turn.identity)
        done = tool_state(turn) or ToolState(ToolCallStream())
        step.state[STATE_KEY] = ToolState(self.parser(step), done.step + 1, done.malformed)
        self._end(turn)
        self.turns.begin(step)

    def _end(self, turn: Turn) -> None:
        """This step's turn ends (its row is already stored; listeners hear it finished)."""
        state = tool_state(turn)
        if state is not None:
            state.done = True
        turn.status = "streaming"
        self.turns.finish(turn)

    def stop(self, turn: Turn) -> None:
        """Stop pressed while tools run: results so far, "stopped" for the rest, end now."""
        turn.cancel_requested = True
        state = tool_state(turn)
        if state is not None:
            state.running = False
        self.tools.stop_running()
        if state is not None and state.executing is not None:
            state.settled.wait(STOP_WAIT_S)  # killed or cancelled: its result comes at once
        self._store_results(turn, list(state.runs) if state else [])
        self._end(turn)
