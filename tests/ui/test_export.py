"""Export (Ctrl+E Markdown, JSON, all to a folder) and JSON import from the window."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from chatdesk.ui.main_window import MainWindow
from tests.support.scripted_engine import ScriptedEngine

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def window_with_chat(make_window: MakeWindow) -> MainWindow:
    """A window showing a short conversation with a code block."""
    window = make_window(ScriptedEngine)
    store = window.services.store
    conversation = store.create_conversation(title="Sorting lists")
    store.append_message(conversation.id, "user", "How do I sort a list?")
    store.append_message(conversation.id, "assistant", "Use `sorted`:\n\n```python\nsorted(x)\n```")
    window.refresh_sidebar()
    window.open_conversation(conversation.id)
    return window


def test_ctrl_e_exports_markdown(
    qtbot: QtBot, window_with_chat: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.md"
    suggested: list[str] = []

    def save_dialog(_parent: object, _title: str, name: str, _filter: str) -> tuple[str, str]:
        suggested.append(name)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    qtbot.keyClick(window_with_chat, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert suggested[0].endswith("Sorting lists.md")
    text = target.read_text(encoding="utf-8")
    assert "Sorting lists" in text
    assert "How do I sort a list?" in text
    assert "sorted(x)" in text


def test_export_json_and_import_it_back(
    qtbot: QtBot, window_with_chat: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "chat.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a: (str(target), ""))
    window_with_chat.files.export_json()
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["conversations"][0]["title"] == "Sorting lists"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a: (str(target), ""))
    before = window_with_chat.services.store.count_conversations()
    window_with_chat.files.import_json()
    assert window_with_chat.services.store.count_conversations() == before + 1
    assert window_with_chat.chat_view.messages[0].content == "How do I sort a list?"


def test_bad_import_writes_nothing_and_says_why(
    qtbot: QtBot, window_with_chat: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"conversations": [{"title": "x", "messages": [{"role": "user"}]}]}')
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a: (str(bad), ""))
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    before = window_with_chat.services.store.count_conversations()
    window_with_chat.files.import_json()
    assert window_with_chat.services.store.count_conversations() == before
    assert "Nothing was imported" in warnings[0]
    assert "content" in warnings[0]


def test_export_all_to_folder(
    qtbot: QtBot, window_with_chat: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a: str(folder))
    window_with_chat.files.export_all()
    names = sorted(p.name for p in folder.iterdir())
    assert "Sorting lists.md" in names
    assert len(names) == window_with_chat.services.store.count_conversations()
