"""Typing while a reply streams on a loaded machine (issue 25, item 3), for bench_gui.py.

``measure_loaded_typing`` starts ``BUSY`` CPU-bound background processes (plain Python
loops at normal priority: other work on the machine), opens the 500-message conversation,
sends a message whose reply streams, and meanwhile types into the composer: a typist thread
posts one key press every ``KEY_INTERVAL_S`` (as the window system delivers a keystroke,
whatever the GUI thread is doing) and records when; the echo of a key is the time from
that moment until the composer's viewport has painted text that contains it. The 5 ms
probe timer of bench_gui measures the longest GUI block in the same interval. The same
typing into the idle window (no reply, the same background load) is the reference,
measured in the same run. Targets: echo p99 <= 50 ms, longest block <= 50 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from tests.benchmarks import gui_blocks

BUSY = 2
KEY_INTERVAL_S = 0.03
BUSY_CODE = "while True:\n    pass\n"
# ``--code``: a reply with a 120-line code block (streamed in pieces, settled at the end)
LONG_CODE = "".join(f"    total_{n} += compute(item, {n})\n" for n in range(120))
CODE_REPLY = (
    f"Here is the whole loader:\n\n```python\ndef load(items):\n{LONG_CODE}```\n\nDone.\n\n"
)


def start_busy(count: int = BUSY) -> list[subprocess.Popen[bytes]]:
    """``count`` processes that spin on a core each until killed."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_CODE]) for _ in range(count)]


def stop_busy(processes: list[subprocess.Popen[bytes]]) -> None:
    """Kill the busy processes started by ``start_busy`` (by their own handles)."""
    for process in processes:
        process.kill()
        process.wait()


class EchoMeter:
    """Posts key presses from a thread; times each until the composer has painted it."""

    def __init__(self, editor: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        self.editor = editor
        self.sent: list[float] = []  # perf_counter of each key press, in order
        self.echoes: list[float] = []  # ms, per key press, once painted
        self._stop = threading.Event()
        meter = self

        class PaintWatch(QObject):
            def eventFilter(self, _watched: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint:
                    meter.painted()
                return False

        self._watch = PaintWatch()
        editor.viewport().installEventFilter(self._watch)

    def painted(self) -> None:
        now = time.perf_counter()
        shown = len(self.editor.toPlainText())
        while len(self.echoes) < min(shown, len(self.sent)):
            self.echoes.append((now - self.sent[len(self.echoes)]) * 1000)

    def _type(self, presses: list[tuple[Any, Any]]) -> None:
        from PySide6.QtCore import QCoreApplication

        for press, release in presses:
            if self._stop.wait(KEY_INTERVAL_S):
                return
            self.sent.append(time.perf_counter())
            QCoreApplication.postEvent(self.editor, press)
            QCoreApplication.postEvent(self.editor, release)

    def start(self, presses: list[tuple[Any, Any]]) -> threading.Thread:
        """Type ``presses`` (made on the GUI thread, key_events: Qt objects belong to it)."""
        self.editor.clear()
        self.editor.setFocus()
        self.sent, self.echoes = [], []
        self._stop.clear()
        typist = threading.Thread(target=self._type, args=(presses,), daemon=True)
        typist.start()
        return typist

    def stop(self) -> None:
        self._stop.set()


def key_events() -> tuple[Any, Any]:
    """One press and release of "a", to post to the composer."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent

    kinds = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
    press, release = (
        QKeyEvent(k, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "a") for k in kinds
    )
    return press, release


def p99(values: list[float]) -> float:
    """99th percentile (the largest value of a short list)."""
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def typing_round(app: Any, window: Any, probe: Any, keys: int, stream: bool) -> dict[str, float]:
    """Type ``keys`` keys (while a reply streams, with ``stream``); echo and block figures."""
    meter = EchoMeter(window.composer.text)
    presses = [key_events() for _ in range(keys)]  # before the probe starts: not the window's
    sampler = gui_blocks.StackSampler() if gui_blocks.enabled() else None
    if sampler is not None:
        sampler.start()
    if stream:
        window.send("Explain how to read a JSON file, with code.")
    probe.start()
    cpu_started, wall_started = time.thread_time(), time.perf_counter()
    typist = meter.start(presses)
    while typist.is_alive() or (stream and window.turns.streaming):
        app.processEvents()
        time.sleep(0.0005)
        if stream and not window.turns.streaming:
            meter.stop()
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    probe.stop()
    if sampler is not None:
        sampler.stop()
        sampler.report(probe.ticks)
    cpu_share = (time.thread_time() - cpu_started) / (time.perf_counter() - wall_started)
    echoes = meter.echoes or [0.0]
    window.composer.text.clear()
    return {
        "echo_p99_ms": p99(echoes),
        "echo_max_ms": max(echoes),
        "echo_median_ms": statistics.median(echoes),
        "keys": float(len(meter.echoes)),
        "block_max_ms": max(probe.lateness),
        "block_p99_ms": p99(probe.lateness),
        "gui_cpu_share": cpu_share,  # the GUI thread's CPU seconds per second (load-free)
    }


def measure_loaded_typing(
    app: Any, window: Any, conversation_id: str, probe: Any
) -> dict[str, float]:
    """Typing echo and GUI blocks with ``BUSY`` busy processes: while a reply streams into
    ``conversation_id``, against typing into the idle window, same load, same run."""
    window.open_conversation(conversation_id)
    busy = start_busy()
    try:
        time.sleep(0.5)
        idle = typing_round(app, window, probe, keys=100, stream=False)
        loaded = typing_round(app, window, probe, keys=400, stream=True)
    finally:
        stop_busy(busy)
    print(
        f"typing while streaming with {BUSY} busy processes: echo p99 {loaded['echo_p99_ms']:.1f} "
        f"ms (max {loaded['echo_max_ms']:.1f}, median {loaded['echo_median_ms']:.1f}, "
        f"{loaded['keys']:.0f} keys), longest block {loaded['block_max_ms']:.1f} ms; idle window, "
        f"same load: echo p99 {idle['echo_p99_ms']:.1f} ms, longest block "
        f"{idle['block_max_ms']:.1f} ms (targets: echo p99 <= 50 ms, block <= 50 ms); GUI "
        f"thread CPU {loaded['gui_cpu_share']:.0%} of the time streaming, "
        f"{idle['gui_cpu_share']:.0%} idle",
        flush=True,
    )
    return {
        **{f"loaded_{key}": value for key, value in loaded.items()},
        **{f"loaded_idle_{key}": value for key, value in idle.items()},
    }
