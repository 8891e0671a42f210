"""The yardstick for ``chatdesk bench``: a plain in-process llama-cpp-python loop.

Loads the model with ``llama_cpp.Llama`` and runs ``Llama.generate()`` over the same prompt
tokens, detokenising each token, with no engine host, no pipe and no streaming machinery.
End-of-generation is ignored the way a bare ``generate()`` loop does (it never stops by
itself), so it produces exactly ``--tokens`` tokens. Prints one JSON object:
``load_seconds``, ``prompt_tokens``, ``prompt_tokens_per_second``, ``generated_tokens``,
``decode_tokens_per_second``, ``first_token_seconds`` (load + time to the first token),
``rss_bytes`` (resident memory with the model loaded) and ``loaded_at_unix`` (wall clock
when the load was done, so the caller can time process start + import + load).

Run as ``python -m chatdesk.engine.host.reference MODEL --prompt-file F --tokens N`` (or
``chatdesk __engine-reference ...`` in the frozen app).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The reference run's options."""
    parser = argparse.ArgumentParser(prog="chatdesk-reference")
    parser.add_argument("model")
    parser.add_argument("--prompt-file", required=True, type=Path)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--gpu-layers", default="auto", help="a number, or auto (all on a GPU build)"
    )
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1234)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, evaluate the prompt, generate; the figures."""
    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp import llama as llama_module

    from chatdesk.engine.host.memory import resident_memory
    from chatdesk.engine.host.model import model_params

    # Load with the same model parameters as the engine host (see model_params).
    llama_module.llama_cpp.llama_model_default_params = lambda: model_params(0)

    gpu_layers = (
        (-1 if llama_cpp.llama_supports_gpu_offload() else 0)
        if args.gpu_layers == "auto"
        else int(args.gpu_layers)
    )
    started = time.perf_counter()
    llm = Llama(
        args.model,
        n_ctx=args.ctx,
        n_batch=args.batch,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=gpu_layers,
        flash_attn=True,  # as the host (load_setup.cpu_flash_attn)
        seed=args.seed,
        verbose=False,
    )
    load_seconds = time.perf_counter() - started
    loaded_at_unix = time.time()
    rss_bytes = resident_memory()
    text = args.prompt_file.read_text(encoding="utf-8")
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    pieces: list[bytes] = []
    begin = time.perf_counter()
    first = begin
    generator = llm.generate(tokens, top_k=40, top_p=0.95, min_p=0.05, temp=0.8, repeat_penalty=1.0)
    for token in generator:
        if not pieces:
            first = time.perf_counter()
        pieces.append(llm.detokenize([token]))
        if len(pieces) >= args.tokens:
            break
    end = time.perf_counter()
    llm.close()
    return {
        "load_seconds": load_seconds,
        "prompt_tokens": len(tokens),
        "prompt_tokens_per_second": len(tokens) / (first - begin) if first > begin else 0.0,
        "generated_tokens": len(pieces),
        "decode_tokens_per_second": (len(pieces) - 1) / (end - first) if end > first else 0.0,
        "first_token_seconds": load_seconds + (first - begin),
        "rss_bytes": rss_bytes,
        "loaded_at_unix": loaded_at_unix,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reference loop and print its figures as JSON."""
    figures = run(parse_args(argv))
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
