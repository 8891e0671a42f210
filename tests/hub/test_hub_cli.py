"""``chatdesk models ...`` end to end: real parser, real hub client, the 127.0.0.1 hub."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import HostedRepo, TestHub

from chatdesk import paths
from chatdesk.cli.main import main
from chatdesk.cli.model_commands import ProgressPrinter
from chatdesk.cli.terminal_text import display_width
from chatdesk.gguf_metadata import TruncatedGGUFError, validate_gguf
from chatdesk.hub.download import DownloadProgress
from tests.support.gguf_factory import write_truncated


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_list_on_an_empty_library_says_how_to_get_models(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "models", "list")
    assert status == 0
    assert "chatdesk models catalogue" in out
    assert run(capsys, "models", "list", "--json")[1].strip() == "[]"


def test_import_then_list_json_shows_header_metadata(
    capsys: pytest.CaptureFixture[str], tiny_model_path: Path
) -> None:
    status, out, _ = run(capsys, "models", "import", str(tiny_model_path))
    assert (status, out.strip()) == (0, f"imported local/{tiny_model_path.name}")

    status, out, _ = run(capsys, "models", "list", "--json")
    (record,) = json.loads(out)
    assert record["name"] == f"local/{tiny_model_path.name}"
    assert record["architecture"] == "llama"
    assert record["chat_template"] is True
    assert record["parameter_count"] > 0
    assert record["problem"] is None

    status, out, _ = run(capsys, "models", "rm", record["name"])
    assert (status, out.strip()) == (0, f"deleted {record['name']}")
    assert run(capsys, "models", "list", "--json")[1].strip() == "[]"


@pytest.mark.parametrize("name", ["小模型.gguf", "modèle.gguf"])
def test_a_file_with_a_non_ascii_name_imports_lists_and_deletes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_path: Path, name: str
) -> None:
    source = tmp_path / "用户 目录" / name
    source.parent.mkdir()
    source.write_bytes(tiny_model_path.read_bytes())

    status, out, err = run(capsys, "models", "import", str(source))
    assert (status, out.strip(), err) == (0, f"imported local/{name}", "")
    (record,) = json.loads(run(capsys, "models", "list", "--json")[1])
    assert (record["name"], record["problem"]) == (f"local/{name}", None)
    assert run(capsys, "models", "rm", name)[:2] == (0, f"deleted local/{name}\n")
    assert run(capsys, "models", "list", "--json")[1].strip() == "[]"


def test_a_truncated_model_lists_with_the_reason_the_loader_gives(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cut = write_truncated(tmp_path / "cut.gguf")
    with pytest.raises(TruncatedGGUFError) as refused:
        validate_gguf(cut)
    reason = f"not a usable GGUF file: {refused.value.reason}"

    status, _, err = run(capsys, "models", "import", str(cut))
    assert (status, err) == (0, f"warning: {reason}\n")
    (record,) = json.loads(run(capsys, "models", "list", "--json")[1])
    assert record["problem"] == reason
    assert f"  ! {reason}" in run(capsys, "models", "list")[1].splitlines()


def test_list_columns_line_up_by_display_width_and_problems_do_not_widen_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model_path: Path
) -> None:
    for name in ("小模型.gguf", "abcdefgh.gguf"):
        (tmp_path / name).write_bytes(tiny_model_path.read_bytes())
        run(capsys, "models", "import", str(tmp_path / name))
    run(capsys, "models", "import", str(write_truncated(tmp_path / "cut.gguf")))

    header, *lines = run(capsys, "models", "list")[1].splitlines()
    size_column = display_width(header[: header.index("SIZE")])
    assert size_column == len("local/abcdefgh.gguf  ")  # the longest name, not the "!" line
    rows = [line for line in lines if not line.startswith("  ! ")]
    assert len(rows) == 3
    for row in rows:  # "小模型" takes six cells: its SIZE still starts in the same cell
        size_at = re.search(r"\s\s(?=\d)", row).end()  # type: ignore[union-attr]
        assert display_width(row[:size_at]) == size_column


def test_bad_import_is_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"nope")
    status, _, err = run(capsys, "models", "import", str(junk))
    assert status == 1
    assert err == "chatdesk: error: junk.gguf is not a GGUF file (bad magic bytes)\n"


def test_catalogue_marks_one_recommendation(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "models", "catalogue")
    assert status == 0
    assert "chatdesk models download Qwen/Qwen2.5-0.5B-Instruct-GGUF Q4_K_M" in out
    records = json.loads(run(capsys, "models", "catalogue", "--json")[1])
    assert sum(record["recommended"] for record in records) <= 1


def test_search_and_files_against_the_hub(
    capsys: pytest.CaptureFixture[str], small_repo: HostedRepo
) -> None:
    status, out, _ = run(capsys, "models", "search", "tiny", "--sort", "likes")
    assert status == 0
    assert "test-org/Tiny-Chat-GGUF" in out

    status, out, _ = run(capsys, "models", "files", small_repo.repo_id)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["FILE", "QUANT", "SIZE", "FIT", "PARTS"]
    assert any(
        line.split()[:2] == ["big/tiny-chat-F16-00001-of-00003.gguf", "F16"] for line in lines
    )
    assert not any("README" in line for line in lines)


def test_download_by_quantisation_prints_progress_lines_and_the_path(
    capsys: pytest.CaptureFixture[str], small_repo: HostedRepo
) -> None:
    status, out, err = run(capsys, "models", "download", small_repo.repo_id, "Q8_0")

    target = paths.models_dir() / "test-org" / "Tiny-Chat-GGUF" / "tiny-chat-Q8_0.gguf"
    assert (status, out.strip()) == (0, str(target))
    assert "tiny-chat-Q8_0.gguf: 100% of 500 kB" in err
    assert target.read_bytes() == small_repo.files["tiny-chat-Q8_0.gguf"]


def test_download_of_a_split_model_fetches_every_part(
    capsys: pytest.CaptureFixture[str], small_repo: HostedRepo
) -> None:
    status, _, _ = run(capsys, "models", "download", small_repo.repo_id, "F16")

    assert status == 0
    (model,) = json.loads(run(capsys, "models", "list", "--json")[1])
    assert model["shards"] == 3
    assert model["size_bytes"] == 190_000


def test_hub_errors_are_one_line(capsys: pytest.CaptureFixture[str], online_hub: TestHub) -> None:
    status, _, err = run(capsys, "models", "files", "nobody/Missing-GGUF")
    assert status == 1
    assert err.count("\n") == 1
    assert "not found on the hub" in err

    status, _, err = run(capsys, "models", "download", "nobody/../x", "a.gguf")
    assert status == 1
    assert "not a valid repository id" in err


def test_offline_mode_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "models", "search", "qwen")
    assert status == 1
    assert err.startswith("chatdesk: error: offline mode: HF_HUB_OFFLINE is set")


def test_rm_of_an_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "models", "rm", "nothing.gguf")
    assert status == 1
    assert "no local model named 'nothing.gguf'" in err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_redrawn_bar_on_a_terminal() -> None:
    terminal = FakeTerminal()
    printer = ProgressPrinter(terminal, "m.gguf")
    printer(DownloadProgress("a/b", "m.gguf", 500, 1000, 2_000_000.0, 0.5))
    printer(DownloadProgress("a/b", "m.gguf", 1000, 1000, 2_000_000.0, 0.0))
    printer.finish()

    frames = terminal.getvalue().split("\r")[1:]
    assert frames[0].startswith("m.gguf [###############---------------]  50% 500 B 2 MB/s")
    assert frames[-1].startswith("m.gguf [##############################] 100%")
    assert terminal.getvalue().endswith("\n")


def test_local_commands_never_touch_the_network(
    capsys: pytest.CaptureFixture[str], online_hub: TestHub, tiny_model_path: Path
) -> None:
    for argv in (
        ["models", "catalogue"],
        ["models", "import", str(tiny_model_path)],
        ["models", "list", "--json"],
        ["models", "rm", tiny_model_path.name],
    ):
        assert run(capsys, *argv)[0] == 0
    assert online_hub.requests == []
