"""The local library: listing, split models, imports, deletes, HF cache, models used by path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import HostedRepo, gguf_bytes, write_tiny_gguf
from huggingface_hub import hf_hub_download

from chatdesk import paths
from chatdesk.hub import registry
from chatdesk.hub.errors import LibraryError
from chatdesk.hub.library import Library


def models_root() -> Path:
    return paths.models_dir()


def test_empty_library_lists_nothing(tmp_path: Path) -> None:
    assert Library(hf_cache_dir=tmp_path / "no-cache").list_models() == []


def test_library_lists_by_repo_and_groups_split_models(tmp_path: Path) -> None:
    root = models_root()
    write_tiny_gguf(root / "org" / "Repo-GGUF" / "m-Q4_K_M.gguf")
    for index in (1, 2):
        (root / "org" / "Repo-GGUF" / f"big-Q8_0-0000{index}-of-00002.gguf").write_bytes(
            gguf_bytes(100)
        )
    (root / "org" / "Repo-GGUF" / "notes.txt").write_text("not a model")
    (root / ".downloads" / "org" / "Repo-GGUF").mkdir(parents=True)
    (root / ".downloads" / "org" / "Repo-GGUF" / "x.gguf.partial").write_bytes(b"GGUF")
    (root / ".downloads" / "org" / "Repo-GGUF" / "y.gguf").write_bytes(b"GGUF")

    models = Library(hf_cache_dir=tmp_path / "none").list_models(with_metadata=False)

    assert [(m.name, m.shards, m.repo_id, m.quantization) for m in models] == [
        ("org/Repo-GGUF/big-Q8_0-00001-of-00002.gguf", 2, "org/Repo-GGUF", "Q8_0"),
        ("org/Repo-GGUF/m-Q4_K_M.gguf", 1, "org/Repo-GGUF", "Q4_K_M"),
    ]
    assert models[0].size_bytes == 200
    assert all(m.problem is None for m in models)


def test_split_model_missing_a_shard_is_flagged(tmp_path: Path) -> None:
    folder = models_root() / "org" / "R"
    folder.mkdir(parents=True)
    (folder / "big-00001-of-00003.gguf").write_bytes(gguf_bytes(10))
    (folder / "big-00003-of-00003.gguf").write_bytes(gguf_bytes(10))

    (model,) = Library(hf_cache_dir=tmp_path / "none").list_models()

    assert model.problem == "missing shard(s) 2 of 3"


def test_import_copy_hardlink_and_symlink(tmp_path: Path) -> None:
    library = Library(hf_cache_dir=tmp_path / "none")
    sources = [
        write_tiny_gguf(tmp_path / f"src-{mode}.gguf") for mode in ("copy", "hardlink", "symlink")
    ]

    copied = library.import_file(sources[0], "copy")
    linked = library.import_file(sources[1], "hardlink")
    symlinked = library.import_file(sources[2], "symlink")

    assert copied.name == "local/src-copy.gguf"
    assert copied.path.read_bytes() == sources[0].read_bytes()
    assert not copied.path.is_symlink()
    assert os.path.samefile(linked.path, sources[1])
    assert symlinked.path.is_symlink()
    assert [m.name for m in library.list_models()] == [
        "local/src-copy.gguf",
        "local/src-hardlink.gguf",
        "local/src-symlink.gguf",
    ]


def test_import_refuses_non_gguf_files_and_name_clashes(tmp_path: Path) -> None:
    library = Library(hf_cache_dir=tmp_path / "none")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip file")
    text = tmp_path / "model.bin"
    text.write_bytes(b"GGUF")

    with pytest.raises(LibraryError, match="not a GGUF file"):
        library.import_file(fake)
    with pytest.raises(LibraryError, match=r"only \.gguf"):
        library.import_file(text)
    with pytest.raises(LibraryError, match="no such file"):
        library.import_file(tmp_path / "missing.gguf")
    first = write_tiny_gguf(tmp_path / "a" / "same.gguf")
    second = write_tiny_gguf(tmp_path / "b" / "same.gguf", context_length=4096)
    library.import_file(first)
    with pytest.raises(LibraryError, match="already in the library"):
        library.import_file(second)
    assert [m.name for m in library.list_models()] == ["local/same.gguf"]


def test_import_brings_every_shard_of_a_split_model(tmp_path: Path) -> None:
    for index in (1, 2):
        (tmp_path / f"s-0000{index}-of-00002.gguf").write_bytes(gguf_bytes(64, index))

    model = Library(hf_cache_dir=tmp_path / "none").import_file(tmp_path / "s-00001-of-00002.gguf")

    assert model.shards == 2
    assert sorted(p.name for p in (models_root() / "local").iterdir()) == [
        "s-00001-of-00002.gguf",
        "s-00002-of-00002.gguf",
    ]


def test_listing_reads_header_metadata_and_flags_broken_files(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    library = Library(hf_cache_dir=tmp_path / "none")
    library.import_file(tiny_model_path)
    broken = models_root() / "org" / "R" / "broken-Q4_0.gguf"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(tiny_model_path.read_bytes()[:200])

    good, bad = sorted(library.list_models(), key=lambda m: m.name.startswith("org"))

    assert good.metadata is not None
    assert good.metadata.architecture == "llama"
    assert good.metadata.has_chat_template
    assert good.metadata.parameter_count > 0
    assert good.problem is None
    assert bad.metadata is None
    assert bad.problem is not None
    assert bad.problem.startswith("not a usable GGUF file")


def test_delete_removes_every_shard_and_empty_folders(tmp_path: Path) -> None:
    folder = models_root() / "org" / "R"
    folder.mkdir(parents=True)
    for index in (1, 2):
        (folder / f"big-0000{index}-of-00002.gguf").write_bytes(gguf_bytes(10))
    keep = write_tiny_gguf(models_root() / "org" / "Other" / "keep.gguf")
    library = Library(hf_cache_dir=tmp_path / "none")

    library.delete("org/R/big-00001-of-00002.gguf")

    assert not (models_root() / "org" / "R").exists()
    assert keep.exists()
    with pytest.raises(LibraryError, match="no local model named"):
        library.delete("org/R/big-00001-of-00002.gguf")


def test_models_used_by_path_are_remembered_and_forgotten(tmp_path: Path) -> None:
    outside = write_tiny_gguf(tmp_path / "elsewhere" / "mine.gguf")
    library = Library(hf_cache_dir=tmp_path / "none")

    library.remember_used(outside)
    (model,) = library.list_models()

    assert (model.source, model.path) == ("used", outside.resolve())
    assert json.loads(registry.registry_path().read_text())["used"][0]["path"] == str(
        outside.resolve()
    )
    library.delete(str(outside.resolve()))
    assert outside.exists()  # only forgotten, never deleted
    assert library.list_models() == []


def test_a_deleted_library_model_once_loaded_does_not_list_again_as_missing(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    library = Library(hf_cache_dir=tmp_path / "none")
    imported = library.import_file(tiny_model_path)
    library.remember_used(imported.path)  # every load records the path

    library.delete(imported.name)

    assert library.list_models() == []


def test_a_used_model_that_vanished_is_flagged(tmp_path: Path) -> None:
    gone = write_tiny_gguf(tmp_path / "gone.gguf")
    library = Library(hf_cache_dir=tmp_path / "none")
    library.remember_used(gone)
    gone.unlink()

    (model,) = library.list_models()

    assert model.problem == "file not found"


def test_a_corrupt_registry_is_set_aside_not_lost(tmp_path: Path) -> None:
    registry.registry_path().parent.mkdir(parents=True, exist_ok=True)
    registry.registry_path().write_text("{broken")

    assert registry.used_models() == []

    kept = list(registry.registry_path().parent.glob("library.json.corrupt-*"))
    assert [path.read_text() for path in kept] == ["{broken"]


def test_gguf_files_in_the_hugging_face_cache_are_discovered(
    small_repo: HostedRepo, tmp_path: Path
) -> None:
    cache = tmp_path / "hf-cache"
    hf_hub_download(small_repo.repo_id, "tiny-chat-Q8_0.gguf", cache_dir=cache)
    hf_hub_download(small_repo.repo_id, "README.md", cache_dir=cache)

    models = Library(hf_cache_dir=cache).list_models(with_metadata=False)

    assert [(m.name, m.source, m.repo_id) for m in models] == [
        (
            "hf-cache/test-org/Tiny-Chat-GGUF/tiny-chat-Q8_0.gguf",
            "hf-cache",
            "test-org/Tiny-Chat-GGUF",
        )
    ]
    assert models[0].path.read_bytes() == small_repo.files["tiny-chat-Q8_0.gguf"]
    with pytest.raises(LibraryError, match="Hugging Face cache"):
        Library(hf_cache_dir=cache).delete(models[0].name)
