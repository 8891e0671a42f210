"""Indexing through the documents service: facts found on their page, incremental runs,
changed files re-indexed, bad files reported, cancel, the folder watcher."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from chatdesk.docs.index import bump_vectors_version, insert_vectors
from chatdesk.docs.progress import IndexProgress
from chatdesk.docs.vectors import VectorCache
from chatdesk.services.documents import DocumentsError, DocumentService
from tests.support.pdf_factory import write_damaged_pdf, write_encrypted_pdf


def chunk_ids(service: DocumentService, path: Path) -> list[int]:
    rows = service.index.conn.execute(
        "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.path = ?", [str(path)]
    ).fetchall()
    return [row[0] for row in rows]


def test_the_page_of_a_fact_is_found(service: DocumentService, library: Path) -> None:
    service.add([library], "lib")
    report = service.index_collection("lib")
    assert report.failures == []
    assert report.progress.files_done == 5
    assert report.progress.chunks >= 7
    hits = service.search("How long is the Velta tunnel?", ["lib"])
    assert (hits[0].file, hits[0].page) == (str(library / "report.pdf"), 2)
    minutes = service.search("electric locomotives", ["lib"])[0]
    assert (Path(minutes.file).name, minutes.page) == ("minutes.docx", None)
    assert (minutes.line_start, minutes.line_end) == (1, 3)  # paragraphs 1-3
    roses = service.search("when to prune roses", ["lib"])[0]
    assert Path(roses.file).name == "garden.md"
    assert roses.line_start <= 7 <= roses.line_end


def test_unchanged_files_are_skipped_and_changed_ones_reindexed(
    service: DocumentService, library: Path
) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    notes = library / "notes" / "garden.md"
    before = {p: chunk_ids(service, p) for p in (library / "report.pdf", notes)}

    again = service.index_collection("lib")
    assert (again.progress.files_skipped, again.progress.chunks) == (5, 0)

    notes.write_text("# Garden\n\nPlant the dahlias after the last frost.\n", encoding="utf-8")
    stat = notes.stat()
    os.utime(notes, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = service.index_collection("lib")
    assert third.progress.files_skipped == 4
    assert chunk_ids(service, library / "report.pdf") == before[library / "report.pdf"]
    assert chunk_ids(service, notes) != before[notes]
    assert Path(service.search("dahlias frost", ["lib"])[0].file) == notes
    assert all(Path(h.file) != notes for h in service.search("prune roses", ["lib"]))


def test_a_touched_file_with_the_same_content_is_not_reindexed(
    service: DocumentService, library: Path
) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    pdf = library / "report.pdf"
    ids = chunk_ids(service, pdf)
    os.utime(pdf, ns=(pdf.stat().st_atime_ns, pdf.stat().st_mtime_ns + 5 * 10**9))
    report = service.index_collection("lib")
    assert report.progress.files_skipped == 5
    assert chunk_ids(service, pdf) == ids


def test_deleted_files_leave_the_index(service: DocumentService, library: Path) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    (library / "page.html").unlink()
    service.index_collection("lib")
    assert service.search("Kelso lighthouse", ["lib"]) == []


def test_bad_files_are_listed_with_reasons_and_the_rest_go_on(
    service: DocumentService, library: Path
) -> None:
    write_encrypted_pdf(library / "locked.pdf")
    write_damaged_pdf(library / "broken.pdf")
    (library / "photo.txt").write_bytes(b"\x00\x01\x02binary" * 50)
    with (library / "huge.txt").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    service.add([library], "lib")
    report = service.index_collection("lib")
    reasons = {Path(path).name: reason for path, reason in report.failures}
    assert set(reasons) == {"locked.pdf", "broken.pdf", "photo.txt", "huge.txt"}
    assert "encrypted" in reasons["locked.pdf"]
    assert "too large" in reasons["huge.txt"]
    assert "binary" in reasons["photo.txt"]
    assert "damaged" in reasons["broken.pdf"]
    assert service.search("Velta tunnel", ["lib"])[0].page == 2
    listed = {Path(r.path).name: r.error for r in service.failed_files("lib")}
    assert listed == reasons
    assert service.collections()[0].indexed == 5


def test_progress_reports_files_pages_chunks_and_can_cancel(
    service: DocumentService, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(30):
        (folder / f"doc{n:02d}.txt").write_text(f"Document {n} about item{n}.\n" * 200)
    service.add([folder], "many")
    seen: list[IndexProgress] = []
    cancel = threading.Event()

    def on_progress(progress: IndexProgress) -> None:
        seen.append(progress)
        if progress.files_done >= 3:
            cancel.set()

    report = service.index_collection("many", on_progress, cancel)
    assert report.progress.cancelled
    assert 3 <= report.progress.files_done < 30
    assert seen[-1].finished
    assert seen[-1].files_total == 30
    assert seen[-1].pages == report.progress.files_done
    assert seen[-1].chunks > 0
    assert seen[-1].seconds_left is not None
    resumed = service.index_collection("many")
    assert resumed.progress.files_skipped == report.progress.files_done
    assert {Path(h.file).name for h in service.search("item29", ["many"])} == {"doc29.txt"}
    total = service.index.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert total == resumed.progress.chunks + report.progress.chunks  # no file twice


def test_background_indexing_and_the_watcher_reindex_a_changed_file(
    service: DocumentService, library: Path
) -> None:
    service.add([library], "lib")
    done = threading.Event()
    job = service.start_indexing("lib", on_done=lambda report, error: done.set())
    assert done.wait(30)
    assert job.report is not None
    assert job.error is None
    watcher = service.watch(interval=3600)
    watcher.stop()  # its thread has taken stock (its first poll) and ended: polled by hand
    watcher.poll_once()
    (library / "notes" / "new.md").write_text("The heron nests by the mill pond.\n")
    assert watcher.poll_once() == ["lib"]
    for _ in range(100):
        if service.search("heron mill pond", ["lib"]):
            break
        threading.Event().wait(0.1)
    assert Path(service.search("heron mill pond", ["lib"])[0].file).name == "new.md"


def test_remove_a_folder_or_a_collection(service: DocumentService, library: Path) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    assert service.remove("lib", library / "notes") == 1
    assert service.search("prune roses", ["lib"]) == []
    assert service.remove("lib") == 4
    with pytest.raises(DocumentsError, match="no document collection named 'lib'"):
        service.search("tunnel", ["lib"])
    assert (library / "report.pdf").exists()


def test_a_file_removed_from_a_folder_stays_out_until_added_again(
    service: DocumentService, library: Path
) -> None:
    """``docs rm lib FILE`` on a file inside an added folder: the next update (the window
    runs one at every start) must not index it again; adding it by hand brings it back."""
    garden = library / "notes" / "garden.md"
    service.add([library], "lib")
    service.index_collection("lib")
    assert service.remove("lib", garden) == 1
    assert service.remove("lib", library / "notes") == 0  # the folder has nothing else
    report = service.index_collection("lib")
    assert report.progress.files_total == 4
    assert service.search("prune roses", ["lib"]) == []
    assert service.collections()[0].files == 4
    service.add([garden], "lib")
    service.index_collection("lib")
    assert Path(service.search("prune roses", ["lib"])[0].file) == garden


def test_adding_a_missing_path_is_refused(service: DocumentService, tmp_path: Path) -> None:
    with pytest.raises(DocumentsError, match="no such file or folder"):
        service.add([tmp_path / "nowhere"], "lib")
    assert service.collections() == []


def test_search_stays_inside_the_asked_collection(service: DocumentService, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "safari.md").write_text(
        "Notes from the trip: " + "we saw lions, giraffes and one zebra near the river. " * 3
    )
    crowd = "\n".join("zebra zebra zebra herd " * 40 for _ in range(600))  # 600 strong chunks
    (tmp_path / "b" / "zebras.txt").write_text(crowd)
    service.add([tmp_path / "a"], "A")
    service.add([tmp_path / "b"], "B")
    service.index_collection("A")
    service.index_collection("B")
    in_a = service.search("zebra", ["A"])
    assert [Path(h.file).name for h in in_a] == ["safari.md"]
    in_b = service.search("zebra", ["B"], limit=5)
    assert {Path(h.file).name for h in in_b} == {"zebras.txt"}
    both = service.search("zebra", ["A", "B"], limit=20)
    assert len(both) == 20
    assert {Path(h.file).name for h in both} <= {"safari.md", "zebras.txt"}


def test_warming_loads_the_vectors_before_the_first_query(
    service: DocumentService, library: Path
) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    with service.index.transaction() as conn:  # vectors as an embedding model would store them
        ids = [row[0] for row in conn.execute("SELECT id FROM chunks")]
        insert_vectors(conn, ids, np.eye(len(ids), 8, dtype=np.float32))
        bump_vectors_version(conn)
    service.warm(["lib", "missing"]).join(timeout=30)
    chunk_ids, matrix = service.retriever.vectors.matrix(service.collection("lib"))
    assert sorted(chunk_ids.tolist()) == sorted(ids)
    assert matrix.shape == (len(ids), 8)


def test_the_vector_matrix_is_saved_for_the_next_start_until_the_index_changes(
    service: DocumentService, library: Path, chatdesk_home: Path
) -> None:
    service.add([library], "lib")
    service.index_collection("lib")
    collection = service.collection("lib")
    with service.index.transaction() as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM chunks ORDER BY id")]
        insert_vectors(conn, ids, np.arange(len(ids) * 4, dtype=np.float32).reshape(-1, 4) + 1)
        bump_vectors_version(conn)
    first = service.retriever.vectors.matrix(collection)
    saved = sorted((chatdesk_home / "documents-vectors").glob("*.npz"))
    assert len(saved) == 1
    again = VectorCache(service.index).matrix(collection)  # a new process would do this
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])
    with service.index.transaction() as conn:
        conn.execute("DELETE FROM vectors WHERE chunk_id = ?", [ids[0]])
        bump_vectors_version(conn)
    fresh = VectorCache(service.index).matrix(collection)
    assert ids[0] not in fresh[0].tolist()
    assert sorted((chatdesk_home / "documents-vectors").glob("*.npz")) != saved
