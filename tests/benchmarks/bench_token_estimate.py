"""How close the token estimate is to real tokenizers, per kind of text.

Run: ``PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_token_estimate.py [GGUF ...]``.
Without arguments it measures the two real test models (the starter SmolLM2-135M and
Gemma 3 270M, installed if need be). Any GGUF works, vocabulary only; llama.cpp's own
tokenizer-test vocabularies (``vendor/llama.cpp/models/ggml-vocab-*.gguf`` in the
llama-cpp-python sdist: Llama 3, Qwen 2, Command R, DeepSeek, Phi-3...) cover the models
people run through Ollama and LM Studio.

For each vocabulary and each paragraph of ``tests/data/text/kinds_of_text.json`` it
prints the estimate over the real count (1.0: exact; below 1: too few, the prompt can
overrun the context), for ``chatdesk.engine.token_estimate`` and for the reference, the
4 characters a token the remote engine used before. ``--json`` prints the table as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "tests" / "data" / "text" / "kinds_of_text.json"


def four_characters_a_token(text: str) -> int:
    """The reference: the remote engine's estimate before."""
    return max(1, math.ceil(len(text) / 4))


def counts(path: Path, texts: dict[str, str]) -> dict[str, int]:
    """Each text's tokens by the GGUF's own tokenizer."""
    import llama_cpp

    vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    return {kind: len(vocab.tokenize(text.encode(), add_bos=False)) for kind, text in texts.items()}


def default_models() -> list[Path]:
    from tests.support.real_model import real_model_or_exit

    return [real_model_or_exit("starter"), real_model_or_exit("gemma")]


def table(paths: list[Path]) -> dict[str, dict[str, dict[str, float]]]:
    """{vocabulary: {kind: {"estimate": ratio, "reference": ratio, "tokens": count}}}."""
    from chatdesk.engine.token_estimate import estimate_tokens

    samples = json.loads(SAMPLES.read_text(encoding="utf-8"))["samples"]
    texts = {entry["kind"]: entry["text"] for entry in samples.values()}
    result = {}
    for path in paths:
        real = counts(path, texts)
        result[path.stem.removeprefix("ggml-vocab-")] = {
            kind: {
                "tokens": real[kind],
                "estimate": round(estimate_tokens(text) / real[kind], 2),
                "reference": round(four_characters_a_token(text) / real[kind], 2),
            }
            for kind, text in texts.items()
        }
    return result


def show(found: dict[str, dict[str, dict[str, float]]]) -> None:
    kinds = list(next(iter(found.values())))
    print("estimate / real count (4 characters a token / real count)")
    print("vocabulary".ljust(30) + "".join(kind[:11].rjust(13) for kind in kinds))
    for name, row in found.items():
        cells = "".join(
            f"{row[k]['estimate']:.2f} ({row[k]['reference']:.2f})".rjust(13) for k in kinds
        )
        print(name[:29].ljust(30) + cells)
    for which in ("estimate", "reference"):
        ratios = [row[k][which] for row in found.values() for k in kinds]
        low = sum(ratio < 0.5 for ratio in ratios)
        print(
            f"{which}: lowest {min(ratios):.2f}, highest {max(ratios):.2f}, "
            f"{low} of {len(ratios)} below half the real count"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "gguf", nargs="*", type=Path, help="vocabularies (default: the real models)"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()
    found = table(args.gguf or default_models())
    if args.json:
        print(json.dumps(found, indent=1))
    else:
        show(found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
