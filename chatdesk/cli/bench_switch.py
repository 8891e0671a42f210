"""``chatdesk bench --switch-back``: returning to a conversation costs what a new one costs.

Five conversations of about 1,000 to 4,000 tokens of history are each read once (their
first turn); then, in turn, the benchmark returns to each one with a one-line message and
starts a new conversation with a one-line message, and times the first token of both (the
host's time from request to first token), in two rounds:

- as the window does it (``switch_back_ratio``): opening a conversation warms it and so
  does a pause in typing (``EngineClient.warm`` with what was typed, services/warming.py),
  so the benchmark warms the conversation with the typed question before sending it (the
  question ends a sentence: the whole prompt is warmed), the new conversation the same way;
- unwarmed (``switch_back_ratio_unwarmed``): the request alone, as the command line and
  the API server send it, after a second's pause (a person reading the last reply; the
  host saves the conversation's state in such a pause, so leaving it costs no save).
  Returning then restores the kept KV state (RAM or disk) and evaluates the new line after
  the long history.

The ratios are the median return over the median new conversation; the target is <= 1.2.
Also reported: returning against staying (a further line in the same conversation, no
switch, unwarmed), which isolates what the switch itself costs.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import ReplyStats, SamplingSettings
from chatdesk.services.warming import warm_request

SENTENCE = "In conversation {name} we talked about item {n}, which is stored on shelf {s}. "
SIZES = (1000, 1750, 2500, 3250, 4000)  # history tokens, about
QUESTION = "One more thing: what shelf was item 3 on?"
SAMPLING = SamplingSettings(temperature=0.0, max_tokens=4, ignore_eos=True)
READING = 1.0  # seconds between an unwarmed reply and the next request


def turn(
    client: EngineClient, history: list[dict[str, str]], text: str, key: str, warm: bool = False
) -> ReplyStats:
    """One turn of conversation ``key``: add ``text``, get a short reply, keep it; with
    ``warm``, first warm it with ``text`` typed, as the window does when typing pauses,
    else first pause as a person reading the last reply would."""
    if warm:  # as the window does once the user paused after typing ``text``
        chat = ChatRequest.of(history, sampling=SAMPLING, conversation_key=key)
        request = warm_request(chat, text)
        if request is not None:
            client.warm(request).result(900)
        time.sleep(0.05)  # the user presses Send
    else:
        time.sleep(READING)
    history.append({"role": "user", "content": text})
    stream = client.generate(ChatRequest.of(history, sampling=SAMPLING, conversation_key=key))
    stats = stream.wait(timeout=900)
    history.append({"role": "assistant", "content": stream.text})
    return stats


def history_text(name: str, tokens: int) -> str:
    """About ``tokens`` tokens of distinct sentences (about 20 tokens each)."""
    return "".join(SENTENCE.format(name=name, n=n, s=n % 13) for n in range(tokens // 20))


def measure_switch_back(client: EngineClient, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """TTFT returning to each conversation against a new conversation's first token,
    warmed as the window warms (the headline) and unwarmed, in the same run."""
    chats: dict[str, list[dict[str, str]]] = {}
    history_tokens = []
    run = uuid.uuid4().hex[:8]  # states kept on disk by an earlier run are never reused
    for number, size in enumerate(sizes):
        key = f"bench-switch-{run}-{number}"
        chats[key] = []
        text = history_text(f"bench-switch-{number}", size)  # the same text in every run
        history_tokens.append(turn(client, chats[key], text, key).prompt_tokens)
    cold = switch_round(client, chats, f"cold-{run}", warm=False)
    warmed = switch_round(client, chats, f"warm-{run}", warm=True)
    result = switch_result(history_tokens, *warmed)
    unwarmed = switch_result(history_tokens, *cold)
    result["unwarmed"] = unwarmed
    result["switch_back_ratio_unwarmed"] = unwarmed["switch_back_ratio"]
    return result


def switch_round(
    client: EngineClient, chats: dict[str, list[dict[str, str]]], name: str, warm: bool
) -> tuple[list[ReplyStats], list[ReplyStats], list[ReplyStats]]:
    """Return to each conversation, and start a new one, in alternating order; then stay."""
    back: list[ReplyStats] = []
    new: list[ReplyStats] = []
    stay: list[ReplyStats] = []
    for number, key in enumerate(chats):
        fresh = f"bench-new-{name}-{number}"
        pair = [(chats[key], key, back), ([], fresh, new)]
        for history, chat, into in pair if number % 2 == 0 else reversed(pair):
            into.append(turn(client, history, QUESTION, chat, warm))
        if number % 2 == 0:  # the new conversation came last: go back, then stay
            turn(client, chats[key], QUESTION, key)
        stay.append(turn(client, chats[key], QUESTION, key, warm))
    return back, new, stay


def switch_result(
    history_tokens: list[int],
    back: list[ReplyStats],
    new: list[ReplyStats],
    stay: list[ReplyStats],
) -> dict[str, Any]:
    """The figures ``--json`` reports (``switch_back_ratio`` and its parts; also against
    staying in the conversation: the same new line evaluated after the same history)."""
    back_ttft = [s.time_to_first_token or 0.0 for s in back]
    new_ttft = [s.time_to_first_token or 0.0 for s in new]
    stay_ttft = [s.time_to_first_token or 0.0 for s in stay]
    reference, staying = statistics.median(new_ttft), statistics.median(stay_ttft)
    return {
        "switch_back_ratio": statistics.median(back_ttft) / reference if reference else None,
        "back_over_stay_ratio": statistics.median(back_ttft) / staying if staying else None,
        "ttft_stay": stay_ttft,
        "history_tokens": history_tokens,
        "ttft_back": back_ttft,
        "ttft_new": new_ttft,
        "evaluated_back": [s.evaluated_prompt_tokens for s in back],
        "evaluated_new": [s.evaluated_prompt_tokens for s in new],
        "kv_source_back": [s.kv_source for s in back],
        "prompt_tokens_new": [s.prompt_tokens for s in new],
    }
