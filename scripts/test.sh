#!/usr/bin/env bash
# Runs every test: formatting, lints, the UI's type check and build, unit
# and integration tests, the desktop app in a real window, and the UI in
# Chromium against browser mode.
# Build output goes to a persistent target directory outside the clone so
# reruns are fast.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
# The app embeds ui/dist: build the UI before anything compiles the app.
npm run check
npm run build
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The desktop app under Xvfb over WebDriver (tauri-driver, WebKitWebDriver),
# on the two counter screen sizes the screens are judged at.
WINDOW_SCREEN=1280x800 bash e2e/window/run.sh
WINDOW_SCREEN=1366x768 bash e2e/window/run.sh
# The UI in Chromium against browser mode (Playwright): the day of one car,
# the rules, the screenshots. This script builds without the shared lock.
PITLANE_CARGO_LOCK="" bash scripts/e2e.sh
