#!/usr/bin/env bash
# Pack dist/ChatDesk.app into dist/ChatDesk-<version>-macos-<arch>.dmg (run by build.sh).
#
#   packaging/macos/make_dmg.sh VERSION
#
# The disk image holds ChatDesk.app and a link to /Applications to drag it onto. With
# CHATDESK_CODESIGN_IDENTITY set the image is signed too (and notarised with
# CHATDESK_NOTARY_PROFILE; see sign.sh).
set -euo pipefail

cd "$(dirname "$0")/../.."
version=${1:?usage: make_dmg.sh VERSION}
arch=$(uname -m)
dmg="dist/ChatDesk-$version-macos-$arch.dmg"
staging=build/dmg
[[ -d dist/ChatDesk.app ]] || { echo "make_dmg.sh: build dist/ChatDesk.app first" >&2; exit 1; }

rm -rf "$staging" "$dmg"
mkdir -p "$staging"
ditto dist/ChatDesk.app "$staging/ChatDesk.app"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "ChatDesk $version" -srcfolder "$staging" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$dmg"

if [[ -n "${CHATDESK_CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --timestamp --sign "$CHATDESK_CODESIGN_IDENTITY" "$dmg"
    if [[ -n "${CHATDESK_NOTARY_PROFILE:-}" ]]; then
        xcrun notarytool submit "$dmg" --keychain-profile "$CHATDESK_NOTARY_PROFILE" --wait
        xcrun stapler staple "$dmg"
    fi
fi
echo "disk image: $dmg ($(du -h "$dmg" | cut -f1))"
