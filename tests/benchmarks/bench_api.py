"""API-server and remote-engine benchmarks: every figure a ratio against a reference, same run.

    python tests/benchmarks/bench_api.py [--tokens 300] [--repeats 3] [--clients 8]

Uses the real starter model (SmolLM2-135M-Instruct Q4_1), one CPU thread.

1. API streaming: tokens/s received by the official ``openai`` client (in this process)
   from ``chatdesk serve`` (its own process, as users run it) against the engine host's own
   stream (an ``EngineClient`` in this process), same prompt, greedy, end-of-generation
   suppressed. Target: >= 0.95x. Also the CPU time per token the API path costs (the
   serve process, from /proc, and the client), the cost a busy machine feels.
2. Concurrency: ``--clients`` openai clients stream at once (each its own ``user``); every
   one must complete; p50/p99 time to first token against one client alone. One model
   generates one reply at a time, so client k waits for k-1 replies: the fair bound for the
   slowest is ``clients x`` a single reply's whole time, printed beside it.
3. Remote engine: tokens/s of ``RemoteEngine`` (ChatDesk's client) streaming from a real
   ``python -m llama_cpp.server`` against the ``openai`` client reading the same server
   directly, same request. Target: >= 0.95x.

Rates are (tokens - 1) / (time of the last text - time of the first text), measured the
same way on both sides. Repeats are interleaved; the ratio of the medians and the ratio of
the best runs (the least disturbed by other work on a shared machine) are reported. The last line
printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
import openai

from chatdesk.engine.client import EngineClient, ReplyStream
from chatdesk.engine.types import LoadOptions, SamplingSettings, TextDelta
from chatdesk.remote.connection import ServerAddress
from chatdesk.remote.engine import RemoteEngine
from tests.support.chat_requests import chat
from tests.support.openai_servers import MODEL_ID as REMOTE_ID
from tests.support.openai_servers import LlamaCppServer, free_port
from tests.support.real_model import starter_model

API_ID = "starter"
STORY = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]


def rate(tokens: int, first: float | None, last: float | None) -> float:
    """Tokens per second between the first and last text."""
    if first is None or last is None or last <= first or tokens < 2:
        return 0.0
    return (tokens - 1) / (last - first)


def compare(
    name: str, measured: list[float], ref_name: str, reference: list[float]
) -> dict[str, Any]:
    """Medians and bests of both sides and their ratios (bests: the least-disturbed runs)."""
    result = {name: statistics.median(measured), ref_name: statistics.median(reference)}
    result["ratio"] = result[name] / result[ref_name]
    result["best_ratio"] = max(measured) / max(reference)
    result["runs"] = {name: measured, ref_name: reference}
    return result


def received_rate(reply: ReplyStream) -> float:
    """Tokens/s of a reply as its handle's caller receives the text."""
    first = last = None
    for event in reply:
        if isinstance(event, TextDelta):
            last = time.perf_counter()
            first = first or last
    return rate(reply.wait().generated_tokens, first, last)


def engine_stream(engine: EngineClient, tokens: int) -> float:
    """The engine host's own stream, as its client receives it."""
    sampling = SamplingSettings(temperature=0, max_tokens=tokens, ignore_eos=True, seed=1)
    return received_rate(engine.generate(chat(STORY, system_prompt="", sampling=sampling)))


def openai_stream(
    client: openai.OpenAI, model: str, tokens: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One streamed chat completion through the openai client: rate, TTFT, token count."""
    started = time.perf_counter()
    first = last = None
    events = 0
    usage = None
    stream = client.chat.completions.create(
        model=model,
        messages=STORY,  # type: ignore[arg-type]
        temperature=0,
        max_tokens=tokens,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=extra or {},
    )
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage.completion_tokens
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
            events += 1
    count = usage if usage is not None else events
    return {
        "rate": rate(count, first, last),
        "ttft": (first or started) - started,
        "total": (last or started) - started,
        "tokens": count,
    }


def remote_stream(engine: RemoteEngine, tokens: int) -> float:
    """ChatDesk's RemoteEngine reading the same server."""
    return received_rate(
        engine.generate(
            chat(
                STORY, system_prompt="", sampling=SamplingSettings(temperature=0, max_tokens=tokens)
            )
        )
    )


def bench_api_stream(
    args: argparse.Namespace, engine: EngineClient, api: openai.OpenAI, server: ServeProcess
) -> dict[str, Any]:
    host, received = [], []
    server_cpu = client_cpu = 0.0
    for _ in range(args.repeats):
        host.append(engine_stream(engine, args.tokens))
        before_server, before_client = server.cpu_seconds(), time.process_time()
        received.append(openai_stream(api, API_ID, args.tokens, {"ignore_eos": True})["rate"])
        server_cpu += server.cpu_seconds() - before_server
        client_cpu += time.process_time() - before_client
    result = compare("api_openai_client_tok_s", received, "engine_host_tok_s", host)
    tokens = args.tokens * args.repeats
    result["server_cpu_ms_per_token"] = 1000 * server_cpu / tokens
    result["client_cpu_ms_per_token"] = 1000 * client_cpu / tokens
    result["token_ms_at_host_rate"] = 1000 / result["engine_host_tok_s"]
    print(
        f"1. API stream {result['api_openai_client_tok_s']:.1f} tok/s vs engine host "
        f"{result['engine_host_tok_s']:.1f} tok/s: {result['ratio']:.2f}x (medians; best of "
        f"each: {result['best_ratio']:.2f}x) (target >= 0.95); CPU per token: API server "
        f"{result['server_cpu_ms_per_token']:.2f} ms, openai client "
        f"{result['client_cpu_ms_per_token']:.2f} ms, against "
        f"{result['token_ms_at_host_rate']:.1f} ms per generated token"
    )
    return result


def bench_concurrency(args: argparse.Namespace, url: str) -> dict[str, Any]:
    tokens = args.concurrent_tokens

    def one(user: str) -> dict[str, Any]:
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=600)
        return openai_stream(client, API_ID, tokens, {"ignore_eos": True, "user": user})

    single = one("alone")
    results: dict[int, dict[str, Any]] = {}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, one(f"user{i}")))
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ttfts = sorted(r["ttft"] for r in results.values())
    p99 = ttfts[min(len(ttfts) - 1, round(0.99 * (len(ttfts) - 1)))]
    result = {
        "clients": args.clients,
        "completed": sum(r["tokens"] == tokens for r in results.values()),
        "single_ttft_s": single["ttft"],
        "single_total_s": single["total"],
        "p50_ttft_s": statistics.median(ttfts),
        "p99_ttft_s": p99,
        "fair_bound_s": args.clients * single["total"],
    }
    result["p50_ratio"] = result["p50_ttft_s"] / single["ttft"]
    result["p99_ratio"] = result["p99_ttft_s"] / single["ttft"]
    print(
        f"2. {result['completed']}/{args.clients} clients completed; TTFT p50 "
        f"{result['p50_ttft_s']:.2f} s ({result['p50_ratio']:.1f}x), p99 {p99:.2f} s "
        f"({result['p99_ratio']:.1f}x) vs one client alone {single['ttft']:.2f} s; fair bound "
        f"for the last: {result['fair_bound_s']:.2f} s "
        f"({args.clients} x {single['total']:.2f} s)"
    )
    return result


def bench_remote(args: argparse.Namespace, model: Path) -> dict[str, Any]:
    server = LlamaCppServer(model, threads=1)
    engine = RemoteEngine(ServerAddress(server.url))
    try:
        engine.load(LoadOptions(REMOTE_ID)).result()
        direct_client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=600)
        chatdesk, direct = [], []
        for _ in range(args.repeats):
            chatdesk.append(remote_stream(engine, args.tokens))
            direct.append(openai_stream(direct_client, REMOTE_ID, args.tokens)["rate"])
    finally:
        engine.close()
        server.close()
    result = compare("chatdesk_tok_s", chatdesk, "openai_direct_tok_s", direct)
    print(
        f"3. remote engine {result['chatdesk_tok_s']:.1f} tok/s vs openai client direct "
        f"{result['openai_direct_tok_s']:.1f} tok/s: {result['ratio']:.2f}x (medians; best of "
        f"each: {result['best_ratio']:.2f}x) (target >= 0.95)"
    )
    return result


class ServeProcess:
    """``chatdesk serve`` in its own process, ready when its model list answers."""

    def __init__(self, model: Path, threads: int) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/v1"
        command = [
            sys.executable, "-m", "chatdesk", "serve", "--model", str(model), "--port", str(port),
            "--model-id", API_ID, "--threads", str(threads), "--ctx", "2048",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/models", timeout=1).json()["data"]:
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.2)
        raise RuntimeError("chatdesk serve did not start")

    def cpu_seconds(self) -> float:
        """CPU time the serve process itself has used (not its engine host child)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--concurrent-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-api", action="store_true", help="only the remote-engine part")
    args = parser.parse_args()
    model, why = starter_model()
    if model is None:
        print(f"skipped: {why}")
        return 1
    figures: dict[str, Any] = {}
    if not args.skip_api:
        figures.update(bench_api_parts(args, model))
    figures["remote_stream"] = bench_remote(args, model)
    print(json.dumps(figures))
    return 0


def bench_api_parts(args: argparse.Namespace, model: Path) -> dict[str, Any]:
    """Parts 1 and 2, against ``chatdesk serve`` in its own process."""
    figures: dict[str, Any] = {}
    server = ServeProcess(model, args.threads)
    try:
        api = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=600)
        with EngineClient(auto_reload=False) as engine:
            engine.load(LoadOptions(model, n_ctx=2048, n_threads=args.threads)).result()
            figures["api_stream"] = bench_api_stream(args, engine, api, server)
        figures["concurrency"] = bench_concurrency(args, server.url)
    finally:
        server.close()
    return figures


if __name__ == "__main__":
    sys.exit(main())
