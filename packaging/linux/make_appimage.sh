#!/usr/bin/env bash
# Turn dist/chatdesk/ into dist/ChatDesk-<version>-<arch>.AppImage with appimagetool
# (https://github.com/AppImage/appimagetool; not packaged by Debian: put it on PATH).
#
#   packaging/linux/make_appimage.sh VERSION
#
# AppDir layout: AppRun starts usr/lib/chatdesk/chatdesk with the same arguments, so the
# AppImage also takes the whole command line (./ChatDesk.AppImage ask MODEL "hi").
# Signing: with CHATDESK_GPG_KEY set, appimagetool embeds a GPG signature (--sign).
set -euo pipefail

cd "$(dirname "$0")/../.."
version=${1:?usage: make_appimage.sh VERSION}
arch=$(uname -m)
appdir=build/AppDir
command -v appimagetool >/dev/null || { echo "make_appimage.sh: appimagetool not on PATH" >&2; exit 1; }
[[ -x dist/chatdesk/chatdesk ]] || { echo "make_appimage.sh: build dist/chatdesk first" >&2; exit 1; }

rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications"
cp -a dist/chatdesk "$appdir/usr/lib/chatdesk"
cp packaging/linux/app.chatdesk.ChatDesk.desktop "$appdir/app.chatdesk.ChatDesk.desktop"
cp packaging/linux/app.chatdesk.ChatDesk.desktop "$appdir/usr/share/applications/"
cp resources/icons/png/chatdesk-256.png "$appdir/chatdesk.png"
for png in resources/icons/png/chatdesk-*.png; do
    size=${png##*-}; size=${size%.png}
    mkdir -p "$appdir/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$appdir/usr/share/icons/hicolor/${size}x${size}/apps/chatdesk.png"
done
cat >"$appdir/AppRun" <<'RUN'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/lib/chatdesk/chatdesk" "$@"
RUN
chmod +x "$appdir/AppRun"

sign=()
[[ -n "${CHATDESK_GPG_KEY:-}" ]] && sign=(--sign --sign-key "$CHATDESK_GPG_KEY")
ARCH=$arch appimagetool "${sign[@]}" "$appdir" "dist/ChatDesk-$version-$arch.AppImage"
