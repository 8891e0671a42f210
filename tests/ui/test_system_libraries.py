"""The start check of the system libraries Qt's X11 plugin needs: a clear message, not Qt's."""

from __future__ import annotations

import sys

import pytest

from chatdesk.ui import system_libraries

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the X11 plugin is Linux's")


def test_present_libraries_pass_and_absent_ones_are_named_with_their_package() -> None:
    names = {"libc.so.6": "libc6", "libchatdesk-nowhere.so.9": "chatdesk-nowhere9"}
    missing = system_libraries.missing_libraries(names)
    assert missing == ["libchatdesk-nowhere.so.9"]
    message = system_libraries.advice(missing, names)
    assert "libchatdesk-nowhere.so.9" in message
    assert "sudo apt-get install chatdesk-nowhere9" in message


@pytest.mark.parametrize(
    ("environ", "xcb"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
        ({}, False),
    ],
)
def test_only_an_x11_start_is_checked(environ: dict[str, str], xcb: bool) -> None:
    assert system_libraries.uses_xcb(environ) is xcb
