"""Smoke test of the app as a user gets it: every feature, run from the unpacked bundle.

    python packaging/smoke_test.py [--no-build] [--release] [--display 91] [--out build/smoke]

Runs with the project's own environment (``.venv``, made by ``./run`` or ``./test``; the
script re-starts itself with it when started by another Python). Then:

1. builds the bundle and the tarball (``packaging/build.sh``, ``--release`` passed on),
   unless ``--no-build`` (the newest ``dist/ChatDesk-*-linux-*.tar.gz``); sizes;
2. unpacks the tarball into a temporary folder and runs every feature from there with
   ``env -i`` (HOME, PATH=/usr/bin:/bin, LANG and CHATDESK_HOME only: no virtual
   environment, no PYTHONPATH), in a fresh CHATDESK_HOME (``smoke_features``);
3. checks the machine code: the highest glibc symbol version any ELF file in the bundle
   needs (a release fails above 2.35, a development build reports it), the ggml CPU
   backend the running engine host loaded, and AVX-512 instructions in the baseline CPU
   backend (``binary_checks``);
4. opens the window under Xvfb (display ``:91`` by default), types a message, waits for
   the reply in the database, saves a screenshot, closes the app and checks that its engine
   host went with it; cold start to first token is timed.

Prints a table feature x result and writes OUT/report.json and OUT/screenshot.png. Exits 1
when a feature fails. Missing system tools are named with the Debian package to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"


def ensure_project_python() -> None:
    """Re-start this script with the checkout's own .venv Python (bootstrapped if missing)."""
    if Path(sys.prefix).resolve() == VENV.resolve() or os.environ.get("CHATDESK_SMOKE_ANY_PYTHON"):
        return
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        bootstrap = REPO / "scripts" / "bootstrap.sh"
        subprocess.run(["bash", "-c", f'source "{bootstrap}"'], check=True)
    print(f"smoke_test: using {python}", file=sys.stderr)
    os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    ensure_project_python()

import argparse  # noqa: E402  (after the re-start: only the project's Python imports these)
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import binary_checks  # noqa: E402
import smoke_features as features  # noqa: E402
import xsession  # noqa: E402
from smoke_features import Run, SmokeFailure, SmokeWarning  # noqa: E402


class SmokeSkip(Exception):
    """A step that does not apply on this OS."""


MESSAGE = "hello there"
QT_XCB_PLUGIN = "_internal/PySide6/Qt/plugins/platforms/libqxcb.so"


def build(report: dict[str, object], release: bool) -> Path:
    """packaging/build.sh with this Python; returns the tarball."""
    env = {**os.environ, "PYTHON": sys.executable}
    start = time.monotonic()
    command = [str(REPO / "packaging" / "build.sh"), *(["--release"] if release else [])]
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        raise SmokeFailure(f"build.sh failed with status {result.returncode}")
    report["build_seconds"] = round(time.monotonic() - start, 1)
    return newest_tarball()


def newest_tarball() -> Path:
    """The most recent dist/ChatDesk-*-linux-*.tar.gz."""
    tarballs = sorted((REPO / "dist").glob("ChatDesk-*-linux-*.tar.gz"), key=os.path.getmtime)
    if not tarballs:
        raise SmokeFailure("no dist/ChatDesk-*-linux-*.tar.gz: run without --no-build")
    return tarballs[-1]


def folder_size(path: Path) -> int:
    """Bytes in every file under path (symlinks not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def unpack(tarball: Path, into: Path, report: dict[str, object]) -> Path:
    """Unpack the tarball; returns the app folder (the one holding ``chatdesk``)."""
    with tarfile.open(tarball) as archive:
        archive.extractall(into, filter="tar")
    (app_dir,) = [p for p in into.iterdir() if (p / "chatdesk").is_file()]
    report["tarball"] = tarball.name
    report["tarball_mb"] = round(tarball.stat().st_size / 2**20, 1)
    report["bundle_mb"] = round(folder_size(app_dir) / 2**20, 1)
    return app_dir


def missing_qt_libraries(app_dir: Path) -> list[str]:
    """System libraries Qt's xcb platform plugin needs but this machine lacks."""
    result = subprocess.run(
        ["ldd", str(app_dir / QT_XCB_PLUGIN)], capture_output=True, text=True, check=False
    )
    return [line.split()[0] for line in result.stdout.splitlines() if "not found" in line]


def assistant_replies(database: Path) -> list[tuple[str, str, int | None]]:
    """(status, content, completion_tokens) of every assistant message, oldest first."""
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute(
            "SELECT status, content, completion_tokens FROM messages"
            " WHERE role = 'assistant' ORDER BY seq"
        ).fetchall()
    return [(str(s), str(c), n) for s, c, n in rows]


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def screenshot(display: str, path: Path) -> None:
    """Save the whole virtual screen as PNG (Qt of this Python, on the same display)."""
    code = (
        "import sys\nfrom PySide6.QtGui import QGuiApplication\n"
        "app = QGuiApplication(sys.argv[:1])\n"
        "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)\n"
    )
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    saved = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, timeout=60, check=False
    )
    if saved.returncode != 0:
        raise SmokeFailure("could not save the screenshot")


def close_app(process: subprocess.Popen[bytes], report: dict[str, object]) -> None:
    """Stop the app (SIGTERM) and check that its engine host does not outlive it."""
    hosts = child_pids(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in hosts):
        time.sleep(0.2)
    left = [pid for pid in hosts if Path(f"/proc/{pid}").exists()]
    report["engine_host_left_running"] = left
    for pid in left:  # only the children of the app this test started
        os.kill(pid, signal.SIGKILL)


def glibc(run: Run, app_dir: Path) -> str:
    """The highest GLIBC_x.y any ELF file of the bundle requires."""
    found = binary_checks.glibc_baseline(app_dir)
    limit = ".".join(map(str, binary_checks.RELEASE_GLIBC))
    run.report["glibc"] = {"highest": found.version, "files": found.files[:5], "elf": found.scanned}
    line = f"needs glibc {found.version} ({found.scanned} ELF files; e.g. {found.files[:2]})"
    if found.within():
        return line
    if run.release:
        raise SmokeFailure(f"{line}: above {limit}, the release baseline")
    raise SmokeWarning(f"{line}: above {limit} (a release build fails here)")


def cpu_baseline(run: Run, app_dir: Path) -> str:
    """The baseline CPU backend holds no AVX-512 instruction."""
    baseline = binary_checks.baseline_cpu_library(app_dir)
    if baseline is None:
        raise SmokeFailure("no ggml CPU backend in the bundle")
    _, library = baseline
    variants = sorted(binary_checks.cpu_libraries(app_dir))
    count = binary_checks.avx512_instructions(library)
    run.report["cpu"] = {"variants": variants, "baseline": library.name, "avx512": count}
    line = f"{library.name}: {count:,} AVX-512 instructions; variants: {variants or 'none'}"
    if count == 0:
        return line
    if run.release:
        raise SmokeFailure(f"{line} (built with GGML_NATIVE=ON?)")
    raise SmokeWarning(f"{line} (native build: a release build fails here)")


def wait_for_reply(
    database: Path, before: int, timeout: float
) -> tuple[float, tuple[str, str, int | None]]:
    """(seconds to the first saved token, the first new assistant reply once it is done)."""
    start = time.monotonic()
    first_token = None
    while time.monotonic() < start + timeout:
        replies = assistant_replies(database)
        if len(replies) > before and first_token is None and replies[before][1]:
            first_token = time.monotonic() - start
        if len(replies) > before and replies[before][0] != "streaming":
            return (first_token if first_token is not None else time.monotonic() - start), replies[
                before
            ]
        time.sleep(0.05)
    raise SmokeFailure(f"no reply in the database after {timeout:.0f} s")


def window(run: Run, display_number: int) -> str:
    """Open the window under Xvfb, chat once through it, screenshot, close."""
    display = xsession.VirtualDisplay(number=display_number)
    database = run.home / "chatdesk.db"
    before = len(assistant_replies(database))
    log = (run.out / "app.log").open("w")
    start = time.monotonic()
    process = subprocess.Popen(
        [*run.env(DISPLAY=display.name), str(run.app)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        shown = display.wait_for_window("ChatDesk", timeout=120)
        if shown is None:
            raise SmokeFailure("no ChatDesk window within 120 s (see app.log)")
        on_screen = time.monotonic() - start
        display.type_text(shown, MESSAGE)
        sent = send_when_loaded(display, shown, database, timeout=120)
        first_token, (status, content, tokens) = wait_for_reply(database, before, timeout=300)
        run.report["window"] = {
            "on_screen_seconds": round(on_screen, 2),
            "sent_seconds": round(sent - start, 2),
            "cold_start_to_first_token_seconds": round(sent - start + first_token, 2),
            "wm_class": list(shown.wm_class),
            "size": [shown.width, shown.height],
            "reply": content[:200],
            "tokens": tokens,
        }
        hosts = engine_hosts(process.pid)
        run.report["cpu_variant_loaded"] = (
            ", ".join(filter(None, (binary_checks.loaded_cpu_variant(pid) for pid in hosts)))
            or "unknown"
        )
        time.sleep(0.5)
        screenshot(display.name, run.out / "screenshot.png")
        if status != "complete":
            raise SmokeFailure(f"the reply ended with status {status}: {content[:200]}")
    finally:
        close_app(process, run.report)
        display.close()
        log.close()
    if run.report.get("engine_host_left_running"):
        raise SmokeFailure("the engine host outlived the window")
    figures = run.report["window"]
    assert isinstance(figures, dict)
    return (
        f"on screen {figures['on_screen_seconds']} s, first token "
        f"{figures['cold_start_to_first_token_seconds']} s after start; screenshot.png"
    )


def user_messages(database: Path) -> int:
    """How many user messages the database holds."""
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return int(db.execute("SELECT count(*) FROM messages WHERE role = 'user'").fetchone()[0])


def send_when_loaded(
    display: xsession.VirtualDisplay, window: xsession.Window, database: Path, timeout: float
) -> float:
    """Press Return again every 0.5 s until the message is taken (the window refuses it,
    keeping the text, while the model is still loading, as a user would retry); the moment
    it was taken (time.monotonic())."""
    before = user_messages(database)
    deadline = time.monotonic() + timeout
    polls = 0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if user_messages(database) > before:
            return time.monotonic()
        polls += 1
        if polls % 5 == 0:
            display.press_return(window)
    raise SmokeFailure(f"the window did not take the message within {timeout:.0f} s")


def engine_hosts(pid: int) -> list[int]:
    """The app's children (its engine host), and theirs."""
    found = child_pids(pid)
    return found + [grandchild for child in found for grandchild in child_pids(child)]


def loaded_variant(run: Run) -> str:
    """Which ggml CPU backend the running engine host had mapped (from the window step)."""
    loaded = str(run.report.get("cpu_variant_loaded") or "")
    if not loaded or loaded == "unknown":
        raise SmokeFailure("the engine host's CPU backend was not seen (window step failed?)")
    return loaded


Step = tuple[str, Callable[[], str]]


def linux_only(reason: str) -> Callable[[], str]:
    def skipped() -> str:
        raise SmokeSkip(reason)

    return skipped


def steps(run: Run, app_dir: Path, args: argparse.Namespace, cached: Path | None) -> list[Step]:
    """Every feature, in the order a user would meet them (some are Linux-only)."""
    named = all_steps(run, app_dir, args, cached)
    if sys.platform == "linux":
        return named
    why = "Linux-only check (ELF, Xvfb, /proc)"
    return [(n, linux_only(why) if n in LINUX_ONLY else step) for n, step in named]


LINUX_ONLY = ("glibc baseline", "window (Xvfb)", "CPU variant loaded", "CPU baseline")


def all_steps(run: Run, app_dir: Path, args: argparse.Namespace, cached: Path | None) -> list[Step]:
    return [
        ("version", lambda: features.version(run)),
        ("glibc baseline", lambda: glibc(run, app_dir)),
        ("models starter", lambda: features.starter(run, cached)),
        ("ask (starter model)", lambda: features.ask(run)),
        ("serve + openai stream", lambda: features.serve(run)),
        ("MCP stdio server", lambda: features.mcp(run)),
        ("docs add/search", lambda: features.documents(run)),
        ("ask --docs, Chinese", lambda: features.documents_in_chinese(run)),
        ("python tool sandbox", lambda: features.python_tool(run)),
        ("keyring absent", lambda: features.keyring_absent(run)),
        ("window (Xvfb)", lambda: window(run, args.display)),
        ("CPU variant loaded", lambda: loaded_variant(run)),
        ("CPU baseline", lambda: cpu_baseline(run, app_dir)),
    ]


def run_steps(named: list[Step]) -> list[tuple[str, str, str]]:
    """(feature, PASS/WARN/FAIL, detail) of each step; one failure does not stop the rest."""
    rows = []
    for name, step in named:
        try:
            rows.append((name, "PASS", step()))
        except SmokeWarning as warning:
            rows.append((name, "WARN", str(warning)))
        except SmokeSkip as skip:
            rows.append((name, "SKIP", str(skip)))
        except SmokeFailure as failure:
            rows.append((name, "FAIL", str(failure)))
        except Exception as error:  # a broken step is a failure of that feature, not a crash
            rows.append((name, "FAIL", f"{type(error).__name__}: {error}"))
        print(f"smoke_test: {rows[-1][0]}: {rows[-1][1]}", file=sys.stderr, flush=True)
    return rows


def table(rows: list[tuple[str, str, str]]) -> str:
    """The feature x result table (Markdown)."""
    lines = ["| feature | result | detail |", "|---|---|---|"]
    lines += [
        f"| {name} | {status} | {detail.replace('|', '/')} |" for name, status, detail in rows
    ]
    return "\n".join(lines)


def cached_starter() -> Path | None:
    """The test suite's cached starter model (a fallback when PyPI cannot be reached)."""
    try:
        from tests.support.real_model import STARTER, cache_root, starter_target
    except ImportError:  # fcntl: POSIX only
        return None

    path = starter_target(cache_root() / "models", STARTER)
    return path if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    """Run every step; print the table, save the report; exit 1 when a feature failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="use what is in dist/")
    parser.add_argument("--release", action="store_true", help="release limits: fail, not warn")
    parser.add_argument("--display", type=int, default=91, help="Xvfb display number")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "smoke")
    args = parser.parse_args(argv)
    if missing := missing_tools():
        print("smoke_test: missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"python": features.environment_note(), "os": sys.platform}
    with tempfile.TemporaryDirectory(prefix="chatdesk-smoke-") as temp:
        try:
            rows = run_all(Path(temp), args, report)
        except SmokeFailure as failure:  # no bundle to test
            print(f"smoke_test: {failure}", file=sys.stderr)
            return 1
    report["table"] = [{"feature": n, "result": r, "detail": d} for n, r, d in rows]
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows))
    sizes = f"bundle {report.get('bundle_mb')} MB, tarball {report.get('tarball_mb')} MB"
    print(f"\n{sizes}; report: {args.out / 'report.json'}")
    return 1 if any(status == "FAIL" for _, status, _ in rows) else 0


def missing_tools() -> list[str]:
    """System tools the Linux checks need (none elsewhere)."""
    if sys.platform != "linux":
        return []
    objdump = [] if shutil.which("objdump") else ["objdump (apt-get install binutils)"]
    return xsession.missing_tools() + objdump


def frozen_app(temp: Path, args: argparse.Namespace, report: dict[str, object]) -> Path:
    """The bundle folder: the unpacked tarball on Linux; on macOS and Windows what
    build.sh / build.ps1 left in dist/ (build it first)."""
    if sys.platform == "darwin":
        app_dir = REPO / "dist" / "ChatDesk.app"
    elif os.name == "nt":
        app_dir = REPO / "dist" / "chatdesk"
    else:
        tarball = newest_tarball() if args.no_build else build(report, args.release)
        return unpack(tarball, temp / "unpacked", report)
    if not app_dir.is_dir():
        raise SmokeFailure(f"no {app_dir}: build it first")
    report["bundle_mb"] = round(folder_size(app_dir) / 2**20, 1)
    return app_dir


def executable(app_dir: Path) -> Path:
    if sys.platform == "darwin":
        return app_dir / "Contents" / "MacOS" / "chatdesk"
    return app_dir / ("chatdesk.exe" if os.name == "nt" else "chatdesk")


def run_all(
    temp: Path, args: argparse.Namespace, report: dict[str, object]
) -> list[tuple[str, str, str]]:
    """Find (or build and unpack) the bundle, then every step against it."""
    app_dir = frozen_app(temp, args, report)
    if sys.platform == "linux" and (missing := missing_qt_libraries(app_dir)):
        return [
            (
                "system libraries",
                "FAIL",
                "Qt's xcb plugin needs: "
                + ", ".join(missing)
                + " (Debian: apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
                " libxcb-shape0 libxkbcommon-x11-0)",
            )
        ]
    home = temp / "home"
    home.mkdir()
    run = Run(executable(app_dir), home, temp, args.out, args.release, report)
    return run_steps(steps(run, app_dir, args, cached_starter()))


if __name__ == "__main__":
    raise SystemExit(main())
