#!/usr/bin/env bash
# The real-window test: builds the desktop app as it ships (the embedded
# ui/dist, profile e2e) and the `pitlane` CLI, then drives the app in a
# virtual display over WebDriver (tauri-driver → WebKitWebDriver) with
# window.test.mjs. ui/dist must be built (`npm run build`).
# WINDOW_SCREEN=1366x768 runs it on another screen size; WINDOW_SHOTS=DIR keeps screenshots.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
# Built and copied out in one step, under the shared cargo lock when
# PITLANE_CARGO_LOCK names one, so another build sharing the target dir
# cannot swap the binaries between build and run.
if [ -n "${PITLANE_CARGO_LOCK:-}" ]; then LOCK=(flock "$PITLANE_CARGO_LOCK"); else LOCK=(); fi
"${LOCK[@]}" bash -c '
  set -e
  cargo build --quiet --locked --profile e2e -p pitlane-app --features tauri/custom-protocol
  cargo build --quiet --locked --profile e2e -p pitlane-cli
  cp "$CARGO_TARGET_DIR/e2e/pitlane-app" "$CARGO_TARGET_DIR/e2e/pitlane" "$1/"
' _ "$bin"
driver="$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")"
PITLANE_APP="$bin/pitlane-app" PITLANE_CLI="$bin/pitlane" TAURI_DRIVER="$driver" \
  xvfb-run -a -s "-screen 0 ${WINDOW_SCREEN:-1280x800}x24 -nolisten tcp" node e2e/window/window.test.mjs
