"""Before the window opens on Linux: the system libraries Qt's X11 plugin loads, checked.

The bundled app carries Qt, but Qt's xcb platform plugin links libraries every desktop has
and a minimal install may lack (OpenGL/EGL, fontconfig, the xcb helpers). Without one of
them Qt stops with "Could not load the Qt platform plugin xcb", which names neither the
library nor the package. ``missing_libraries`` tries to load each (the way the plugin will,
so a copy inside the bundle counts) and ``advice`` names the Debian/Ubuntu packages.
Checked only on Linux, when the platform will be xcb.
"""

from __future__ import annotations

import ctypes
import os
import sys

# soname -> Debian/Ubuntu package
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
}


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """True when Qt will pick its X11 plugin here."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return False
    return bool(env.get("DISPLAY")) and not (env.get("WAYLAND_DISPLAY") and not platform)


def missing_libraries(names: dict[str, str] = XCB_LIBRARIES) -> list[str]:
    """The sonames among ``names`` that cannot be loaded."""
    missing = []
    for soname in names:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def advice(missing: list[str], names: dict[str, str] = XCB_LIBRARIES) -> str:
    """One message naming the libraries and the packages that provide them."""
    packages = " ".join(names[soname] for soname in missing)
    return (
        f"ChatDesk's window needs system libraries this computer lacks: {', '.join(missing)}. "
        f"On Debian or Ubuntu: sudo apt-get install {packages} "
        "(the command line works without them)."
    )
