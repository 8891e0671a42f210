"""Cycles are collected on the GUI thread, never on the worker that happened to allocate."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import ClassVar

import pytest
from pytestqt.qtbot import QtBot

from chatdesk.ui.collector import GuiThreadCollector


class Cycle:
    """An object in a reference cycle that notes the thread it is freed on."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


@pytest.fixture
def collector(qtbot: QtBot) -> Iterator[GuiThreadCollector]:
    was_enabled = gc.isenabled()
    running = GuiThreadCollector(interval_ms=20)
    running.start()
    yield running
    running.stop()
    if not was_enabled:
        gc.disable()


def allocate_many(into: list[object]) -> None:
    """What an import does: enough lasting container objects to pass every generation's
    threshold."""
    into.extend([i] for i in range(200_000))


def test_a_cycle_dropped_while_a_worker_allocates_is_freed_on_the_gui_thread(
    collector: GuiThreadCollector, qtbot: QtBot
) -> None:
    Cycle.freed_on.clear()
    cycle = Cycle()
    alive = weakref.ref(cycle)
    del cycle
    kept: list[object] = []
    worker = threading.Thread(target=allocate_many, args=(kept,), name="worker")
    worker.start()
    worker.join()
    assert alive() is not None  # the worker's allocations collected nothing
    qtbot.waitUntil(lambda: alive() is None, timeout=5000)
    assert Cycle.freed_on == [threading.main_thread().name]
    assert collector.collected > 0


def test_stop_hands_collection_back_to_python(collector: GuiThreadCollector) -> None:
    assert not gc.isenabled()
    collector.stop()
    assert gc.isenabled()
