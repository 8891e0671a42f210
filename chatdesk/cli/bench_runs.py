"""One repeat of each side of ``chatdesk bench``: the engine host, the plain loop, llama-bench.

``BenchPlan`` fixes what every side runs: the model, a prompt of about ``prompt_tokens``
tokens (built once, from the first host run, to that many tokens of the model's own
tokenizer), ``tokens`` generated tokens with end-of-generation suppressed, the threads and
a context sized from the request (prompt + tokens + a margin). A request larger than the
model's trained context is refused before anything runs (``check_context``).

The host side is measured from the client, the way the app sees it: process start + model
load, launch-to-first-token of the first message, the prompt rate the host reports, and
the decode rate of the text as it arrives. The plain side runs
``chatdesk.engine.host.reference`` (``Llama()`` + ``Llama.generate()``) in a subprocess, so
``chatdesk`` itself never imports llama_cpp.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from chatdesk.cli.errors import CLIError
from chatdesk.engine.client import EngineClient, reference_command
from chatdesk.engine.request import ChatRequest, Message
from chatdesk.engine.types import (
    EngineError,
    LoadOptions,
    ReplyDone,
    ReplyFailed,
    SamplingSettings,
    TextDelta,
)
from chatdesk.gguf_metadata import GGUFError, validate_gguf

FILLER = "The quick brown fox jumps over the lazy dog while the assistant answers a question. "
BENCH_SEED = 1234
CONTEXT_MARGIN = 64  # the chat template's own tokens and a little slack
CONTEXT_STEP = 256


@dataclass(frozen=True)
class Figures:
    """One side's measurements in one repeat."""

    load_seconds: float
    prompt_tokens: int
    prompt_tokens_per_second: float
    generated_tokens: int
    decode_tokens_per_second: float
    first_token_seconds: float = 0.0  # launch (or load) to the first token of the first message
    rss_bytes: int = 0  # resident memory with the model loaded
    cold_load_seconds: float = 0.0  # process start + imports + load


@dataclass
class BenchPlan:
    """What every side runs (``message`` is fixed by the first host run)."""

    model: str
    prompt_tokens: int
    tokens: int
    threads: int
    gpu_layers: int | None = None
    message: str = ""
    prompt_text: str = ""
    actual_prompt_tokens: int = 0
    context: int = 0  # a fixed context length instead of one sized from the request

    @property
    def n_ctx(self) -> int:
        """A context that holds the prompt and the whole reply."""
        if self.context:
            return self.context
        needed = self.prompt_tokens + self.tokens + CONTEXT_MARGIN
        return (needed + CONTEXT_STEP - 1) // CONTEXT_STEP * CONTEXT_STEP


def check_context(plan: BenchPlan) -> None:
    """Refuse, naming the numbers, a request the model's trained context cannot hold."""
    try:
        trained = validate_gguf(plan.model).context_length
    except (GGUFError, OSError) as error:
        raise CLIError(f"cannot benchmark {plan.model}: {error}") from None
    needed = plan.prompt_tokens + plan.tokens + CONTEXT_MARGIN
    if trained and needed > trained:
        room = trained - plan.prompt_tokens - CONTEXT_MARGIN
        hint = f"use --tokens {room} or fewer" if room >= 2 else "use a smaller --prompt-tokens"
        raise CLIError(
            f"the model was trained for a context of {trained} tokens; a prompt of "
            f"{plan.prompt_tokens} + {plan.tokens} generated + {CONTEXT_MARGIN} template "
            f"tokens need {needed}: {hint}"
        )


def bench_sampling(tokens: int) -> SamplingSettings:
    """The sampling both sides use (the reference hard-codes the same values)."""
    return SamplingSettings(
        temperature=0.8,
        top_k=40,
        top_p=0.95,
        min_p=0.05,
        repeat_penalty=1.0,
        seed=BENCH_SEED,
        max_tokens=tokens,
        ignore_eos=True,
    )


# -- the engine host ------------------------------------------------------------------------


def measure_host(plan: BenchPlan) -> Figures:
    """Start a host, load, send the first message at once; the figures as the client sees them."""
    started = time.perf_counter()
    client = EngineClient(auto_reload=False)
    try:
        options = LoadOptions(
            plan.model, n_ctx=plan.n_ctx, n_threads=plan.threads, n_gpu_layers=plan.gpu_layers
        )
        client.load(options).result()
        load_seconds = time.perf_counter() - started
        if not plan.message:
            fit_prompt(client, plan)
        figures = stream_reply(client, plan.message, plan.tokens)
        rss = int(client.status().result().get("rss_bytes") or 0)
    except EngineError as error:
        raise CLIError(f"the engine host run failed: {error.message}") from None
    finally:
        client.close()
    return replace(
        figures,
        load_seconds=load_seconds,
        cold_load_seconds=load_seconds,
        first_token_seconds=load_seconds + figures.first_token_seconds,
        rss_bytes=rss,
    )


def fit_prompt(client: EngineClient, plan: BenchPlan) -> None:
    """Choose the user message so the rendered prompt has about ``plan.prompt_tokens`` tokens."""
    one = client.render(user_request(FILLER)).result().tokens
    two = client.render(user_request(FILLER * 2)).result().tokens
    per_filler = max(two - one, 1)
    repeats = max(1, 1 + (plan.prompt_tokens - one) // per_filler)
    plan.message = FILLER * repeats
    rendered = client.render(user_request(plan.message)).result()
    plan.prompt_text, plan.actual_prompt_tokens = rendered.text, rendered.tokens


def user_request(text: str, sampling: SamplingSettings | None = None) -> ChatRequest:
    """A request of one user message (no system prompt)."""
    return ChatRequest((Message.of("user", text),), sampling=sampling or SamplingSettings())


def stream_reply(client: EngineClient, message: str, tokens: int) -> Figures:
    """Generate and time the text as the client receives it (load figures left at 0)."""
    sent = time.perf_counter()
    stream = client.generate(user_request(message, bench_sampling(tokens)))
    first: float | None = None
    for event in stream:
        if isinstance(event, TextDelta) and first is None:
            first = time.perf_counter()
        elif isinstance(event, ReplyFailed):
            raise event.error
        elif isinstance(event, ReplyDone):
            stats = event.stats
            # Text cannot arrive faster than the host made it: when frames queue up in the
            # pipe (a busy machine, a reply shorter than one frame interval), the host's own
            # decode time is the honest one.
            received = time.perf_counter() - first if first is not None else 0.0
            elapsed = max(received, stats.decode_seconds)
            return Figures(
                load_seconds=0.0,
                prompt_tokens=stats.prompt_tokens,
                prompt_tokens_per_second=stats.prompt_tokens_per_second,
                generated_tokens=stats.generated_tokens,
                decode_tokens_per_second=(stats.generated_tokens - 1) / elapsed
                if elapsed > 0
                else 0.0,
                first_token_seconds=(first - sent) if first is not None else 0.0,
            )
    raise EngineError("the reply ended without a result")


# -- the plain loop -------------------------------------------------------------------------


def measure_reference(plan: BenchPlan) -> Figures:
    """Run the plain loop in its own process; its figures."""
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as folder:
        prompt_file = Path(folder) / "prompt.txt"
        prompt_file.write_text(plan.prompt_text, encoding="utf-8")
        command = [
            *reference_command(),
            str(Path(plan.model).expanduser()),
            f"--prompt-file={prompt_file}",
            f"--tokens={plan.tokens}",
            f"--ctx={plan.n_ctx}",
            f"--threads={plan.threads}",
            f"--gpu-layers={'auto' if plan.gpu_layers is None else plan.gpu_layers}",
            f"--seed={BENCH_SEED}",
        ]
        spawned = time.time()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or [f"status {done.returncode}"]
        raise CLIError(f"the plain llama-cpp-python run failed: {lines[-1]}")
    try:
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        cold = float(figures.pop("loaded_at_unix")) - spawned
        return Figures(**figures, cold_load_seconds=cold)
    except (ValueError, TypeError, IndexError, KeyError) as error:
        raise CLIError(f"the plain llama-cpp-python run printed no figures ({error})") from None
