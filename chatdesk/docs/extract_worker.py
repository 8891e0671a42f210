"""PDF and DOCX text read in a separate process with a memory and a time limit.

A 1.4 MB DOCX can unpack to gigabytes (a zip bomb), a small PDF can make pdfium allocate
gigabytes, and an XML parser can be sent into deep nesting or a crash. So these formats
are read by a worker process (one per indexing run, started on first need): it sets
``RLIMIT_AS`` on itself (``MEMORY_BYTES``) and then, for each path it is sent, streams the
file's sections back as JSON lines. Here the sections come out of ``sections()`` as
from any extractor, with a bounded queue between (the worker waits while the indexer
embeds). A worker that goes quiet for ``STALL_SECONDS`` or runs past ``FILE_SECONDS`` on one
file is killed; one that dies (out of memory, a crash in pdfium) is reported as the
file's reason and a fresh one starts for the next file. A file the worker refuses with a
reason of its own (a zip bomb by its declared sizes, XML it cannot parse) leaves it
running for the next file. Every failure is an
``ExtractionError`` with a one-line reason, so the indexer lists the file and goes on.

The frozen app starts itself with the hidden ``__docs-extract`` sub-command instead of
``python -m chatdesk.docs.extract_worker``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from chatdesk.docs.extract_types import ExtractionError, Section
from chatdesk.engine.client import host_environment

WORKER_SUBCOMMAND = "__docs-extract"
MEMORY_BYTES = 512 * 1024 * 1024
STALL_SECONDS = 60.0  # no section for this long: the worker is killed
FILE_SECONDS = 600.0  # one file may take this long at most
QUEUE_LINES = 64
_END = object()


def worker_command() -> list[str]:
    """How to start the worker: from source, or the frozen app's hidden sub-command."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_SUBCOMMAND]
    return [sys.executable, "-m", "chatdesk.docs.extract_worker"]


class ExtractWorker:
    """The worker process seen from the indexer; ``close()`` ends it."""

    def __init__(self, memory_bytes: int = MEMORY_BYTES, stall: float = STALL_SECONDS) -> None:
        self.memory_bytes, self.stall = memory_bytes, stall
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[Any] = queue.Queue(QUEUE_LINES)
        self._idle = True

    def __enter__(self) -> ExtractWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sections(self, path: Path) -> Iterator[Section]:
        """The sections of one PDF or DOCX; ExtractionError with the reason."""
        process = self._started()
        stdin = process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps({"path": os.fsdecode(path)}).encode() + b"\n")
            stdin.flush()
        except OSError:
            raise self._death() from None
        self._idle = False
        try:
            yield from self._answers(time.monotonic() + FILE_SECONDS, FILE_SECONDS)
        finally:
            if not self._idle:  # stopped early, stalled or dead: never reuse a busy worker
                self._kill()

    def _answers(self, deadline: float, limit: float) -> Iterator[Section]:
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:  # a worker that keeps talking must still stop at the limit
                    raise queue.Empty
                line = self._lines.get(timeout=min(self.stall, left))
            except queue.Empty:
                self._kill()
                stalled = left > self.stall  # quiet for too long, before the file's limit
                seconds = self.stall if stalled else limit
                message = f"took longer than {seconds:.0f} s to read (stopped)"
                raise ExtractionError(message) from None
            if line is _END:
                raise self._death()
            answer = json.loads(line)
            if "error" in answer or answer.get("end"):
                self._idle = True  # the worker is done with this file and waits for the next
            if "error" in answer:
                raise ExtractionError(str(answer["error"]))
            if answer.get("end"):
                return
            text, page, first = answer["section"]
            yield Section(text, page, first)

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._lines = queue.Queue(QUEUE_LINES)
            self._process = subprocess.Popen(
                [*worker_command(), str(self.memory_bytes)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=host_environment(),  # this copy of chatdesk importable
            )
            reader = threading.Thread(target=self._read, args=(self._process,), daemon=True)
            reader.start()
        return self._process

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        lines = self._lines
        stream = process.stdout
        assert stream is not None
        for line in stream:
            lines.put(line)
        lines.put(_END)

    def _death(self) -> ExtractionError:
        process = self._process
        code = process.wait() if process is not None else None
        self._process = None
        if code is not None and code < 0:  # pdfium aborts or crashes when malloc fails
            limit = self.memory_bytes // 2**20
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            return ExtractionError(
                f"reading it needed more than {limit} MB of memory or crashed the reader "
                f"({name}; refused)"
            )
        return ExtractionError(f"the reader stopped on this file (exit status {code})")

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    pipe.close() if pipe else None

    def close(self) -> None:
        """End the worker (it also ends when its input closes)."""
        self._kill()


# -- the worker process ------------------------------------------------------------------


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def read_one(path: Path, out: IO[bytes]) -> None:
    """Stream one file's sections, then an end mark or the error, to ``out``."""
    from chatdesk.docs.extract import isolated_reader

    try:
        for section in isolated_reader(path)(path):
            _send(out, {"section": [section.text, section.page, section.first_line]})
        _send(out, {"end": True})
    except ExtractionError as error:
        _send(out, {"error": str(error)})
    except MemoryError:
        _send(out, {"error": f"needs more than {limit_mb()} MB of memory to read (refused)"})
        raise SystemExit(3) from None  # the heap may be in pieces: start afresh
    except RecursionError:
        _send(out, {"error": "nested too deeply to read (refused)"})
    except Exception as error:  # a damaged file can raise anything inside a parser
        words = " ".join(str(error).split())[:200]
        _send(out, {"error": f"damaged or unreadable: {type(error).__name__}: {words}"})


def limit_mb() -> int:
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    return soft // 2**20 if soft > 0 else 0


def main(argv: list[str] | None = None) -> None:
    """Set the memory limit, then read one request per input line until input ends."""
    args = sys.argv[1:] if argv is None else argv
    memory = int(args[0]) if args else MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        read_one(Path(json.loads(line)["path"]), out)


if __name__ == "__main__":
    main()
