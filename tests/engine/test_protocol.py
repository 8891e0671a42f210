"""The frame protocol: round trips, clean end, corrupt streams."""

from __future__ import annotations

import io
import os

import pytest

from chatdesk.engine import protocol


def test_frames_round_trip_in_order() -> None:
    messages = [{"id": 1, "op": "load"}, {"id": 2, "type": "delta", "text": "你好 🙂"}, {}]
    stream = io.BytesIO(b"".join(protocol.encode_frame(m) for m in messages))
    assert [protocol.read_frame(stream) for _ in messages] == messages
    assert protocol.read_frame(stream) is None


def test_write_frame_fd_writes_whole_frames() -> None:
    read_end, write_end = os.pipe()
    protocol.write_frame_fd(write_end, {"id": 7, "text": "x" * 10000})
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert protocol.read_frame(reader) == {"id": 7, "text": "x" * 10000}


def test_stream_ending_inside_a_frame_is_an_error() -> None:
    frame = protocol.encode_frame({"id": 1})
    with pytest.raises(protocol.ProtocolError, match="inside a frame"):
        protocol.read_frame(io.BytesIO(frame[:-2]))


def test_oversized_frame_header_is_rejected_without_allocating() -> None:
    header = protocol.HEADER.pack(protocol.MAX_FRAME_BYTES + 1)
    with pytest.raises(protocol.ProtocolError, match="larger than"):
        protocol.read_frame(io.BytesIO(header))


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"[1, 2]", b"{not json"])
def test_payload_that_is_not_a_json_object_is_an_error(payload: bytes) -> None:
    stream = io.BytesIO(protocol.HEADER.pack(len(payload)) + payload)
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(stream)
