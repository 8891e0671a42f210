"""The incremental detokeniser: whole characters, stop strings held back, leading space."""

from __future__ import annotations

import pytest

from chatdesk.engine.host.detokenize import StreamingText


def stream(pieces: list[bytes], stop: tuple[str, ...] = ()) -> tuple[list[str], StreamingText]:
    text = StreamingText(stop)
    out = [text.push(piece) for piece in pieces]
    out.append(text.finish())
    return [part for part in out if part], text


SAMPLES = ["你好, 世界", "🙂👍🏽 emoji", "naïve café", "mixed 中文 and 🙂"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_characters_split_across_tokens_come_out_whole(sample: str) -> None:
    data = sample.encode("utf-8")
    pieces = [data[i : i + 1] for i in range(len(data))]  # one byte per token: worst case
    parts, _ = stream(pieces)
    assert "".join(parts) == sample
    assert all("\ufffd" not in part for part in parts)


def test_every_delta_is_complete_text_while_streaming() -> None:
    text = StreamingText()
    assert text.push("你".encode()[:2]) == ""  # incomplete: nothing to show yet
    assert text.push("你".encode()[2:] + b"!") == "你!"


def test_invalid_bytes_become_replacement_characters() -> None:
    parts, _ = stream([b"ok ", b"\xff", b" done"])  # a byte that can never be text
    assert "".join(parts) == "ok \ufffd done"


def test_a_reply_cut_off_inside_a_character_ends_before_it() -> None:
    """Eight tokens of Chinese on the starter model ended "灯塔\ufffd": the token limit came
    halfway through the third character's bytes."""
    parts, _ = stream([b"\xe7\x81\xaf\xe5\xa1", b"\x94", b"\xe7\x9c"])  # 灯塔, then half 看
    assert "".join(parts) == "灯塔"


def test_leading_whitespace_of_the_reply_is_dropped() -> None:
    parts, _ = stream([b" ", b"\n", b" Hello", b" world"])
    assert "".join(parts) == "Hello world"


def test_stop_string_split_across_tokens_is_never_shown() -> None:
    parts, text = stream([b"Answer: 4", b"2\nUs", b"er:", b" more"], stop=("\nUser:",))
    assert "".join(parts) == "Answer: 42"
    assert text.stopped


def test_text_that_only_looks_like_a_stop_prefix_is_released() -> None:
    text = StreamingText(stop=("<|end|>",))
    assert text.push(b"a <|e") == "a "  # held back: might be the stop string
    assert text.push(b"xtra") == "<|extra"
    assert text.push(b" <|") == " "
    assert text.finish() == "<|"  # the reply ended for another reason: nothing is lost


def test_earliest_of_several_stop_strings_wins() -> None:
    parts, _ = stream([b"one two three"], stop=("three", "two"))
    assert "".join(parts) == "one "


def test_stop_string_made_of_multibyte_characters() -> None:
    data = "答案是四。用户说".encode()
    parts, text = stream([data[i : i + 2] for i in range(0, len(data), 2)], stop=("用户说",))
    assert "".join(parts) == "答案是四。"
    assert text.stopped


def test_nothing_is_emitted_after_a_stop() -> None:
    text = StreamingText(stop=("STOP",))
    assert text.push(b"go STOP") == "go "
    assert text.push(b"more") == ""
    assert text.finish() == ""


def test_text_that_might_begin_a_stop_is_not_settled() -> None:
    """``settled`` counts the characters out; a token's probabilities wait until it reaches
    ``through`` as it stood after the token (``ProbabilityProbe``)."""
    text = StreamingText(("Marseillaise",))
    assert text.push(b"la") == "la"
    assert text.settled == text.through == 2
    assert text.push(b" Mar") == " "  # "Mar" might begin the stop: held back
    assert (text.settled, text.through) == (3, 6)
    assert text.push(b"seillaise") == ""  # it did: never out
    assert text.finish() == ""
    assert text.settled == 3


def test_held_text_that_is_no_stop_settles_with_its_tokens() -> None:
    text = StreamingText(("Marseillaise",))
    text.push(b"la Mar")
    assert text.push(b"k") == "Mark"
    assert text.settled == text.through == 7


def test_a_character_still_incomplete_is_not_settled() -> None:
    text = StreamingText()
    text.push(b"ok \xf0\x9f")  # half an emoji
    assert (text.settled, text.through) == (3, 4)
    text.push(b"\x90\x89")
    assert text.settled == text.through == 4
    text.push(b"\xf0\x9f")
    through = text.through
    assert text.finish() == ""  # cut off inside it: left out, never settled
    assert (text.settled, through) == (4, 5)
