"""Download speed of ChatDesk's resumable, verifying downloader against huggingface_hub's own.

    python tests/benchmarks/bench_hub_download.py [--size-mb N] [--repeat N]

Serves one file of N MB (default 200) from the test hub on 127.0.0.1 (tests/hub/conftest.py)
and times, in the same run: ``hf_hub_download`` (the reference: huggingface_hub's downloader
into a fresh cache), ChatDesk's ``Downloader.download`` (streams, hashes SHA-256, verifies,
renames), the same with the connection dropped half way (resumed by a range request), and a
resume after a "restart" (a new downloader re-hashes the half-done partial file first).
Prints median seconds, MB/s and each figure as a ratio to the reference.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "hub")]

from conftest import HostedRepo, TestHub, _Handler, _Server, gguf_bytes  # noqa: E402
from huggingface_hub import constants, hf_hub_download  # noqa: E402

from chatdesk.hub.download import Downloader  # noqa: E402
from chatdesk.hub.errors import DownloadFailed  # noqa: E402
from chatdesk.hub.remote import list_repo_models  # noqa: E402

FILE = "bench-Q4_K_M.gguf"
REPO = "bench/Bench-GGUF"


def start_hub(size: int) -> tuple[TestHub, _Server]:
    hub = TestHub()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.hub = hub
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hub.add_repo(HostedRepo(REPO, {FILE: gguf_bytes(size)}))
    os.environ.pop("HF_HUB_OFFLINE", None)
    constants.HF_HUB_OFFLINE = False
    constants.ENDPOINT = hub.url
    constants.HUGGINGFACE_CO_URL_TEMPLATE = hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    return hub, server


def timed(setup: Callable[[Path], None], action: Callable[[Path], object], repeat: int) -> float:
    """Median seconds of ``action(folder)`` in a fresh folder prepared by ``setup``."""
    timings = []
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(prefix="chatdesk-bench-"))
        try:
            setup(folder)
            started = time.perf_counter()
            action(folder)
            timings.append(time.perf_counter() - started)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1_000_000
    hub, server = start_hub(size)
    remote = list_repo_models(REPO).find(FILE)

    def reference(folder: Path) -> object:
        return hf_hub_download(REPO, FILE, cache_dir=folder)

    def chatdesk(folder: Path) -> object:
        return Downloader(folder).download(remote)

    def drop_half(folder: Path) -> None:
        hub.faults.drop_after[FILE] = [size // 2]

    def resumed(folder: Path) -> object:
        return Downloader(folder, retry_delay=0.0).download(remote)

    def half_done(folder: Path) -> None:
        hub.faults.drop_after[FILE] = [size // 2]
        with contextlib.suppress(DownloadFailed):
            Downloader(folder, max_retries=0).download(remote)

    def nothing(folder: Path) -> None:
        del folder

    rows = [
        ("hf_hub_download (reference)", timed(nothing, reference, args.repeat)),
        ("ChatDesk download + SHA-256 verify", timed(nothing, chatdesk, args.repeat)),
        ("ChatDesk, connection dropped at 50%", timed(drop_half, resumed, args.repeat)),
        ("ChatDesk, restart: re-hash 1st half, fetch 2nd", timed(half_done, resumed, args.repeat)),
    ]
    server.shutdown()
    reference_seconds = rows[0][1]
    print(f"file: {args.size_mb} MB from 127.0.0.1, median of {args.repeat}")
    for label, seconds in rows:
        rate = size / seconds / 1e6
        ratio = seconds / reference_seconds
        print(f"{label:46s} {seconds:7.3f} s  {rate:8.1f} MB/s  time x{ratio:.2f} of reference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
