#!/usr/bin/env bash
# Runs every test: formatting, lints, the UI's type check and build, unit
# and integration tests, and the desktop app in a real window.
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
# The desktop app under Xvfb over WebDriver (tauri-driver, WebKitWebDriver).
bash e2e/window/run.sh
