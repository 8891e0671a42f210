#!/usr/bin/env bash
# Pack dist/chatdesk/ into dist/ChatDesk-<version>-linux-<arch>.tar.gz (run by build.sh).
#
#   packaging/linux/make_tarball.sh VERSION
#
# The archive unpacks to one folder ChatDesk-<version>/ holding the bundle (run ./chatdesk),
# the desktop entry and icons under share/, and install-desktop-entry.sh, which adds ChatDesk
# to the user's application menu (no root needed).
set -euo pipefail

cd "$(dirname "$0")/../.."
version=${1:?usage: make_tarball.sh VERSION}
arch=$(uname -m)
name="ChatDesk-$version"
staging="build/tarball/$name"
archive="dist/ChatDesk-$version-linux-$arch.tar.gz"

[[ -x dist/chatdesk/chatdesk ]] || { echo "make_tarball.sh: build dist/chatdesk first" >&2; exit 1; }
rm -rf build/tarball
mkdir -p "$staging/share/applications" "$staging/share/icons/hicolor/scalable/apps"
cp -a dist/chatdesk/. "$staging/"
cp packaging/linux/app.chatdesk.ChatDesk.desktop "$staging/share/applications/"
cp resources/icons/chatdesk.svg "$staging/share/icons/hicolor/scalable/apps/chatdesk.svg"
for png in resources/icons/png/chatdesk-*.png; do
    size=${png##*-}; size=${size%.png}
    mkdir -p "$staging/share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$staging/share/icons/hicolor/${size}x${size}/apps/chatdesk.png"
done
cp packaging/linux/install-desktop-entry.sh "$staging/"

tar --sort=name --owner=0 --group=0 --numeric-owner -C build/tarball -czf "$archive" "$name"
echo "tarball: $archive ($(du -h "$archive" | cut -f1))"
