#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and integration tests.
# Build output goes to a persistent target directory outside the clone so
# reruns are fast.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
