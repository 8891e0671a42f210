"""``chatdesk docs ...``: add, update, list, rm and search document collections.

A thin layer over ``chatdesk.services.documents.DocumentService``: argument parsing, a
progress bar on stderr while indexing, tables and JSON on stdout. Ctrl-C while indexing
cancels cleanly (the file in progress is rolled back; run ``docs update`` to carry on).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from chatdesk.cli.engine_commands import resolve_model
from chatdesk.cli.errors import CLIError
from chatdesk.cli.terminal_text import safe_for_terminal
from chatdesk.docs.embedding_catalogue import EmbeddingCatalogueError, embedding_models
from chatdesk.docs.extract_worker import WORKER_SUBCOMMAND
from chatdesk.docs.indexer import IndexReport
from chatdesk.docs.progress import IndexProgress, describe
from chatdesk.services.documents import DocumentsError, DocumentService

BAR_WIDTH = 24


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add the ``docs`` command group to the chatdesk parser."""
    docs = commands.add_parser("docs", help="document collections for answers with citations")
    group = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)

    add = group.add_parser("add", help="add files and folders to a collection and index them")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add.add_argument("--collection", "-c", required=True, metavar="NAME")
    add.add_argument(
        "--embedding-model",
        metavar="GGUF",
        help="embedding GGUF (path, or file name under the models folder) for search by meaning",
    )
    add.set_defaults(handler=add_command)

    update = group.add_parser("update", help="re-index changed files (resume a stopped run)")
    update.add_argument("--collection", "-c", metavar="NAME", help="default: every collection")
    update.set_defaults(handler=update_command)

    listing = group.add_parser("list", help="collections, their files and failures")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_command)

    remove = group.add_parser("rm", help="remove a collection, or a file or folder from it")
    remove.add_argument("collection", metavar="NAME")
    remove.add_argument("path", nargs="?", type=Path, metavar="PATH")
    remove.set_defaults(handler=rm_command)

    search = group.add_parser("search", help="the passages that best match a query")
    search.add_argument("query", nargs="+")
    search.add_argument("--collection", "-c", required=True, action="append", metavar="NAME")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.set_defaults(handler=search_command)

    models = group.add_parser("models", help="embedding models for search by meaning")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(handler=models_command)

    worker = commands.add_parser(WORKER_SUBCOMMAND, add_help=False)  # hidden: frozen app only
    worker.add_argument("memory", nargs="?")
    worker.set_defaults(handler=run_extract_worker)


def run_extract_worker(args: argparse.Namespace) -> int:
    """Hidden: be the PDF/DOCX reading worker (the frozen app starts itself so)."""
    from chatdesk.docs import extract_worker

    extract_worker.main([args.memory] if args.memory else [])
    return 0


@contextmanager
def documents() -> Iterator[DocumentService]:
    """The documents service of the data root, closed after; its errors become CLIErrors."""
    try:
        service = DocumentService()
    except DocumentsError as error:
        raise CLIError(str(error)) from None
    try:
        yield service
    except DocumentsError as error:
        raise CLIError(str(error)) from None
    finally:
        service.close()


class ProgressBar:
    """One line on ``stream``, redrawn in place on a terminal, every few seconds otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0
        self.width = 0

    def __call__(self, progress: IndexProgress) -> None:
        now = time.monotonic()
        if not progress.finished and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        share = progress.bytes_done / progress.bytes_total if progress.bytes_total else 1.0
        filled = int(BAR_WIDTH * min(share, 1.0))
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {describe(progress)}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        if progress.finished and self.tty:
            self.stream.write("\n")
        self.stream.flush()


def run_indexing(service: DocumentService, collection: str) -> IndexReport:
    """Index with a progress bar; Ctrl-C cancels (exit 130 after the summary)."""
    cancel = threading.Event()
    try:
        report = service.index_collection(collection, ProgressBar(sys.stderr), cancel)
    except KeyboardInterrupt:
        raise CLIError("indexing interrupted; run `chatdesk docs update` to resume", 130) from None
    print_report(report)
    return report


def print_report(report: IndexReport) -> None:
    """The run's outcome and every failed file with its reason."""
    progress = report.progress
    print(
        f"{progress.collection}: {describe(progress)}, "
        f"{progress.files_skipped} unchanged files skipped"
        + (" (cancelled)" if progress.cancelled else "")
    )
    for path, reason in report.failures:
        print(f"  failed: {safe_for_terminal(path)}: {safe_for_terminal(reason)}")


def add_command(args: argparse.Namespace) -> int:
    with documents() as service:
        model = resolve_model(args.embedding_model) if args.embedding_model else None
        service.add(args.paths, args.collection, model)
        run_indexing(service, args.collection)
    return 0


def update_command(args: argparse.Namespace) -> int:
    with documents() as service:
        names = [args.collection] if args.collection else [c.name for c in service.collections()]
        for name in names:
            service.collection(name)
            run_indexing(service, name)
    return 0


def list_command(args: argparse.Namespace) -> int:
    with documents() as service:
        summaries = service.collections()
        failures = {s.name: service.failed_files(s.name) for s in summaries}
    if args.json:
        rows = [
            {
                **vars(s),
                "sources": list(s.sources),
                "failures": [{"file": f.path, "reason": f.error} for f in failures[s.name]],
            }
            for s in summaries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not summaries:
        print("no document collections (add one with `chatdesk docs add PATH --collection NAME`)")
    for s in summaries:
        model = Path(s.embedding_model).name if s.embedding_model else "keywords only"
        print(
            f"{s.name}: {s.indexed}/{s.files} files indexed, {s.pages} pages, {s.chunks} chunks, "
            f"{s.vectors} vectors ({model})"
        )
        for source in s.sources:
            print(f"  source: {source}")
        for record in failures[s.name]:
            print(f"  failed: {record.path}: {record.error}")
    return 0


def rm_command(args: argparse.Namespace) -> int:
    with documents() as service:
        count = service.remove(args.collection, args.path)
    what = args.path if args.path is not None else f"collection {args.collection}"
    print(f"removed {what} ({count} files forgotten; the files themselves are untouched)")
    return 0


def search_command(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CLIError("--limit must be at least 1")
    with documents() as service:
        hits = service.search(" ".join(args.query), args.collection, args.limit)
    if args.json:
        print(json.dumps([hit.to_dict() for hit in hits], indent=2, ensure_ascii=False))
        return 0
    for rank, hit in enumerate(hits, start=1):
        where = (
            f"page {hit.page}" if hit.page is not None else f"lines {hit.line_start}-{hit.line_end}"
        )
        snippet = " ".join(hit.text.split())[:160]
        print(f"{rank}. {hit.file} ({where}, score {hit.score:.4f})\n   {snippet}")
    if not hits:
        print("no matches")
    return 0


def models_command(args: argparse.Namespace) -> int:
    """The catalogue's embedding models, with the command that downloads each."""
    try:
        found = embedding_models()
    except EmbeddingCatalogueError as error:
        raise CLIError(str(error)) from None
    if args.json:
        print(json.dumps([vars(model) for model in found], indent=2, ensure_ascii=False))
        return 0
    for model in found:
        print(
            f"{model.name} ({model.dimensions} dimensions, {model.approx_size_bytes / 1e6:.0f} MB, "
            f"{model.license}): {model.description}"
        )
        print(f"  chatdesk models download {model.repo_id} {model.filename}")
    print("then: chatdesk docs add PATH --collection NAME --embedding-model FILE_NAME.gguf")
    return 0
