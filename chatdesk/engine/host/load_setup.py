"""What a model load is set up with: KV-state budgets, flash attention, the GPU backend.

Small decisions ``Engine.load`` takes before and after llama.cpp loads a model, each a
function of the options and of what llama.cpp reports, kept apart from the engine's
request handling so each can be read (and tested) on its own: where conversation KV
states live and how much RAM and disk they may use (the user's ``state_cache_mb`` /
``state_disk_mb`` settings), whether flash attention is on (on for CPU: it is what
makes batch and single-token logits identical, which speculative decoding relies on),
whether llama.cpp repacked the weights (then no speculation), which GPU backend the
build has, and the KV cache's shape per token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import llama_cpp

from chatdesk import paths
from chatdesk.engine.host import memory
from chatdesk.engine.host.llama_log import LlamaLog
from chatdesk.engine.host.state_cache import DiskStates
from chatdesk.engine.types import LoadOptions

DEFAULT_STATE_CACHE_MB = 1024
DEFAULT_STATE_DISK_MB = 4096  # conversation KV states kept under the cache folder


GPU_BACKENDS = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL", "CANN", "MUSA")


def kv_state_root() -> Path:
    """Where conversation KV states are written (under the data root's cache folder)."""
    return paths.cache_dir() / "kv-states"


def gpu_backend_name() -> str | None:
    """The GPU backend llama.cpp was built with, or None for a CPU-only build."""
    if not llama_cpp.llama_supports_gpu_offload():
        return None
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    return next((name for name in GPU_BACKENDS if name in info), "GPU")


def state_budgets(options: LoadOptions, path: Path) -> tuple[int, DiskStates | None]:
    """The RAM budget (bytes) for saved conversation states and their disk cache (None
    when the disk budget is 0), from ``options`` (the user's settings) or the defaults."""
    ram_mb, disk_mb = options.state_cache_mb, options.state_disk_mb
    ram = (DEFAULT_STATE_CACHE_MB if ram_mb is None else ram_mb) * 1024**2
    disk = (DEFAULT_STATE_DISK_MB if disk_mb is None else disk_mb) * 1024**2
    folder = DiskStates.folder_for(kv_state_root(), path)
    return ram, DiskStates(folder, disk) if disk > 0 else None


def uses_repacked_weights(log: LlamaLog) -> bool:
    """Whether llama.cpp repacked weights for its CPU kernels (K-quants, Q4_0, ...).

    Those kernels compute a batch in 4-row blocks and a single token another way, so the
    logits differ; the once-per-model check (``Engine._check_batches``) caught that for
    Gemma 3 270M at one thread but passed it at two, and a benchmark then saw a changed
    greedy reply: so no speculative decoding at all for such models.
    """
    return any(
        "CPU_REPACK model buffer" in line or "repack tensor" in line for _level, line in log.lines
    )


def cpu_flash_attn(asked: bool | None, gpu: bool) -> bool | None:
    """Flash attention: as asked; by default llama.cpp's choice on GPU, on for CPU.

    On CPU, llama.cpp's attention without flash attention computes a token's keys and
    values (and so its logits) slightly differently in a batch than alone; with it, a batch
    gives exactly the logits one token at a time gives (measured: bit for bit), which is
    what lets speculative decoding verify drafts in one batch without changing the reply.
    Decode speed measured the same either way on this machine (docs/architecture).
    """
    if asked is not None or gpu:
        return asked
    return True


def kv_shape(raw_model: Any) -> memory.KVShape:
    """What sizes a loaded model's KV cache per token."""
    return memory.KVShape(
        n_layer=int(llama_cpp.llama_model_n_layer(raw_model)),
        n_embd=int(llama_cpp.llama_model_n_embd(raw_model)),
        n_head=int(llama_cpp.llama_model_n_head(raw_model)),
        n_head_kv=int(llama_cpp.llama_model_n_head_kv(raw_model)),
    )
