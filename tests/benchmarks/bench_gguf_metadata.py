"""How fast ChatDesk reads a model's header, against gguf's own GGUFReader, in one run.

    python tests/benchmarks/bench_gguf_metadata.py [MODEL.gguf ...] [--repeat N]

Without a path it uses the real-shape synthetic model (896 wide, 24 layers, Q8_0,
about 0.45 GB), generating it under the system temp folder on first use. Prints the
median time of ``read_gguf_metadata`` and ``validate_gguf`` and of ``gguf.GGUFReader``
(which parses every tensor info and every vocabulary string as numpy views), and the
ratio GGUFReader / ChatDesk.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gguf

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.gguf_metadata import GGUFError, read_gguf_metadata, validate_gguf
from tests.support.gguf_factory import PRESETS, write_model


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _try_validate(path: Path) -> bool:
    try:
        validate_gguf(path)
    except GGUFError:
        return False
    return True


def default_model() -> Path:
    path = Path(tempfile.gettempdir()) / "chatdesk-bench" / "real-shape.gguf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ...", flush=True)
        write_model(path, PRESETS["real-shape"])
    return path


def bench(path: Path, repeat: int) -> None:
    meta = read_gguf_metadata(path)
    try:
        validate_gguf(path)
    except GGUFError as error:
        print(f"  (not a loadable model: {error.reason})")
    ours = median_seconds(lambda: read_gguf_metadata(path), repeat)
    validated = median_seconds(lambda: _try_validate(path), repeat)
    reference = median_seconds(lambda: gguf.GGUFReader(path), repeat)
    print(
        f"{path.name}: {meta.size_bytes / 1e6:.0f} MB, {meta.tensor_count} tensors, "
        f"vocab {meta.vocab_size}, {meta.parameter_count / 1e6:.0f}M params, {meta.file_type}"
    )
    print(f"  read_gguf_metadata  {ours * 1000:8.1f} ms")
    print(f"  validate_gguf       {validated * 1000:8.1f} ms")
    print(f"  gguf.GGUFReader     {reference * 1000:8.1f} ms")
    print(f"  ratio GGUFReader / read_gguf_metadata: {reference / ours:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for path in args.models or [default_model()]:
        bench(path, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
