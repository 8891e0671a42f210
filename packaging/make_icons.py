"""Render resources/icons/chatdesk.svg into every icon file the installers need.

Writes ``resources/icons/png/chatdesk-<size>.png`` (16 to 512 pixels), ``chatdesk.ico``
(Windows) and ``chatdesk.icns`` (macOS). The SVG is rendered with QtSvg on the offscreen
platform, so no display is needed; the .ico and .icns containers are written here directly,
both with PNG payloads (supported since Windows Vista and macOS 10.7).

Usage: python packaging/make_icons.py [--check]
``--check`` renders into memory and fails if the committed files differ from the SVG.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ICON_DIR = REPO / "resources" / "icons"
SVG_PATH = ICON_DIR / "chatdesk.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns entry types with PNG payloads, by pixel size (the @2x types reuse the larger render).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def png_path(size: int) -> Path:
    """Where the PNG of one size lives in the repository."""
    return ICON_DIR / "png" / f"chatdesk-{size}.png"


def render_pngs(svg_path: Path, sizes: set[int]) -> dict[int, bytes]:
    """Render the SVG at each size (square, transparent background) and return PNG bytes."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot render {svg_path}")
    rendered: dict[int, bytes] = {}
    for size in sorted(sizes):
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        rendered[size] = bytes(data.data())
    del app
    return rendered


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico: ICONDIR header, one 16-byte entry per image, then the PNG payloads."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, payloads = [], []
    for size in sizes:
        payload = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256 in the one-byte width/height fields
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(payload), offset))
        payloads.append(payload)
        offset += len(payload)
    return header + b"".join(entries) + b"".join(payloads)


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns: 'icns' + total length, then (type, length incl. 8-byte header, PNG)."""
    body = b"".join(
        kind + struct.pack(">I", len(pngs[size]) + 8) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def wanted_files(svg_path: Path) -> dict[Path, bytes]:
    """Every generated file and its expected content."""
    sizes = set(PNG_SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    pngs = render_pngs(svg_path, sizes)
    files = {png_path(size): pngs[size] for size in PNG_SIZES}
    files[ICON_DIR / "chatdesk.ico"] = ico_bytes({size: pngs[size] for size in ICO_SIZES})
    files[ICON_DIR / "chatdesk.icns"] = icns_bytes(pngs)
    return files


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the generated icon files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    files = wanted_files(SVG_PATH)
    stale = [path for path, data in files.items() if not path.exists() or path.read_bytes() != data]
    if args.check:
        for path in stale:
            print(f"make_icons: out of date: {path.relative_to(REPO)}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
        print(f"wrote {path.relative_to(REPO)} ({len(files[path])} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
