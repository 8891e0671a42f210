"""Hostile input and faults, round three (issue 21): the reliability figures.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_hostile.py [--quick]``. Five parts, each
against a reference measured in the same run:

1. sandbox escapes: every attack of tests/tools/test_sandbox_sockets.py (X11 display
   socket by path and abstract name, ssh-agent, D-Bus session bus, TCP to 127.0.0.1, the
   socket folders, a datagram ``sendto``), ``--attempts`` times each; the reference is the
   same code in a plain Python process, which must reach every live service. Target: 0.
2. peak memory per hostile document: ``chatdesk docs add`` of one file in a child process,
   peak resident memory of it and its reading worker; reference: a clean text file.
   Target: < 512 MB each.
3. API latency: a short chat completion and GET /v1/models, alone and while four clients
   send lone-surrogate requests (same server, same run). Target: unchanged within noise.
4. indexing throughput: a collection of clean files against the same with 10% hostile
   files (DTD/deep-XML/billion-laughs DOCX, link loops, non-UTF-8 names) added.
5. chunking of one-line text files of 30/60/120 MB (``--quick``: 8/16/32 MB): seconds per
   MB at each size (linear: the same), and the old quadratic line splitter at the smallest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import hostile_docs  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# -- 1. sandbox escapes ------------------------------------------------------------------


def start_services(folder: Path) -> tuple[list[subprocess.Popen[bytes]], list[tuple[str, str]]]:
    """Xvfb :93, ssh-agent and dbus-daemon where installed; (processes, targets)."""
    processes, targets = [], []
    commands = {
        "X11 path": (["Xvfb", ":93", "-nolisten", "tcp"], "/tmp/.X11-unix/X93"),
        "ssh-agent": (["ssh-agent", "-D", "-a", str(folder / "agent")], str(folder / "agent")),
        "D-Bus": (
            ["dbus-daemon", "--session", "--nofork", f"--address=unix:path={folder / 'bus'}"],
            str(folder / "bus"),
        ),
    }
    for name, (command, socket_path) in commands.items():
        if shutil.which(command[0]) is None:
            print(f"  {name}: {command[0]} not installed, attack skipped")
            continue
        processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        targets.append((name, socket_path))
    if any(name == "X11 path" for name, _ in targets):
        targets.append(("X11 abstract", "\0/tmp/.X11-unix/X93"))
    return processes, targets


def escapes(attempts: int) -> None:
    from chatdesk.tools.sandbox import SandboxLimits, run_python
    from tests.tools.test_sandbox_sockets import ATTACK

    print("1. sandbox escapes (UNIX sockets, TCP, hidden folders)")
    folder = Path(tempfile.mkdtemp(prefix="i21-bench-"))
    processes, targets = start_services(folder)
    try:
        code = f"TARGETS = {targets!r}\n{ATTACK}\n" + TCP_AND_FOLDERS
        command = [sys.executable, "-c", code]
        plain = subprocess.run(command, capture_output=True, text=True, check=False)
        reference = json.loads(plain.stdout.splitlines()[-1])["reached"]
        print(f"  reference (plain process) reached: {', '.join(reference)}")
        escaped = 0
        limits = SandboxLimits(wall_seconds=20)
        for _ in range(attempts):
            result = run_python(code, limits)
            escaped += len(json.loads(result.stdout.splitlines()[-1])["reached"])
        total = attempts * len(reference)
        print(f"  sandbox: {escaped} escapes of {total} attempts ({len(reference)} x {attempts})")
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


TCP_AND_FOLDERS = """
try:
    socket.create_connection(("127.0.0.1", 22), 1)
    reached.append("TCP 127.0.0.1:22")
except OSError as error:
    if isinstance(error, ConnectionRefusedError) and "TCP" not in str(reached):
        reached.append("TCP 127.0.0.1 (refused = reachable)")
for folder in ("/tmp/.X11-unix", "/run/user"):
    try:
        if os.listdir(folder):
            reached.append("listed " + folder)
    except OSError:
        pass
print(json.dumps({"reached": reached, "environment": seen}))
"""


# -- 2. peak memory per hostile document -------------------------------------------------

MEASURED = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "print(done.stdout + done.stderr)\n"
)


def peak_of(path: Path, home: Path) -> tuple[float, float, str]:
    """(seconds, peak MB, reason or 'indexed') of ``chatdesk docs add PATH`` in a child."""
    env = {**ENV, "CHATDESK_HOME": str(home)}
    command = [sys.executable, "-c", MEASURED, sys.executable, "-m", "chatdesk"]
    command += ["docs", "add", str(path), "-c", path.stem.replace(".", "-")]
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    seconds = time.perf_counter() - started
    peak_kb, output = done.stdout.split("\n", 1)
    failed = [line.split(": ", 2)[-1] for line in output.splitlines() if "failed:" in line]
    return seconds, int(peak_kb) / 1024, (failed[0] if failed else "indexed")


def document_memory(folder: Path) -> None:
    print("2. peak memory per hostile document (chatdesk docs add, child + reading worker)")
    files = {
        "clean text (reference)": folder / "clean.md",
        "zip-bomb DOCX (1 GiB unpacked)": hostile_docs.write_zip_bomb_docx(folder / "zip.docx"),
        "dense DOCX (1.5 M paragraphs)": hostile_docs.write_dense_docx(folder / "dense.docx"),
        "PDF bomb (640 MB stream)": hostile_docs.write_pdf_bomb(folder / "bomb.pdf"),
        "billion laughs DOCX": hostile_docs.write_billion_laughs_docx(folder / "laughs.docx"),
        "DOCX nested 400 deep": hostile_docs.write_deep_docx(folder / "deep.docx"),
    }
    files["clean text (reference)"].write_text("Lighthouse keepers log the weather.\n" * 100)
    for name, path in files.items():
        home = Path(tempfile.mkdtemp(prefix="i21-home-"))
        seconds, peak, reason = peak_of(path, home)
        size = path.stat().st_size / 1e6
        print(f"  {name:32} {size:6.1f} MB  peak {peak:5.0f} MB  {seconds:5.1f} s  {reason[:70]}")
        shutil.rmtree(home, ignore_errors=True)


# -- 3. API latency ----------------------------------------------------------------------


def api_latency(rounds: int) -> None:
    import openai

    from chatdesk.api.app import ApiConfig, create_app
    from chatdesk.api.scheduler import FairScheduler
    from chatdesk.api.server import ApiServer
    from chatdesk.engine.client import EngineClient
    from chatdesk.engine.types import LoadOptions
    from tests.support.openai_servers import free_port
    from tests.support.real_model import starter_model

    print("3. API latency: a short chat completion and GET /v1/models, alone vs under attack")
    print("   (4 clients in another process sending lone-surrogate requests, two rates)")
    model, why = starter_model()
    if model is None:
        print(f"  skipped: {why}")
        return
    engine = EngineClient()
    engine.load(LoadOptions(str(model), n_ctx=1024, n_threads=1)).result(timeout=120)
    server = ApiServer(
        create_app(FairScheduler(engine), ApiConfig(model_id="m")), "127.0.0.1", free_port()
    )
    server.start()
    api = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0, timeout=120)

    def normal() -> tuple[float, float]:
        started = time.perf_counter()
        api.models.list()
        listed = time.perf_counter() - started
        api.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}], max_tokens=8, temperature=0
        )
        return listed, time.perf_counter() - started - listed

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    try:
        normal()  # warm
        alone = [normal() for _ in range(rounds)]
        attacked = {}
        for interval in (0.25, 0.05):
            attackers = subprocess.Popen(
                [sys.executable, "-c", ATTACKERS, server.url + "/chat/completions", str(interval)],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(1.0)
            attacked[interval] = [normal() for _ in range(rounds)]
            attackers.terminate()
            sent = [int(code) for code in attackers.communicate()[0].split()]
            print(f"  {4 / interval:.0f} hostile requests/s: {len(sent)} sent, {sorted(set(sent))}")
        again = [normal() for _ in range(rounds)]  # alone again: the run's own noise
    finally:
        server.stop()
        engine.close()
    for index, what in enumerate(("GET /v1/models", "chat, 8 tokens")):
        a = median([x[index] for x in alone])
        noise = median([x[index] for x in again]) / a
        print(f"  {what:16} alone {a * 1000:7.1f} ms (again: {noise:.2f}x)", end="")
        for interval, runs in attacked.items():
            b = median([x[index] for x in runs])
            print(f"  | {4 / interval:.0f}/s: {b * 1000:7.1f} ms ({b / a:.2f}x)", end="")
        print()


ATTACKERS = """
import signal, sys, threading, httpx
body = b'{"model": "m", "messages": [{"role": "user", "content": "\\\\ud800"}]}'
codes, stop = [], threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
def attack():
    with httpx.Client() as client:
        while not stop.wait(float(sys.argv[2])):
            answer = client.post(sys.argv[1], content=body,
                                 headers={"content-type": "application/json"})
            codes.append(answer.status_code)
threads = [threading.Thread(target=attack) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(map(str, codes)))
"""


# -- 4. indexing throughput --------------------------------------------------------------


def collection(folder: Path, files: int, hostile: bool) -> Path:
    folder.mkdir(parents=True)
    for index in range(files):
        text = f"Note {index}: the harbour master logs ship number {index}.\n" * 200
        (folder / f"note{index:04d}.md").write_text(text)
    if hostile:
        bad = files // 9  # 10% of the whole collection
        for index in range(bad):
            kind = index % 5
            if kind == 0:
                hostile_docs.write_billion_laughs_docx(folder / f"laughs{index}.docx")
            elif kind == 1:
                hostile_docs.write_deep_docx(folder / f"deep{index}.docx")
            elif kind == 2:
                hostile_docs.write_entity_docx(folder / f"entity{index}.docx")
            elif kind == 3:
                (folder / f"loop{index}.md").symlink_to(folder / f"loop{index}.md")
            else:
                name = os.path.join(os.fsencode(folder), b"bad%d-\xe9.txt" % index)
                Path(os.fsdecode(name)).write_text("x\n")
    return folder


def indexing(folder: Path, files: int) -> None:
    from chatdesk.services.documents import DocumentService

    print(f"4. indexing throughput: {files} clean files vs the same with 10% hostile files")
    results = {}
    for hostile in (False, True):
        source = collection(folder / f"col-{hostile}", files, hostile)
        home = Path(tempfile.mkdtemp(prefix="i21-home-"))
        service = DocumentService(home)
        service.add([source], "c")
        started = time.perf_counter()
        report = service.index_collection("c")
        seconds = time.perf_counter() - started
        service.close()
        shutil.rmtree(home, ignore_errors=True)
        total = report.progress.files_total
        results[hostile] = (seconds, total, len(report.failures))
        label = "with 10% hostile" if hostile else "clean (reference)"
        print(
            f"  {label:18} {total:4} files  {seconds:6.2f} s  {total / seconds:6.1f} files/s  "
            f"{len(report.failures)} listed as failed"
        )
    clean, dirty = results[False], results[True]
    ratio = (dirty[0] / (dirty[1] - dirty[2])) / (clean[0] / clean[1])
    print(f"  time per good file: {ratio:.2f}x the clean run")


# -- 5. chunking ---------------------------------------------------------------------------


def old_text_lines(path: Path) -> int:
    """The line splitter before the fix (re-splits the pending line with each block)."""
    import codecs

    lines = 0
    with path.open("rb") as handle:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        pending = ""
        for raw in iter(lambda: handle.read(1 << 16), b""):
            pending += decoder.decode(raw)
            *done, pending = pending.split("\n")
            lines += len(done)
    return lines + 1


def chunking(folder: Path, sizes: list[int]) -> None:
    from chatdesk.docs.chunking import chunk_sections
    from chatdesk.docs.extract import extract

    print("5. one-line text files: extraction and chunking")
    for megabytes in sizes:
        path = folder / f"line{megabytes}.txt"
        path.write_text("word " * (megabytes * 200_000))
        started = time.perf_counter()
        chunks = sum(1 for _ in chunk_sections(extract(path)))
        seconds = time.perf_counter() - started
        rate = seconds / megabytes * 1000
        print(f"  {megabytes:4} MB: {seconds:6.2f} s  {rate:6.1f} ms/MB  {chunks} chunks")
    smallest = folder / f"line{sizes[0]}.txt"
    started = time.perf_counter()
    old_text_lines(smallest)
    print(f"  the old line splitter alone, {sizes[0]} MB: {time.perf_counter() - started:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--only", help="comma-separated part numbers (1-5)")
    args = parser.parse_args()
    parts = set((args.only or "1,2,3,4,5").split(","))
    folder = Path(tempfile.mkdtemp(prefix="i21-bench-"))
    try:
        if "1" in parts:
            escapes(args.attempts)
        if "2" in parts:
            document_memory(folder)
        if "3" in parts:
            api_latency(3 if args.quick else 7)
        if "4" in parts:
            indexing(folder, 90 if args.quick else 450)
        if "5" in parts:
            chunking(folder, [8, 16, 32] if args.quick else [30, 60, 120])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak memory of this process: {peak} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
