"""A virtual X display for the smoke test: Xvfb, window lookup and key presses (XTEST).

Talks to libX11 and libXtst through ctypes, so the smoke test needs no xdotool or Python X
bindings: just ``xvfb`` and ``libxtst6`` (Debian package names).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

IS_VIEWABLE = 2
REVERT_TO_PARENT = 2
CURRENT_TIME = 0


class WindowAttributes(ctypes.Structure):
    """XWindowAttributes, as Xlib.h lays it out."""

    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong),
        ("c_class", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


class ClassHint(ctypes.Structure):
    """XClassHint: the WM_CLASS property (instance and class name)."""

    _fields_ = [("res_name", ctypes.c_void_p), ("res_class", ctypes.c_void_p)]


@dataclass(frozen=True)
class Window:
    """A viewable top-level window and its WM_CLASS (Qt sets it from the executable's name
    and the application name; its WM_NAME is UTF-8, which Xlib's XFetchName cannot read)."""

    id: int
    wm_class: tuple[str, str]
    width: int
    height: int


def missing_tools() -> list[str]:
    """What the smoke test needs from the system but cannot find, as install hints."""
    missing = []
    if shutil.which("Xvfb") is None:
        missing.append("Xvfb (apt-get install xvfb)")
    if ctypes.util.find_library("X11") is None:
        missing.append("libX11 (apt-get install libx11-6)")
    if ctypes.util.find_library("Xtst") is None:
        missing.append("libXtst (apt-get install libxtst6)")
    return missing


class VirtualDisplay:
    """An Xvfb server on a free display number, with just enough Xlib to drive one app."""

    def __init__(self, width: int = 1280, height: int = 800, number: int | None = None) -> None:
        """``number``: this display number (e.g. 91, away from those others use); default:
        the first free one, as Xvfb picks it."""
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            [
                "Xvfb",
                *([f":{number}"] if number is not None else []),
                "-displayfd",
                str(write_end),
                "-screen",
                "0",
                f"{width}x{height}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as reader:
            number = reader.readline().strip()
        if not number:
            self.process.terminate()
            raise RuntimeError("Xvfb did not start")
        self.name = f":{number}"
        self.x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        self.xtst = ctypes.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
        self._declare()
        self.display = self.x11.XOpenDisplay(self.name.encode())
        if not self.display:
            raise RuntimeError(f"cannot open X display {self.name}")

    def _declare(self) -> None:
        """Argument and result types of the Xlib calls used (64-bit pointers and XIDs)."""
        x = self.x11
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_void_p] * 4
        x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
        x.XGetClassHint.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XStringToKeysym.restype = ctypes.c_ulong
        x.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x.XSetInputFocus.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.xtst.XTestFakeKeyEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_ulong,
        ]

    def top_level_windows(self) -> list[Window]:
        """The viewable children of the root window, with their names."""
        root = self.x11.XDefaultRootWindow(self.display)
        root_out, parent_out = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        count = ctypes.c_uint()
        self.x11.XQueryTree(
            self.display,
            root,
            ctypes.byref(root_out),
            ctypes.byref(parent_out),
            ctypes.byref(children),
            ctypes.byref(count),
        )
        windows = [self._describe(children[i]) for i in range(count.value)]
        if children:
            self.x11.XFree(children)
        return [window for window in windows if window is not None]

    def _describe(self, window_id: int) -> Window | None:
        """A Window for a viewable top-level window, else None."""
        attributes = WindowAttributes()
        self.x11.XGetWindowAttributes(self.display, window_id, ctypes.byref(attributes))
        if attributes.map_state != IS_VIEWABLE:
            return None
        hint = ClassHint()
        names = ("", "")
        if self.x11.XGetClassHint(self.display, window_id, ctypes.byref(hint)):
            names = (self._take_string(hint.res_name), self._take_string(hint.res_class))
        return Window(window_id, names, attributes.width, attributes.height)

    def _take_string(self, pointer: int | None) -> str:
        """A string Xlib allocated, freed after reading."""
        if not pointer:
            return ""
        text = ctypes.string_at(pointer).decode("latin-1")
        self.x11.XFree(pointer)
        return text

    def wait_for_window(self, wm_class: str, timeout: float) -> Window | None:
        """The first viewable top-level window whose WM_CLASS class name is ``wm_class``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for window in self.top_level_windows():
                if window.wm_class[1] == wm_class:
                    return window
            time.sleep(0.05)
        return None

    def type_text(self, window: Window, text: str) -> None:
        """Focus the window and type ``text`` (letters, digits, space) then press Return."""
        self.x11.XSetInputFocus(self.display, window.id, REVERT_TO_PARENT, CURRENT_TIME)
        self.x11.XSync(self.display, 0)
        time.sleep(0.3)
        for char in text:
            self._press("space" if char == " " else char)
        self._press("Return")

    def press_return(self, window: Window) -> None:
        """Focus the window and press Return (send again what the input box holds)."""
        self.x11.XSetInputFocus(self.display, window.id, REVERT_TO_PARENT, CURRENT_TIME)
        self.x11.XSync(self.display, 0)
        self._press("Return")

    def _press(self, key_name: str) -> None:
        """One key press and release through XTEST."""
        keysym = self.x11.XStringToKeysym(key_name.encode())
        keycode = self.x11.XKeysymToKeycode(self.display, keysym)
        self.xtst.XTestFakeKeyEvent(self.display, keycode, 1, 0)
        self.xtst.XTestFakeKeyEvent(self.display, keycode, 0, 0)
        self.x11.XFlush(self.display)
        time.sleep(0.02)

    def close(self) -> None:
        """Disconnect and stop the Xvfb server this object started."""
        if self.display:
            self.x11.XCloseDisplay(self.display)
            self.display = None
        self.process.terminate()
        self.process.wait(timeout=10)
