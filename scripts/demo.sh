#!/usr/bin/env bash
# Sets everything up, builds Pitlane and opens it on a fresh demo database:
# the desktop app when there is a display, else browser mode (`pitlane
# serve`) with its URL printed. Staff: owner, manager, desk, tech1, tech2,
# each with PIN 1234.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
npm run build --silent
cargo build --release --locked -p pitlane-cli
bin="$CARGO_TARGET_DIR/release/pitlane"
db="${PITLANE_DEMO_DB:-$PWD/pitlane-demo.db}"
rm -f "$db" "$db-wal" "$db-shm"
"$bin" --db "$db" demo >/dev/null
echo "Demo database: $db"
echo "Staff to log in as: owner, manager, desk (front desk), tech1, tech2 (technicians); PIN 1234 for each."
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  cargo build --release --locked -p pitlane-app --features tauri/custom-protocol
  echo "Opening the desktop app…"
  exec "$CARGO_TARGET_DIR/release/pitlane-app" --db "$db"
fi
echo "No display here: starting browser mode. Open the address below in a browser on this machine"
echo "(Ctrl+C stops it):"
exec "$bin" --db "$db" serve --port "${PITLANE_PORT:-7878}"
