"""Smoke test of the Linux app as a user gets it: build, unpack, chat once, check, screenshot.

    python packaging/smoke_test.py [--no-build] [--out build/smoke]

1. builds the bundle and the tarball (packaging/build.sh), timed; bundle and tarball size;
2. unpacks the tarball into a temporary folder and runs everything from there, with
   CHATDESK_HOME in a temporary folder holding a generated tiny model (tests/support);
3. ``chatdesk --version``, ``chatdesk ask MODEL hi`` (the frozen engine host), then
   ``chatdesk list`` (the conversation it saved) and ``chatdesk models catalogue``;
4. starts ``chatdesk`` with no arguments under Xvfb, measures the time until its window is
   on screen, types a message and presses Enter (XTEST key events, as a user would), waits
   for the reply in the database (sqlite3), saves a screenshot, closes the app and checks
   that its engine host went with it.
Writes OUT/report.json and OUT/screenshot.png. Installs nothing: missing system tools are
named with the Debian package to install, and the test stops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import xsession

REPO = Path(__file__).resolve().parent.parent
MESSAGE = "hello there"
QT_XCB_PLUGIN = "_internal/PySide6/Qt/plugins/platforms/libqxcb.so"


class SmokeFailure(Exception):
    """A step of the smoke test failed; the message says which and why."""


def run(
    command: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; a timeout is a failure."""
    try:
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise SmokeFailure(f"{' '.join(command)} ran past {timeout:.0f} s") from error


def build(report: dict[str, object]) -> Path:
    """packaging/build.sh with this Python; returns the tarball."""
    env = {**os.environ, "PYTHON": sys.executable}
    start = time.monotonic()
    result = subprocess.run([str(REPO / "packaging" / "build.sh")], env=env, check=False)
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


def make_home(root: Path) -> tuple[dict[str, str], Path]:
    """CHATDESK_HOME with one tiny generated model; returns the environment and the model."""
    home = root / "home"
    model = home / "models" / "smoke" / "tiny.gguf"
    model.parent.mkdir(parents=True)
    factory = [sys.executable, "-m", "tests.support.gguf_factory", str(model), "--preset", "tiny"]
    made = run(factory, {**os.environ, "PYTHONPATH": str(REPO)}, 120)
    if made.returncode != 0:
        raise SmokeFailure(f"cannot generate the test model: {made.stderr.strip()}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QT_"))}
    env.update(CHATDESK_HOME=str(home), HF_HUB_OFFLINE="1")
    return env, model


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


def check_command_line(
    app: Path, env: dict[str, str], model: Path, report: dict[str, object]
) -> None:
    """``--version`` and one ``ask`` through the frozen engine host, reply in the database."""
    version = run([str(app), "--version"], env, 60)
    if version.returncode != 0:
        raise SmokeFailure(f"chatdesk --version failed: {version.stderr.strip()}")
    report["version"] = version.stdout.strip()
    start = time.monotonic()
    asked = run([str(app), "ask", str(model), "hi"], env, 300)
    report["ask_seconds"] = round(time.monotonic() - start, 2)
    if asked.returncode != 0:
        raise SmokeFailure(f"chatdesk ask failed ({asked.returncode}): {asked.stderr.strip()}")
    replies = assistant_replies(Path(env["CHATDESK_HOME"]) / "chatdesk.db")
    if not replies or replies[-1][0] != "complete":
        raise SmokeFailure(f"chatdesk ask left no complete reply in the database: {replies}")
    report["ask_reply"] = replies[-1][1][:200]
    for command in (["list"], ["models", "catalogue"]):  # the store, the bundled catalogue
        result = run([str(app), *command], env, 60)
        if result.returncode != 0 or not result.stdout.strip():
            raise SmokeFailure(f"chatdesk {' '.join(command)} failed: {result.stderr.strip()}")
        report[f"{'_'.join(command)}_lines"] = len(result.stdout.splitlines())


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


def wait_for_reply(database: Path, before: int, timeout: float) -> tuple[str, str, int | None]:
    """The first new assistant reply that is no longer streaming."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = assistant_replies(database)
        if len(replies) > before and replies[before][0] != "streaming":
            return replies[before]
        time.sleep(0.2)
    raise SmokeFailure(f"no reply in the database after {timeout:.0f} s")


def screenshot(display: str, path: Path) -> None:
    """Save the whole virtual screen as PNG (Qt of this Python, on the same display)."""
    code = (
        "import sys\nfrom PySide6.QtGui import QGuiApplication\n"
        "app = QGuiApplication(sys.argv[:1])\n"
        "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)\n"
    )
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    if run([sys.executable, "-c", code, str(path)], env, 60).returncode != 0:
        raise SmokeFailure("could not save the screenshot")


def check_window(app: Path, env: dict[str, str], out: Path, report: dict[str, object]) -> None:
    """Open the window under Xvfb, chat once through it, screenshot, close."""
    display = xsession.VirtualDisplay()
    database = Path(env["CHATDESK_HOME"]) / "chatdesk.db"
    before = len(assistant_replies(database))
    log = (out / "app.log").open("w")
    start = time.monotonic()
    process = subprocess.Popen(
        [str(app)], env={**env, "DISPLAY": display.name}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        window = display.wait_for_window("ChatDesk", timeout=120)
        if window is None:
            raise SmokeFailure("no ChatDesk window within 120 s (see app.log)")
        report["time_to_window_seconds"] = round(time.monotonic() - start, 2)
        report["window"] = f"WM_CLASS {window.wm_class}, {window.width}x{window.height}"
        time.sleep(1.0)  # let the first paint and the model selection settle
        sent = time.monotonic()
        display.type_text(window, MESSAGE)
        status, content, tokens = wait_for_reply(database, before, timeout=300)
        report["gui_reply_seconds"] = round(time.monotonic() - sent, 2)
        report["gui_reply"] = {"status": status, "content": content[:200], "tokens": tokens}
        time.sleep(0.5)
        screenshot(display.name, out / "screenshot.png")
        hosts = child_pids(process.pid)
        report["engine_host_pids"] = hosts
        if status != "complete":
            raise SmokeFailure(f"the reply ended with status {status}: {content[:200]}")
    finally:
        close_app(process, report)
        display.close()
        log.close()


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


def main(argv: list[str] | None = None) -> int:
    """Run every step; print and save the report; exit 1 on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="use the newest tarball in dist/")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "smoke")
    args = parser.parse_args(argv)
    if missing := xsession.missing_tools():
        print("smoke_test: missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {}
    try:
        tarball = newest_tarball() if args.no_build else build(report)
        with tempfile.TemporaryDirectory(prefix="chatdesk-smoke-") as temp:
            run_checks(tarball, Path(temp), args.out, report)
        report["result"] = "passed"
    except SmokeFailure as failure:
        report["result"] = f"FAILED: {failure}"
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if report["result"] == "passed" else 1


def run_checks(tarball: Path, temp: Path, out: Path, report: dict[str, object]) -> None:
    """Every check against the unpacked tarball."""
    app_dir = unpack(tarball, temp / "unpacked", report)
    if missing := missing_qt_libraries(app_dir):
        raise SmokeFailure(
            "Qt's xcb plugin needs system libraries this machine lacks: "
            + ", ".join(missing)
            + " (Debian: apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
            " libxcb-shape0 libxkbcommon-x11-0)"
        )
    env, model = make_home(temp)
    failures = []
    for name, check in (
        ("command line", lambda: check_command_line(app_dir / "chatdesk", env, model, report)),
        ("window", lambda: check_window(app_dir / "chatdesk", env, out, report)),
    ):
        try:  # one failing step does not hide what the next one would show
            check()
        except SmokeFailure as failure:
            failures.append(f"{name}: {failure}")
    shutil.rmtree(temp / "unpacked", ignore_errors=True)
    if failures:
        raise SmokeFailure("; ".join(failures))


if __name__ == "__main__":
    raise SystemExit(main())
