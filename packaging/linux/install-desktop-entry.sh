#!/usr/bin/env bash
# Add ChatDesk (this unpacked folder) to your application menu, or remove it again.
#
#   ./install-desktop-entry.sh            install for the current user
#   ./install-desktop-entry.sh --remove   remove the menu entry and icons
#
# Writes only under ${XDG_DATA_HOME:-~/.local/share}; your chats (in ~/.local/share/ChatDesk)
# are never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
entry="$data/applications/app.chatdesk.ChatDesk.desktop"

if [[ "${1:-}" == "--remove" ]]; then
    rm -f "$entry"
    find "$data/icons/hicolor" -path '*/apps/chatdesk.*' -delete 2>/dev/null || true
    echo "removed $entry"
    exit 0
fi

mkdir -p "$data/applications"
(cd "$here/share" && find icons -type f) | while read -r icon; do
    mkdir -p "$data/$(dirname "$icon")"
    cp "$here/share/$icon" "$data/$icon"
done
sed -e "s|^Exec=.*|Exec=\"$here/chatdesk\"|" \
    "$here/share/applications/app.chatdesk.ChatDesk.desktop" >"$entry"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed $entry (runs $here/chatdesk)"
