"""``chatdesk bench`` on the real starter model, its refusals, llama-bench and thread defaults."""

from __future__ import annotations

import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatdesk.cli.llama_bench import find_llama_bench, run_llama_bench
from chatdesk.engine.threads import (
    ThreadGovernor,
    cpu_sample,
    linux_physical_cores,
    others_busy_cores,
    physical_cores,
    threads_for,
    usable_cpus,
)
from tests.support.gguf_factory import ModelSpec, write_model

ROOT = Path(__file__).resolve().parents[2]
needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)


def chatdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatdesk", *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip


@needs_llama
@pytest.mark.slow
def test_bench_on_the_real_model_reports_medians_spread_and_ratios(
    starter_model_path: Path,
) -> None:
    result = chatdesk(
        "bench", str(starter_model_path), "--tokens", "24", "--prompt-tokens", "40",
        "--repeats", "2", "--threads", "1", "--json", "--no-llama-bench",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["repeats"] == 2
    assert len(figures["runs"]["host"]) == len(figures["runs"]["plain"]) == 2
    assert [run["generated_tokens"] for run in figures["runs"]["host"]] == [24, 24]
    assert [run["generated_tokens"] for run in figures["runs"]["plain"]] == [24, 24]
    assert 30 <= figures["prompt_tokens"] <= 50  # the prompt is sized in the model's tokens
    assert figures["n_ctx"] >= figures["prompt_tokens"] + 24
    low, high = figures["host"]["spread"]["decode_tokens_per_second"]
    assert low <= figures["host"]["decode_tokens_per_second"] <= high
    for key in ("ratio", "load_ratio", "prompt_ratio", "first_token_ratio"):
        assert figures[key] > 0
    assert figures["host"]["rss_bytes"] > figures["model_bytes"] / 2
    assert "llama_bench" not in figures


@needs_llama
@pytest.mark.slow
def test_bench_task_reports_speculative_decoding_with_against_without(
    starter_model_path: Path,
) -> None:
    result = chatdesk(
        "bench", str(starter_model_path), "--tokens", "64", "--prompt-tokens", "40",
        "--repeats", "1", "--threads", "1", "--json", "--no-llama-bench", "--task", "code-edit",
        "--speculation", "always",  # by default a busy 2-core machine measures it off
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    speculative = figures["speculative"]
    assert speculative["task"] == "code-edit"
    assert speculative["gate"]["exact"] is True  # the host says what it found
    assert speculative["gate"]["batch_slope"] > 0
    assert speculative["ratio"] > 0
    assert speculative["drafted"] >= speculative["accepted"] > 0  # the code is copied back
    assert speculative["accepted"] < speculative["generated"] <= 64
    assert figures["ratio"] > 0  # the usual figures are there too


@needs_llama
def test_bench_refuses_more_tokens_than_the_trained_context(tmp_path: Path) -> None:
    model = write_model(tmp_path / "short.gguf", ModelSpec(context_length=512))
    result = chatdesk("bench", str(model), "--tokens", "1000", "--prompt-tokens", "100")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("chatdesk: error: ")
    for number in ("512", "1000", "--tokens 348"):
        assert number in line
    assert "llama_decode" not in line


@needs_llama
@pytest.mark.slow
def test_llama_bench_measures_the_same_model(starter_model_path: Path) -> None:
    binary = find_llama_bench()
    if binary is None:
        pytest.skip("llama-bench is not built (python scripts/build_llama_bench.py)")
    figures = run_llama_bench(
        binary, str(starter_model_path), prompt_tokens=32, tokens=8, threads=1, gpu_layers=0
    )
    assert figures.prompt_tokens_per_second > 0
    assert figures.decode_tokens_per_second > 0


def test_smt_siblings_count_as_one_core(tmp_path: Path) -> None:
    for cpu, siblings in enumerate(["0,2", "1,3", "0,2", "1,3"]):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "thread_siblings_list").write_text(siblings + "\n")
    assert linux_physical_cores([0, 1, 2, 3], tmp_path) == 2
    assert linux_physical_cores([0, 2], tmp_path) == 1
    assert linux_physical_cores([0, 4], tmp_path) is None  # sysfs silent: caller falls back


def test_default_threads_fit_the_cpus_we_may_use() -> None:
    assert 1 <= physical_cores() <= len(usable_cpus())


def test_threads_leave_the_cores_other_processes_use() -> None:
    assert threads_for(0.0, 2) == 2
    assert threads_for(0.15, 2) == 2  # a little background work is tolerated
    assert threads_for(0.6, 2) == 1
    assert threads_for(1.9, 2) == 1  # never fewer than one
    assert threads_for(1.1, 8) == 7
    assert threads_for(0.0, 8) == 8


BUSY_CHILD = "import time\nwhile time.process_time() < 0.4: pass"


def burn_cpu(seconds: float) -> None:
    """Keep this thread busy until it has used ``seconds`` of CPU time."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_others_cpu_use_counts_theirs_and_not_ours() -> None:
    before = cpu_sample()
    if before is None:
        pytest.skip("no /proc/stat here")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen([sys.executable, "-c", BUSY_CHILD])
    burn_cpu(0.4)
    child.wait(timeout=60)
    after = cpu_sample()
    assert after is not None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    theirs = others_busy_cores(before, after) * (after.at - before.at)
    ours = after.own - before.own
    assert ours >= 0.35  # clock ticks of 10 ms
    assert theirs >= child_cpu - 0.05  # the other process's work is seen
    assert theirs <= after.machine_busy - before.machine_busy - ours + 0.03  # ours is not


def test_the_first_thread_choice_is_due_right_after_the_load() -> None:
    governor = ThreadGovernor(2)
    if cpu_sample() is None:
        pytest.skip("no /proc/stat here")
    time.sleep(0.06)
    assert governor.due()  # the first reply must not wait a second to leave busy cores alone
    assert 1 <= governor.choose() <= 2
    assert not governor.due()  # then about once a second
