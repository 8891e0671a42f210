"""``chatdesk bench --switch-back``: returning to a conversation costs what a new one costs.

Five conversations of about 1,000 to 4,000 tokens of history are each read once (their
first turn); then, in turn, the benchmark returns to each one with a one-line message and
starts a new conversation with a one-line message, and times the first token of both (the
host's time from request to first token). Returning only evaluates the new line when the
conversation's KV state was kept (in RAM, or read back from the disk cache): the ratio is
the median return over the median new conversation; the target is <= 1.2. Also reported:
returning against staying (a further line in the same conversation, no switch), which
isolates what the switch itself costs from the attention over a long history that any new
line in a long conversation pays.
"""

from __future__ import annotations

import statistics
from typing import Any

from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.types import ReplyStats, SamplingSettings

SENTENCE = "In conversation {name} we talked about item {n}, which is stored on shelf {s}. "
SIZES = (1000, 1750, 2500, 3250, 4000)  # history tokens, about
QUESTION = "One more thing: what shelf was item 3 on?"
SAMPLING = SamplingSettings(temperature=0.0, max_tokens=4, ignore_eos=True)


def turn(client: EngineClient, history: list[dict[str, str]], text: str, key: str) -> ReplyStats:
    """One turn of conversation ``key``: add ``text``, get a short reply, keep it."""
    history.append({"role": "user", "content": text})
    stream = client.generate(ChatRequest.of(history, sampling=SAMPLING, conversation_key=key))
    stats = stream.wait(timeout=900)
    history.append({"role": "assistant", "content": stream.text})
    return stats


def history_text(name: str, tokens: int) -> str:
    """About ``tokens`` tokens of distinct sentences (about 20 tokens each)."""
    return "".join(SENTENCE.format(name=name, n=n, s=n % 13) for n in range(tokens // 20))


def measure_switch_back(client: EngineClient, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """TTFT returning to each conversation against a new conversation's first token."""
    chats: dict[str, list[dict[str, str]]] = {}
    history_tokens = []
    for number, size in enumerate(sizes):
        key = f"bench-switch-{number}"
        chats[key] = []
        history_tokens.append(turn(client, chats[key], history_text(key, size), key).prompt_tokens)
    back: list[ReplyStats] = []
    new: list[ReplyStats] = []
    stay: list[ReplyStats] = []
    for number, key in enumerate(chats):
        fresh = f"bench-new-{number}"
        pair = [(chats[key], key, back), ([], fresh, new)]
        for history, name, into in pair if number % 2 == 0 else reversed(pair):
            into.append(turn(client, history, QUESTION, name))
        if number % 2 == 0:  # the new conversation came last: go back, then stay
            turn(client, chats[key], QUESTION, key)
        stay.append(turn(client, chats[key], QUESTION, key))
    return switch_result(history_tokens, back, new, stay)


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
        "kv_source_back": [s.kv_source for s in back],
        "prompt_tokens_new": [s.prompt_tokens for s in new],
    }
