"""Keyword search in Chinese, Japanese and Korean, whose words no space separates: before,
a sentence was one token of the full-text index and no question found anything in it (a
keywords-only collection of Chinese documents answered every question with no passage)."""

# ruff: noqa: RUF001 - Chinese and Japanese punctuation in their own text, on purpose
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatdesk.docs.index_db import SCHEMA_VERSION, documents_db_path
from chatdesk.docs.keywords import query_terms
from chatdesk.services.documents import DocumentService
from chatdesk.store.unspaced import spaced

FILES = {
    "灯塔.txt": "灯塔看守人名叫林海。他每天早上检查灯塔的灯，晚上记录过往的船只。",
    "果园.txt": "果园里种着苹果树和梨树。秋天的时候，村里的人一起摘水果。",
    "灯台.txt": "灯台守の名前は佐藤です。毎朝、灯台のランプを点検します。",
    "등대.txt": "등대지기의 이름은 김민수입니다. 그는 매일 아침 등대를 점검합니다.",
    "keeper.md": "# The keeper\n\nThe lighthouse keeper was named Ottoline.\n",
}
QUESTIONS = {
    "灯塔看守人叫什么名字？": "灯塔.txt",
    "秋天摘什么水果？": "果园.txt",
    "灯台守の名前は？": "灯台.txt",
    "등대지기의 이름은?": "등대.txt",
    "Who was the lighthouse keeper?": "keeper.md",
}


@pytest.fixture
def asian_library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    return folder


def test_questions_in_chinese_japanese_and_korean_find_their_document(
    service: DocumentService, asian_library: Path
) -> None:
    service.add([asian_library], "lib")
    service.index_collection("lib")
    for question, expected in QUESTIONS.items():
        hits = service.search(question, ["lib"])
        assert hits, question
        assert Path(hits[0].file).name == expected, (question, [h.file for h in hits])
    context = service.context_for("灯塔看守人叫什么名字？", ["lib"], n_ctx=64)  # too small for all
    assert not context.whole
    assert "林海" in context.passages[0].text


def test_the_index_spaces_out_those_characters_and_a_question_searches_their_pairs() -> None:
    assert spaced("GPT模型") == "GPT 模  型 "
    assert spaced("plain English") == "plain English"
    assert query_terms("灯塔看守") == ["灯 塔", "塔 看", "看 守"]
    assert query_terms("GPT模型") == ["gpt", "模 型"]
    assert query_terms("海") == ["海"]
    assert query_terms("이름은") == ["이 름", "름 은"]  # not decomposed into letters
    assert query_terms("ガイド") == ["ガ イ", "イ ド"]  # the voicing mark kept


def test_an_index_of_version_1_is_upgraded_when_opened(
    chatdesk_home: Path, asian_library: Path
) -> None:
    """An index written before version 2 held each Chinese sentence as one token: opening
    it fills the full-text index again, once, and deleting a file afterwards still works."""
    service = DocumentService(chatdesk_home)
    service.add([asian_library], "lib")
    service.index_collection("lib")
    service.close()
    downgrade_to_version_1(documents_db_path(chatdesk_home))
    service = DocumentService(chatdesk_home)
    try:
        version = service.index.conn.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'"
        ).fetchone()[0]
        assert int(version) == SCHEMA_VERSION == 2
        assert Path(service.search("灯塔看守人叫什么名字？", ["lib"])[0].file).name == "灯塔.txt"
        (asian_library / "灯塔.txt").unlink()
        service.index_collection("lib")  # the file's chunks leave the full-text index too
        assert all(Path(h.file).name != "灯塔.txt" for h in service.search("灯塔", ["lib"]))
        assert Path(service.search("果园", ["lib"])[0].file).name == "果园.txt"
    finally:
        service.close()


def downgrade_to_version_1(path: Path) -> None:
    """The index as version 1 wrote it: its triggers, and the chunk text indexed as is."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        DROP TRIGGER chunks_fts_insert;
        DROP TRIGGER chunks_fts_delete;
        CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
        """
    )
    conn.close()
    check = sqlite3.connect(path)
    found = check.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH '\"灯\"'")
    assert found.fetchone()[0] == 0  # as before: no Chinese character is a token of its own
    check.close()
