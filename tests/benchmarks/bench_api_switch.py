"""API clients moving between conversations: coming back to one against a new one, same run.

    python tests/benchmarks/bench_api_switch.py [--model starter|gemma] [--rounds 3]

One engine host (as the app runs it, one thread) behind ChatDesk's API server (in this
process), read by the official ``openai`` client. Four conversations of 1,000-4,000 tokens
are read once; then, each round, a new question to each in turn (every turn comes back after
the other three had theirs) and a new one-line conversation (the reference); then one more
question to the last conversation right after its own turn (staying). Each request comes a
second after the last reply, as a person reading it would send it. Time to first token as
the client sees it (streamed), and the cached tokens the usage reports. Before the API server
gave each request a conversation key, every return read the whole history again.

Then what the key costs where nothing comes back (a batch client): distinct one-off prompts
of about 300 tokens, back to back, each with the key the API server gives it, against the
same kind of prompts without a key (the engine host directly, interleaved): the time per
request.

Prints the medians and ratios, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openai

from chatdesk.api.app import ApiConfig, create_app
from chatdesk.api.scheduler import FairScheduler
from chatdesk.api.schemas import conversation_key
from chatdesk.api.server import ApiServer
from chatdesk.cli.bench_switch import QUESTION, READING, history_text
from chatdesk.engine.client import EngineClient
from chatdesk.engine.request import ChatRequest, Message
from chatdesk.engine.types import SamplingSettings
from tests.support.openai_servers import free_port
from tests.support.real_model import REAL_MODELS, measured_on_host

SIZES = (1000, 2000, 3000, 4000)
MODEL_ID = "bench"
ONE_OFF = 300  # tokens of each prompt of the batch
BATCH = 24  # prompts of the batch, each way


def streamed_reply(
    api: openai.OpenAI, messages: list[dict[str, str]], max_tokens: int
) -> tuple[float, str, int, int]:
    """A streamed reply to ``messages``: time to its first text (ms), the text, prompt
    tokens and cached tokens (as the usage reports them)."""
    started = time.perf_counter()
    first: float | None = None
    text, usage = "", None
    stream = api.chat.completions.create(
        model=MODEL_ID, messages=messages, max_tokens=max_tokens, temperature=0, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True}, extra_body={"ignore_eos": True},
    )  # fmt: skip
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            text += chunk.choices[0].delta.content
        usage = chunk.usage or usage
    details = usage.prompt_tokens_details if usage else None
    cached = (details.cached_tokens or 0) if details else 0
    ttft = 1000 * ((first or time.perf_counter()) - started)
    return ttft, text, usage.prompt_tokens if usage else 0, cached


def streamed_turn(api: openai.OpenAI, messages: list[dict[str, str]]) -> tuple[float, int, int]:
    """Send ``messages`` (after a reader's pause), keep the reply: time to its first text
    (ms), prompt tokens, cached tokens."""
    time.sleep(READING)
    ttft, text, prompt, cached = streamed_reply(api, messages, 4)
    messages.append({"role": "assistant", "content": text})
    return ttft, prompt, cached


def switching(api: openai.OpenAI, rounds: int) -> dict[str, Any]:
    """Returns to each conversation after the others' turns, new ones, and staying."""
    chats = [
        [{"role": "user", "content": history_text(f"api{n}", size)}] for n, size in enumerate(SIZES)
    ]
    for chat in chats:
        streamed_turn(api, chat)
    back, new, cached, prompts = [], [], [], []
    for number in range(rounds):
        for chat in chats:
            chat.append({"role": "user", "content": QUESTION})
            ttft, prompt, hit = streamed_turn(api, chat)
            back.append(ttft)
            prompts.append(prompt)
            cached.append(hit)
        one_line = [{"role": "user", "content": f"New conversation {number}: {QUESTION}"}]
        new.append(streamed_turn(api, one_line)[0])
    staying = []
    for _ in range(rounds):
        chats[-1].append({"role": "user", "content": QUESTION})
        staying.append(streamed_turn(api, chats[-1])[0])
    return {
        "back_ms": back,
        "new_ms": new,
        "staying_ms": staying,
        "prompt_tokens": prompts,
        "cached_tokens": cached,
    }


def batch(client: EngineClient) -> dict[str, Any]:
    """Distinct one-off prompts back to back, with the API's key and without, in blocks of
    half the batch, A B B A (a keyed prompt pays for saving the keyed one before it, so the
    two ways are not interleaved one by one)."""
    sampling = SamplingSettings(temperature=0.0, max_tokens=4, ignore_eos=True)
    seconds: dict[str, list[float]] = {"keyed": [], "keyless": []}
    for block, way in enumerate(("keyed", "keyless", "keyless", "keyed")):
        for number in range(BATCH // 2):
            text = f"{way} {block}.{number}: " + history_text(f"{way}{block}{number}", ONE_OFF)
            messages = (Message.of("user", text),)
            key = conversation_key("", messages) if way == "keyed" else None
            request = ChatRequest(messages, sampling=sampling, conversation_key=key)
            started = time.perf_counter()
            client.generate(request).wait(timeout=600)
            seconds[way].append(1000 * (time.perf_counter() - started))
    return {"batch_keyed_ms": seconds["keyed"], "batch_keyless_ms": seconds["keyless"]}


def measure(client: EngineClient, rounds: int) -> dict[str, Any]:
    server = ApiServer(
        create_app(FairScheduler(client), ApiConfig(model_id=MODEL_ID)), "127.0.0.1", free_port()
    )
    server.start()
    try:
        api = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0, timeout=900)
        result = switching(api, rounds)
    finally:
        server.stop()
    return {**result, **batch(client)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(REAL_MODELS), default="starter")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = measured_on_host(args.model, lambda client: measure(client, args.rounds), 8192)
    keys = ("back_ms", "new_ms", "staying_ms", "batch_keyed_ms", "batch_keyless_ms")
    back, new, staying, keyed, keyless = (statistics.median(result[k]) for k in keys)
    result["ratio_back_new"] = back / new
    result["ratio_back_staying"] = back / staying
    result["ratio_batch"] = keyed / keyless
    print(
        f"{args.model}: coming back {back:.0f} ms (cached {result['cached_tokens']} of "
        f"{result['prompt_tokens']}), new {new:.0f} ms, staying {staying:.0f} ms: back/new "
        f"{back / new:.2f}, back/staying {back / staying:.2f}; one-off prompts back to back: "
        f"{keyed:.0f} ms a request with a key, {keyless:.0f} ms without ({keyed / keyless:.2f})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
