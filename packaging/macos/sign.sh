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

# Inside out: every library and nested executable first, then the app itself.
find "$app/Contents" -type f \( -name '*.so' -o -name '*.dylib' \) -print0 | while IFS= read -r -d '' lib; do
    sign "$lib"
done
sign "$app"
codesign --verify --deep --strict --verbose=2 "$app"

if [[ -n "${CHATDESK_NOTARY_PROFILE:-}" ]]; then
    zip="$(dirname "$app")/ChatDesk-notarise.zip"
    ditto -c -k --keepParent "$app" "$zip"
    xcrun notarytool submit "$zip" --keychain-profile "$CHATDESK_NOTARY_PROFILE" --wait
    xcrun stapler staple "$app"
    rm -f "$zip"
fi
