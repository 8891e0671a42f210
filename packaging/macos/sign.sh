#!/usr/bin/env bash
# Code-sign (and optionally notarise) ChatDesk.app. A no-op unless an identity is configured.
#
#   packaging/macos/sign.sh dist/ChatDesk.app
#
# CHATDESK_CODESIGN_IDENTITY  "Developer ID Application: NAME (TEAMID)" from your keychain;
#                             unset: skip signing (the app still runs locally, but Gatekeeper
#                             warns other users).
# CHATDESK_NOTARY_PROFILE     a keychain profile made with `xcrun notarytool store-credentials`;
#                             set: submit the app to Apple's notary service and staple the ticket.
# No certificate or password ever lives in the repository.
set -euo pipefail

app=${1:?usage: sign.sh PATH/ChatDesk.app}
identity=${CHATDESK_CODESIGN_IDENTITY:-}
if [[ -z "$identity" ]]; then
    echo "sign.sh: CHATDESK_CODESIGN_IDENTITY not set: $app left unsigned"
    exit 0
fi
entitlements="$(cd "$(dirname "$0")" && pwd)/entitlements.plist"
sign() {
    codesign --force --timestamp --options runtime --entitlements "$entitlements" \
        --sign "$identity" "$@"
}

# Inside out: every Mach-O file (libraries, Python extensions, and the extensionless binaries
# of Qt's frameworks and the executable), then each framework bundle, then the app itself.
# Mach-O files are found by content (`file`), not by name: QtCore.framework/Versions/A/QtCore
# has no suffix and would otherwise keep only its ad-hoc signature, which notarisation rejects.
# (bash 3.2 on macOS: no mapfile; `find -depth` lists a folder's contents before the folder.)
macho_files() {
    find "$app/Contents" -depth -type f -print0 | while IFS= read -r -d '' path; do
        if file -b "$path" | grep -q '^Mach-O'; then
            printf '%s\0' "$path"
        fi
    done
}
count=0
while IFS= read -r -d '' binary; do
    sign "$binary"
    count=$((count + 1))
done < <(macho_files)
while IFS= read -r -d '' framework; do
    sign "$framework"
done < <(find "$app/Contents" -depth -type d -name '*.framework' -print0)
echo "sign.sh: signed $count Mach-O files inside $app"
sign "$app"
codesign --verify --deep --strict --verbose=2 "$app"
# Every Mach-O file must now carry this identity's signature with the hardened runtime.
unsigned=0
while IFS= read -r -d '' binary; do
    details=$(codesign -dvv "$binary" 2>&1 || true)
    if ! grep -q "flags=.*runtime" <<<"$details" || grep -q "Signature=adhoc" <<<"$details"; then
        echo "sign.sh: not signed with the hardened runtime: $binary" >&2
        unsigned=$((unsigned + 1))
    fi
done < <(macho_files)
((unsigned == 0)) || { echo "sign.sh: $unsigned Mach-O files left unsigned" >&2; exit 1; }

if [[ -n "${CHATDESK_NOTARY_PROFILE:-}" ]]; then
    zip="$(dirname "$app")/ChatDesk-notarise.zip"
    ditto -c -k --keepParent "$app" "$zip"
    xcrun notarytool submit "$zip" --keychain-profile "$CHATDESK_NOTARY_PROFILE" --wait
    xcrun stapler staple "$app"
    rm -f "$zip"
fi
