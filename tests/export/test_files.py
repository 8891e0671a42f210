"""Exporting to disk: safe file names, export-all to a folder, unwritable paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatdesk.export import ExportError, export_all, export_conversation, import_file
from chatdesk.export.filenames import MAX_NAME_BYTES, unique_file_name
from chatdesk.store import Conversation, Store


def name(title: str, taken: set[str] | None = None, extension: str = "md") -> str:
    return unique_file_name(title, extension, set() if taken is None else taken)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Trip plan", "Trip plan.md"),
        ("../../etc/passwd", "_.._etc_passwd.md"),
        ("..", "Untitled.md"),
        ("", "Untitled.md"),
        ("   ", "Untitled.md"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j.md"),
        ("CON", "_CON.md"),
        ("nul.txt", "_nul.txt.md"),
        ("com1", "_com1.md"),
        ("LPT9 ", "_LPT9.md"),
        ("CONSOLE", "CONSOLE.md"),
        ("Café ☕ 日本語 👨‍👩‍👧", "Café ☕ 日本語 👨‍👩‍👧.md"),
        ("line\nbreak\ttab", "line break tab.md"),
        ("bell\x07 and rtl\u202eoverride", "bell_ and rtl_override.md"),
        ("trailing dots...", "trailing dots.md"),
        (".hidden", "hidden.md"),
        ("Cafe\u0301", "Café.md"),  # NFC
    ],
)
def test_safe_names(title: str, expected: str) -> None:
    assert name(title) == expected


def test_duplicates_are_numbered_case_insensitively() -> None:
    taken: set[str] = set()
    names = [name(title, taken) for title in ("Chat", "chat", "CHAT", "Chat (2)")]
    assert names == ["Chat.md", "chat (2).md", "CHAT (3).md", "Chat (2) (2).md"]


def test_long_titles_are_capped_without_breaking_characters() -> None:
    taken: set[str] = set()
    long_title = "日本語" * 100
    first, second = name(long_title, taken), name(long_title, taken)
    for result in (first, second):
        assert len(result.encode("utf-8")) <= MAX_NAME_BYTES
        result.encode("utf-8").decode("utf-8")
    assert second.endswith(" (2).md")
    assert first != second


def test_export_all_writes_one_file_each(store: Store, nasty: Conversation, tmp_path: Path) -> None:
    store.create_conversation("../escape")
    store.create_conversation(nasty.title)
    folder = tmp_path / "out" / "nested"
    written = export_all(store, "json", folder)
    assert len(written) == 3
    assert all(path.parent == folder for path in written)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)
    assert len({p.name.casefold() for p in written}) == 3
    for path in written:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert len(data["conversations"]) == 1


def test_export_all_never_overwrites(store: Store, nasty: Conversation, tmp_path: Path) -> None:
    mine = tmp_path / "Plan.md"
    mine.write_text("my own notes", encoding="utf-8")
    store.create_conversation("Plan")
    written = export_all(store, "md", tmp_path)
    assert mine.read_text(encoding="utf-8") == "my own notes"
    assert "Plan (2).md" in {p.name for p in written}


def test_exported_json_files_import_back(
    store: Store, fresh_store: Store, nasty: Conversation, tmp_path: Path
) -> None:
    for path in export_all(store, "json", tmp_path / "all"):
        import_file(fresh_store, path)
    assert fresh_store.get_conversation(nasty.id) == nasty


def test_unwritable_paths(store: Store, nasty: Conversation, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        export_conversation(store, nasty.id, "md", blocker / "out.md")
    with pytest.raises(ExportError, match="cannot write to folder"):
        export_all(store, "md", blocker / "folder")
    with pytest.raises(ExportError, match="it is a folder"):
        export_conversation(store, nasty.id, "md", tmp_path)
    with pytest.raises(ExportError, match="unknown export format 'pdf'"):
        export_conversation(store, nasty.id, "pdf", tmp_path / "x.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "export-test.db",
        "export-test.db-shm", "export-test.db-wal"]  # fmt: skip


def test_single_export_replaces_the_target_atomically(
    store: Store, nasty: Conversation, tmp_path: Path
) -> None:
    target = tmp_path / "chat.md"
    target.write_text("old", encoding="utf-8")
    export_conversation(store, nasty.id, "md", target)
    assert target.read_text(encoding="utf-8").startswith("---\ntitle:")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".chatdesk-")]
