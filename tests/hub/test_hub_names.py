"""Names from the hub: safety checks and what a GGUF file name says about itself."""

from __future__ import annotations

import pytest

from chatdesk.hub.errors import InvalidNameError
from chatdesk.hub.names import (
    check_gguf_filename,
    check_local_filename,
    check_repo_id,
    parse_quantization,
    split_part,
)


@pytest.mark.parametrize(
    ("filename", "label"),
    [
        ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("Llama-3.2-1B-Instruct-Q8_0.gguf", "Q8_0"),
        ("gemma-2-2b-it-IQ4_XS.gguf", "IQ4_XS"),
        ("Phi-3-mini-4k-instruct-fp16.gguf", "F16"),
        ("Phi-3-mini-4k-instruct-q4.gguf", "Q4"),
        ("model-BF16-00001-of-00002.gguf", "BF16"),
        ("tinyllama-1.1b-chat-v1.0.Q5_K_S.gguf", "Q5_K_S"),
        ("Qwen3-8B-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("sub/dir/x-IQ2_XXS.gguf", "IQ2_XXS"),
        ("llama-3b.gguf", None),
    ],
)
def test_quantisation_label_is_read_from_the_file_name(filename: str, label: str | None) -> None:
    assert parse_quantization(filename) == label


def test_split_parts_are_recognised() -> None:
    part = split_part("big-model-Q8_0-00002-of-00003.gguf")
    assert part is not None
    assert (part.base, part.index, part.total) == ("big-model-Q8_0", 2, 3)
    assert split_part("model-00004-of-00003.gguf") is None
    assert split_part("model.gguf") is None


@pytest.mark.parametrize(
    "filename",
    [
        "../x.gguf",
        "/etc/x.gguf",
        "a/../../x.gguf",
        "a\\..\\x.gguf",
        ".hidden.gguf",
        "x.bin",
        "x.gguf.exe",
        "a//b.gguf",
        "a/./b.gguf",
        "x\n.gguf",
    ],
)
def test_unsafe_or_non_gguf_file_names_are_refused(filename: str) -> None:
    with pytest.raises(InvalidNameError):
        check_gguf_filename(filename)


def test_safe_file_names_pass() -> None:
    assert check_gguf_filename("Q4_K_M/model-Q4_K_M.gguf") == "Q4_K_M/model-Q4_K_M.gguf"


@pytest.mark.parametrize("name", ["小模型.gguf", "modèle.gguf", "Модель 2 (копия).gguf"])
def test_a_users_own_file_may_have_a_name_in_any_script(name: str) -> None:
    assert check_local_filename(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a\\b.gguf", "unsafe file name"),
        ("a\x00b.gguf", "unsafe file name"),
        ("a\x1b[2Jb.gguf", "unsafe file name"),
        ("\udcff.gguf", "not valid text"),
        ("模" * 90 + ".gguf", "bytes long"),
        (".hidden.gguf", "hidden"),
        ("CON.gguf", "Windows reserves"),
        ("小模型.bin", r"only \.gguf"),
    ],
)
def test_local_names_the_library_cannot_hold_are_refused_with_the_reason(
    name: str, reason: str
) -> None:
    with pytest.raises(InvalidNameError, match=reason):
        check_local_filename(name)


@pytest.mark.parametrize(
    "repo_id", ["../x", "a/..", "a", "a/b/c", "/a/b", "a/b/", "a/.b", "a b/c", ""]
)
def test_bad_repo_ids_are_refused(repo_id: str) -> None:
    with pytest.raises(InvalidNameError):
        check_repo_id(repo_id)


def test_real_repo_ids_pass() -> None:
    for repo_id in ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "bartowski/Llama-3.2-1B-Instruct-GGUF"):
        assert check_repo_id(repo_id) == repo_id
