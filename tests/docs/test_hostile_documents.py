"""Hostile documents (issue 21): every file is its own unit, bombs are bounded.

A collection holding good files next to a symbolic link loop, folders 1,500 deep, a
billion-laughs DOCX, a DOCX with a DTD entity, XML nested deeper than 256, a non-UTF-8
file name, a FIFO, links to /dev/zero and /dev/urandom, a zip-bomb DOCX and a PDF whose
content inflates past the reader's memory: ``docs add`` indexes the good files, lists
each bad one with its reason, and ``docs update`` does the same again (no abort). The
bombs run through the real ``chatdesk`` command in a child process whose descendants'
peak memory is measured.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.cli.main import main
from chatdesk.docs.extract import text_lines
from chatdesk.docs.extract_worker import MEMORY_BYTES
from chatdesk.docs.indexer import Indexer
from chatdesk.services.documents import DocumentService
from tests.support import hostile_docs
from tests.support.deep_trees import remove_tree

REPO = Path(__file__).resolve().parents[2]
MEASURED = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
    "print(done.returncode, peak, done.stdout + done.stderr, sep='\\n')\n"
)


def run_measured(home: Path, *args: str) -> tuple[int, int, str]:
    """``chatdesk ARGS`` in a child; (exit status, peak RSS of it and its workers, output)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CHATDESK_HOME": str(home)}
    command = [sys.executable, "-c", MEASURED, sys.executable, "-m", "chatdesk", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=True)
    status, peak, output = done.stdout.split("\n", 2)
    return int(status), int(peak), output


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bombs")
    hostile_docs.write_zip_bomb_docx(folder / "zipbomb.docx")
    hostile_docs.write_dense_docx(folder / "dense.docx")
    hostile_docs.write_pdf_bomb(folder / "bomb.pdf")
    (folder / "fine.md").write_text("The harbour master keeps a red ledger.\n")
    return folder


def failures_in(output: str) -> dict[str, str]:
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("failed:")]
    return {Path(line[8:].split(": ", 1)[0]).name: line.split(": ", 2)[-1] for line in lines}


@pytest.fixture
def hostile_library(tmp_path: Path) -> Iterator[Path]:
    """Every hostile kind in one folder; its 1,500-deep chain is removed without recursion."""
    folder = hostile_docs.hostile_library(tmp_path, bombs=False)
    yield folder
    remove_tree(folder / "nest")


def test_each_bad_file_is_listed_and_the_rest_indexed(
    hostile_library: Path, tmp_path: Path, chatdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = hostile_library
    named = hostile_docs.special_files(tmp_path / "special")
    args = ["docs", "add", str(folder), *map(str, named.values()), "-c", "hostile"]
    assert main(args) == 0
    out = capsys.readouterr().out
    failed = failures_in(out)
    assert "pipe.txt" in failed
    assert "not a regular file (a FIFO)" in failed["pipe.txt"]
    assert "not a regular file (a device)" in failed["zero"]  # the link resolved: /dev/zero
    assert "not a regular file (a device)" in failed["urandom"]
    assert "Too many levels of symbolic links" in failed["loop.md"]
    assert "Too many levels of symbolic links" in failed["trap.md"]  # the loop in the folder
    assert "amplification" in failed["laughs.docx"]
    assert "Excessive depth" in failed["deep.docx"]
    assert failed["caf\\xe9.txt"] == "the file name is not valid UTF-8"
    for words in ("Lighthouse keepers", "obsidian", "Initech Budget approved"):
        assert search_finds(words.split()[-1], capsys)
    assert main(["docs", "update", "-c", "hostile"]) == 0  # no abort the second time either
    assert failures_in(capsys.readouterr().out) == failed


def search_finds(word: str, capsys: pytest.CaptureFixture[str]) -> bool:
    assert main(["docs", "search", word, "-c", "hostile", "--json"]) == 0
    return bool(json.loads(capsys.readouterr().out))


def test_decompression_bombs_are_refused_within_the_memory_limit(
    bombs: Path, tmp_path: Path
) -> None:
    status, peak, output = run_measured(tmp_path, "docs", "add", str(bombs), "-c", "bombs")
    assert status == 0, output
    failed = failures_in(output)
    assert failed["zipbomb.docx"].startswith("decompression bomb: ")
    assert "512 MB" in failed["bomb.pdf"]
    assert "memory limit" in failed["dense.docx"]
    assert "fine.md" not in failed
    assert peak < MEMORY_BYTES, f"peak {peak / 2**20:.0f} MiB"


def test_a_stalled_reader_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatdesk.docs import extract_worker

    monkeypatch.setattr(extract_worker, "FILE_SECONDS", 1.0)
    hostile_docs.write_dense_docx(tmp_path / "slow.docx", paragraphs=400_000)
    good = hostile_docs.write_entity_docx(tmp_path / "good.docx")
    with extract_worker.ExtractWorker(memory_bytes=2 << 30) as worker:
        with pytest.raises(Exception, match="took longer than 1 s"):
            list(worker.sections(tmp_path / "slow.docx"))
        monkeypatch.setattr(extract_worker, "FILE_SECONDS", 120.0)  # a fresh worker starts
        assert [s.text for s in worker.sections(good)] == ["Report of ", "Budget approved."]


def test_a_long_single_line_is_split_into_lines_exactly(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("word " * 100_000 + "\nsecond\n\nlast", encoding="utf-8")
    assert list(text_lines(path)) == ["word " * 100_000, "second", "", "last"]


def test_a_crashing_indexing_thread_reaches_the_window_and_the_log(
    chatdesk_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "a.md").write_text("alpha\n")
    service = DocumentService(chatdesk_home)
    service.add([tmp_path], "crash")

    def broken(*args: object) -> None:  # an unforeseen bug inside the indexer
        raise KeyError("files")

    monkeypatch.setattr(Indexer, "run", broken)
    done = threading.Event()
    seen: list[str | None] = []
    service.start_indexing("crash", on_done=lambda report, error: (seen.append(error), done.set()))
    assert done.wait(30)
    service.close()
    assert seen == ["indexing crash failed: KeyError: 'files'"]
    assert any("indexing crash failed" in r.getMessage() for r in caplog.records)
    assert caplog.records[-1].levelno == logging.ERROR
