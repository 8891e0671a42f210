"""Tool calls and reasoning read out of a reply while it streams, so neither is shown as text.

``ToolCallStream`` sits between the engine's text pieces and the screen. Its ``Scanner``
walks the reply once, from the last point it settled: text up to the next opening marker of
its ``Format`` (see ``formats``) is shown; a marker starts a block (call, reasoning, markup,
harmony header) that is read when its end is in view. Nothing is decided on text that could
still change meaning: a block waits for its end, a tail that could begin a marker is held
back. So a reply fed in any chunking (one character at a time or all at once) gives the
same text, reasoning and calls. After a call the scan goes on: text after a call is kept,
every call block is read on its own (one unreadable call does not drop its neighbours), and
separators between calls (``;``, ``,``, spaces) are not shown.

With ``json_watch``, a bare JSON value in the text (``{"name": ..., "arguments": ...}``,
``{"tool_calls": [...]}``, a list of calls; optionally in a ```json fence or a ``<tool>``-style
tag) is a call when its shape is one; ``{"response": "..."}`` opening the reply is that text
(the generic format's answer). Any other JSON stays text, decided by its first key as soon as
that is written.

A waiting scan names the characters that can end its wait (``wake``): while none arrives
the next pieces are only appended, so the cost per streamed token stays small.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from chatdesk.tools.calls import ToolCall, call_with_arguments, calls_in_value, json_extent
from chatdesk.tools.formats import Format, Rule, format_for

Event = tuple[str, object]  # ("text" | "reasoning", str) or ("call", ToolCall)
CALL_KEYS = frozenset(
    {"name", "tool_name", "function_name", "function", "arguments", "parameters",
     "tool_calls", "tool_call", "response", "type", "id"}
)  # fmt: skip
_KEY = re.compile(r'[\[{]\s*(?:\{\s*)?"((?:[^"\\]|\\.)*)"\s*:')
_KEY_PREFIX = re.compile(r'[\[{]\s*(?:\{\s*)?(?:"(?:[^"\\]|\\.)*(?:"\s*)?)?')
_WRAP_OPEN = re.compile(
    r"(?:(?:```[\w-]*|<(?:tool_call|tools?|response|json|xml|function_call)>)\s*)+\Z", re.I
)
_WRAP_PARTIAL = re.compile(r"(?:(?:`{1,3}[\w-]*|<[A-Za-z_]*>?)\s*)+\Z")
_WRAP_TOKEN = re.compile(r"```|<(\w+)>")
_SEPARATORS = re.compile(r"[\s,;]*\Z")
_HARMONY_END = ("<|call|>", "<|end|>", "<|return|>")
_RECIPIENT = re.compile(r"to=functions\.([^\s<]+)")
_CHANNEL = re.compile(r"<\|channel\|>\s*(\w+)")


class _Wait(Exception):
    """The block at hand needs more text (``wake``: the characters that may end the wait)."""

    def __init__(self, wake: str) -> None:
        self.wake = wake


@dataclass
class ParsedReply:
    """A finished reply: the text to show, the calls it made, and its reasoning."""

    content: str
    calls: list[ToolCall] = field(default_factory=list)
    reasoning: str = ""
    tail: str = ""  # text held back while streaming and shown only when the reply ended


class Scanner:
    """Turns a growing reply into text, reasoning and call events (see the module docstring)."""

    def __init__(self, fmt: Format, tool_names: Iterable[str] = ()) -> None:
        self.fmt, self.names = fmt, frozenset(tool_names)
        self.rules = sorted(fmt.rules, key=lambda r: -len(r.opener))
        pattern = "|".join(re.escape(r.opener) for r in self.rules)
        if fmt.json_watch:
            pattern = f"{pattern}|[{{\\[]" if pattern else "[{\\[]"
        self._start = re.compile(pattern)
        self._by_opener = {r.opener: r for r in self.rules}
        self._prefixes = {r.opener[:n] for r in self.rules for n in range(1, len(r.opener))}
        self._longest = max((len(r.opener) for r in self.rules), default=1)
        self.pos = 0
        self.wake: str | None = None  # while waiting: what may end the wait
        self.after_call = False
        self.shown_any = False
        self.reasoned = False  # a reasoning block came before anything shown
        self.response_open = False  # a guarded "<response>" was dropped

    def scan(self, buf: str, final: bool) -> list[Event]:
        """Events for ``buf[self.pos:]`` as far as they are settled (all of it when final)."""
        events: list[Event] = []
        self.wake = None
        while True:
            found = self._start.search(buf, self.pos)
            if found is None:
                self._settle_text(events, buf, final)
                return events
            try:
                start, end, block = self._block(buf, found, final)
            except _Wait as wait:
                self._emit_text(events, buf[self.pos : self._lead(buf, found)], block_is_call=True)
                self.pos, self.wake = self._lead(buf, found), wait.wake
                return events
            self._emit_text(events, buf[self.pos : start], any(k == "call" for k, _ in block))
            for event in block:
                self._emit(events, event)
            self.pos = end

    # --- text --------------------------------------------------------------------------
    def _settle_text(self, events: list[Event], buf: str, final: bool) -> None:
        keep = 0 if final else self._hold(buf)
        self._emit_text(events, buf[self.pos : len(buf) - keep], block_is_call=final)
        self.pos = len(buf) - keep
        if keep:
            self.wake = ""  # any character may settle a held tail

    def _hold(self, buf: str) -> int:
        """How much of the tail to hold back: a marker's beginning, a fence or tag before
        possible JSON, or separators after a call."""
        tail = buf[max(self.pos, len(buf) - self._longest) :]
        keep = next((len(tail) - i for i in range(len(tail)) if tail[i:] in self._prefixes), 0)
        if self.fmt.json_watch and (wrap := _WRAP_PARTIAL.search(buf, self.pos)):
            keep = max(keep, len(buf) - wrap.start())
        if self.after_call and _SEPARATORS.match(buf, self.pos):
            keep = len(buf) - self.pos
        return keep

    def _emit_text(self, events: list[Event], text: str, block_is_call: bool) -> None:
        if self.after_call and block_is_call and _SEPARATORS.fullmatch(text):
            return  # separators between calls (or after the last one)
        self._emit(events, ("text", text))

    def _emit(self, events: list[Event], event: Event) -> None:
        kind, value = event
        if kind == "text" and not value:
            return
        if kind == "text" and events and events[-1][0] == "text":
            events[-1] = ("text", str(events[-1][1]) + str(value))
        else:
            events.append(event)
        if kind == "reasoning":
            self.reasoned = self.reasoned or not self.shown_any
        if kind == "call":
            self.after_call = True
        elif kind == "text":
            self.after_call = self.after_call and not str(value).strip()
            self.shown_any = self.shown_any or bool(str(value).strip())

    # --- blocks ------------------------------------------------------------------------
    def _lead(self, buf: str, found: re.Match[str]) -> int:
        """Where a block's span starts: a JSON call takes the fence or tags just before it."""
        rule = self._by_opener.get(found[0])
        if rule is not None and not rule.guarded:
            return found.start()
        wrap = _WRAP_OPEN.search(buf, self.pos, found.start())
        return wrap.start() if wrap else found.start()

    def _block(self, buf: str, found: re.Match[str], final: bool) -> tuple[int, int, list[Event]]:
        """(span start, span end, events) for the block opening at ``found``."""
        rule = self._by_opener.get(found[0])
        if rule is None:
            return self._json(buf, found.start(), self._lead(buf, found), final)
        at, body = found.start(), found.end()
        if rule.kind == "markup":
            return (
                (at, body, []) if self._markup_here(rule) else self._as_text(buf, at, body, final)
            )
        if rule.kind == "reasoning":
            end, close = _until(buf, body, rule.closers, final)
            return at, close, [("reasoning", buf[body:end])]
        if rule.kind == "harmony":
            return self._harmony(buf, at, final)
        return self._call_block(rule, buf, at, body, final)

    def _markup_here(self, rule: Rule) -> bool:
        """Guarded markup (``formats.all_formats``) is dropped only where its family writes
        it: an opening one right after the reasoning, before any text; its closer after it.
        Both depend on what came before only, so the streamed reading stays the whole one."""
        if not rule.guarded:
            return True
        if rule.opener.startswith("</"):
            return self.response_open
        self.response_open = self.reasoned and not self.shown_any
        return self.response_open

    def _as_text(self, buf: str, at: int, body: int, final: bool) -> tuple[int, int, list[Event]]:
        """Guarded markup out of place: text, or the wrapper of a bare JSON call after it."""
        k = _skip_space(buf, body)
        if self.fmt.json_watch and k == len(buf) and not final:
            raise _Wait("")
        if self.fmt.json_watch and k < len(buf) and buf[k] in "{[":
            wrap = _WRAP_OPEN.search(buf, self.pos, k)  # fences or tags before it too
            return self._json(buf, k, wrap.start() if wrap else at, final)
        return at, body, [("text", buf[at:body])]

    def _call_block(
        self, rule: Rule, buf: str, at: int, body: int, final: bool
    ) -> tuple[int, int, list[Event]]:
        k = _skip_space(buf, body)
        if k == len(buf) and not final:
            raise _Wait("")
        json_at = self._json_start(rule, buf, body, final) if rule.json_body else None
        if rule.must_start and (k == len(buf) or buf[k] not in rule.must_start):
            return at, body, ([("text", rule.opener)] if rule.literal else [])
        if json_at is None and rule.head is not None:  # Mistral: a name and no JSON
            return self._headed(rule, buf, at, body, final)
        if json_at is not None:
            end = json_extent(buf, json_at)
            if end is not None:
                close = _closer_after(buf, end, rule.closers, final)
                return at, close, self._read(rule, buf[body:end])
            if not any(c in buf[body:] for c in rule.closers) and not final:
                raise _Wait(']}"')
        end, close = _until(buf, body, rule.closers, final)
        return at, close, self._read(rule, buf[body:end])

    def _json_start(self, rule: Rule, buf: str, body: int, final: bool) -> int | None:
        """Where a call body's JSON starts (after Mistral's head); None when it is not JSON."""
        k = body
        if rule.head is not None:
            head = rule.head.match(buf, body)
            k = head.end() if head else body
            rest = buf[k:]
            if not final and (
                k == len(buf) or any(t.startswith(rest) for t in ("[CALL_ID]", "[ARGS]"))
            ):
                raise _Wait("")
        k = _skip_space(buf, k)
        return k if k < len(buf) and buf[k] in "[{" else None

    def _headed(
        self, rule: Rule, buf: str, at: int, body: int, final: bool
    ) -> tuple[int, int, list[Event]]:
        head = rule.head.match(buf, body) if rule.head else None
        if head and head[1] and head.end() == len(buf) and final:
            return at, len(buf), self._read(rule, buf[body:])
        return at, body, []  # the marker, then text

    def _read(self, rule: Rule, body: str) -> list[Event]:
        calls = rule.read(body) if rule.read else []
        return [("call", call) for call in calls]

    def _harmony(self, buf: str, at: int, final: bool) -> tuple[int, int, list[Event]]:
        header_end = buf.find("<|message|>", at)
        if header_end < 0:
            if not final:
                raise _Wait(">")
            return at, len(buf), []
        header, body = buf[at:header_end], header_end + len("<|message|>")
        recipient, channel = _RECIPIENT.search(header), _CHANNEL.search(header)
        if recipient is None and (channel is None or channel[1] != "analysis"):
            return at, body, []  # the final answer (or a preamble) follows as text
        end, close = _until(buf, body, (*_HARMONY_END, "<|start|>"), final)
        close = end if buf.startswith("<|start|>", end) else close
        if recipient is None:
            return at, close, [("reasoning", buf[body:end])]
        return at, close, [("call", call_with_arguments(recipient[1], buf[body:end]))]

    def _json(self, buf: str, at: int, lead: int, final: bool) -> tuple[int, int, list[Event]]:
        """A bare JSON value at ``at``: a call, the generic ``response``, or text."""
        if not final and buf[at:] in self._prefixes:
            raise _Wait("")  # "[" may begin "[TOOL_CALLS]"
        key = _KEY.match(buf, at)
        if key is None:
            if not final and _KEY_PREFIX.fullmatch(buf, at):
                raise _Wait('":')
            return at, at + 1, [("text", buf[at])]
        if key[1] not in CALL_KEYS:
            return at, at + 1, [("text", buf[at])]
        end = json_extent(buf, at)
        if end is None:
            if not final:
                raise _Wait(']}"')
            return at, at + 1, [("text", buf[at])]
        try:
            value = json.loads(buf[at:end])
        except ValueError:
            return at, at + 1, [("text", buf[at])]
        return self._json_value(buf, value, (lead, at, end), final)

    def _json_value(
        self, buf: str, value: object, span: tuple[int, int, int], final: bool
    ) -> tuple[int, int, list[Event]]:
        lead, at, end = span
        if isinstance(value, dict) and list(value) == ["response"] and not self.shown_any:
            return lead, _unwrap(buf, lead, at, end, final), [("text", str(value["response"]))]
        calls = calls_in_value(value, self.names)
        if calls is None:
            return at, end, [("text", buf[at:end])]
        return lead, _unwrap(buf, lead, at, end, final), [("call", c) for c in calls]


def _skip_space(buf: str, index: int) -> int:
    while index < len(buf) and buf[index].isspace():
        index += 1
    return index


def _until(buf: str, start: int, closers: tuple[str, ...], final: bool) -> tuple[int, int]:
    """(body end, block end) at the first closer after ``start``; the reply's end when final."""
    found = [(i, c) for c in closers if (i := buf.find(c, start)) >= 0]
    if found:
        index, closer = min(found)
        return index, index + len(closer)
    if not final:
        raise _Wait("".join({c[-1] for c in closers}))
    return len(buf), len(buf)


def _closer_after(buf: str, end: int, closers: tuple[str, ...], final: bool) -> int:
    """A closer right after a block's JSON (spaces between) is part of the block."""
    k = _skip_space(buf, end)
    rest = buf[k:]
    for closer in closers:
        if rest.startswith(closer):
            return k + len(closer)
        if closer.startswith(rest) and not final:
            raise _Wait("")
    return end


def _unwrap(buf: str, lead: int, at: int, end: int, final: bool) -> int:
    """The end of a JSON call's span: the closing fence/tags matching those before it."""
    closers = [
        "```" if t[0] == "```" else f"</{t[1]}>" for t in _WRAP_TOKEN.finditer(buf, lead, at)
    ]
    for closer in reversed(closers):
        k = _skip_space(buf, end)
        rest = buf[k:]
        if rest[: len(closer)].lower() == closer.lower():
            end = k + len(closer)
        elif closer.lower().startswith(rest.lower()) and not final:
            raise _Wait("")
        else:
            break
    return end


class ToolCallStream:
    """Feed reply text in pieces; get back the text safe to show; ``finish`` for the calls."""

    def __init__(
        self,
        formats: Iterable[str] | str | Format | None = None,
        *,
        thinking_open: bool = False,
        tool_names: Iterable[str] = (),
    ) -> None:
        self.format = _resolve(formats)
        self._scanner = Scanner(self.format, tool_names)
        self._buf = "<think>" if thinking_open else ""
        self._opened = thinking_open  # a model that did not think after all: its text is the reply
        self._shown: list[str] = []
        self._reasoning: list[str] = []
        self.calls: list[ToolCall] = []

    @property
    def in_call(self) -> bool:
        """True while text is held back (a block or marker not yet settled)."""
        return self._scanner.pos < len(self._buf)

    @property
    def reasoning(self) -> str:
        """The reasoning read so far."""
        return "".join(self._reasoning).strip()

    def feed(self, text: str) -> str:
        """Add a piece of the reply; returns the text that can be shown now."""
        self._buf += text
        wake = self._scanner.wake
        if wake and not any(c in text for c in wake):
            return ""
        return self._apply(self._scanner.scan(self._buf, final=False))

    def finish(self) -> ParsedReply:
        """The reply ended: the text to show (all of it), the calls and the reasoning."""
        tail = self._apply(self._scanner.scan(self._buf, final=True))
        if self._opened and "</think>" not in self._buf and not self.calls:
            tail, self._shown, self._reasoning = self.reasoning, [self.reasoning], []
        content = "".join(self._shown)
        if content != self._buf:  # calls, reasoning or markup were taken out: trim the joints
            content = content.strip()
        return ParsedReply(content, list(self.calls), self.reasoning, tail)

    def _apply(self, events: list[Event]) -> str:
        shown = []
        for kind, value in events:
            if kind == "call":
                assert isinstance(value, ToolCall)
                self.calls.append(value)
            elif kind == "reasoning":
                self._reasoning.append(str(value))
            else:
                shown.append(str(value))
        self._shown.extend(shown)
        return "".join(shown)


def _resolve(formats: Iterable[str] | str | Format | None) -> Format:
    if isinstance(formats, Format):
        return formats
    if isinstance(formats, str):
        return format_for(formats)
    names = list(formats) if formats is not None else []
    return format_for(names[0]) if len(names) == 1 else format_for(None)


def parse_reply(
    text: str, formats: Iterable[str] | str | Format | None = None, **options: object
) -> ParsedReply:
    """A whole reply at once (the same rules as streaming it)."""
    stream = ToolCallStream(formats, **options)  # type: ignore[arg-type]
    stream.feed(text)
    return stream.finish()
