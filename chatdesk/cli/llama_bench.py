"""llama.cpp's own ``llama-bench``: the C++ reference for ``chatdesk bench``.

The binary is built from the llama.cpp source vendored in the llama-cpp-python sdist of the
*installed* version (so it is the same llama.cpp as the one ChatDesk runs), once per machine,
under ``~/.cache/chatdesk-bench/llama-cpp-python-<version>/`` (``$XDG_CACHE_HOME`` honoured),
by ``scripts/build_llama_bench.py``. Two binaries come out: ``llama-bench`` (static, as
llama.cpp builds it) and ``llama-bench-wheel``, the same benchmark linked against the
installed wheel's own ``libllama``/``libggml`` (the very machine code ChatDesk runs; the
static build decoded 5-12% faster here, so it is the fairer reference and is preferred).
``$CHATDESK_LLAMA_BENCH`` names another binary.

``run_llama_bench`` runs one measurement (one repetition, no warm-up beyond llama-bench's
own) with the options ChatDesk's engine host uses on the CPU: the same threads, batch and
micro-batch (512), flash attention on (the host's default since speculative decoding, see
``load_setup.cpu_flash_attn``), and the decode test at the depth of the prompt, so
both sides decode into a context that already holds the prompt.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BINARY_ENV = "CHATDESK_LLAMA_BENCH"
HOST_BATCH = 512  # the engine host's n_batch = n_ubatch (engine.DEFAULT_BATCH)


class LlamaBenchError(Exception):
    """llama-bench failed or printed something unexpected."""


@dataclass(frozen=True)
class LlamaBenchFigures:
    """One llama-bench run: prompt and decode tokens/s."""

    prompt_tokens_per_second: float
    decode_tokens_per_second: float


def installed_version() -> str:
    """The installed llama-cpp-python version (without importing llama_cpp)."""
    return metadata.version("llama-cpp-python")


def cache_root() -> Path:
    """Where llama-bench builds are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatdesk-bench"


def build_root(version: str) -> Path:
    """The folder of one llama-cpp-python version's sdist, source and build."""
    return cache_root() / f"llama-cpp-python-{version}"


def binary_in(root: Path, linked_to_wheel: bool = False) -> Path:
    """The llama-bench executable a build under ``root`` produces (or its wheel-linked twin)."""
    name = "llama-bench-wheel" if linked_to_wheel else "llama-bench"
    return root / "build" / "bin" / (name + (".exe" if os.name == "nt" else ""))


def find_llama_bench() -> Path | None:
    """The llama-bench to use: ``$CHATDESK_LLAMA_BENCH``, else the cached build (the
    wheel-linked one first), else None."""
    override = os.environ.get(BINARY_ENV)
    if override:
        return Path(override) if Path(override).is_file() else None
    try:
        root = build_root(installed_version())
    except metadata.PackageNotFoundError:
        return None
    for candidate in (binary_in(root, linked_to_wheel=True), binary_in(root)):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def llama_bench_command(
    binary: Path, model: str, threads: int, gpu_layers: int, test: tuple[str, ...]
) -> list[str]:
    """One llama-bench invocation with the engine host's settings and the given test."""
    return [
        str(binary),
        *("-m", model, "-t", str(threads), "-ngl", str(gpu_layers)),
        *("-b", str(HOST_BATCH), "-ub", str(HOST_BATCH), "-fa", "1"),
        *("-r", "1", "-o", "json", *test),
    ]


def run_llama_bench(
    binary: Path, model: str, *, prompt_tokens: int, tokens: int, threads: int, gpu_layers: int
) -> LlamaBenchFigures:
    """Prompt evaluation at depth 0, then decoding ``tokens`` after ``prompt_tokens``."""
    prompt = _run(binary, model, threads, gpu_layers, ("-p", str(prompt_tokens), "-n", "0"))
    decode = _run(
        binary, model, threads, gpu_layers, ("-p", "0", "-n", str(tokens), "-d", str(prompt_tokens))
    )
    return LlamaBenchFigures(prompt, decode)


def _run(binary: Path, model: str, threads: int, gpu_layers: int, test: tuple[str, ...]) -> float:
    command = llama_bench_command(binary, model, threads, gpu_layers, test)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or [f"status {done.returncode}"]
        raise LlamaBenchError(f"llama-bench failed: {lines[-1]}")
    return parse_rate(done.stdout)


def parse_rate(text: str) -> float:
    """The tokens/s of the one test in llama-bench's JSON output."""
    try:
        tests = json.loads(text)
        return float(tests[0]["avg_ts"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise LlamaBenchError(f"llama-bench printed no usable figures ({error!r})") from None
