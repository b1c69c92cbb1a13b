#!/usr/bin/env bash
# The desktop app's benchmarks, each beside a baseline measured in the same
# run, as a ratio (run by hand, not in CI; about 10 minutes after the builds):
#
#  1. Cold start to the first usable screen and idle memory (PSS of all the
#     app's processes) of the release app under Xvfb, beside a minimal Tauri 2
#     app this script writes and builds the same way (same tauri version from
#     our Cargo.lock, same release profile, custom-protocol as `tauri build`):
#     a page with one line of text. Started in turns, 7 each (+1 warm-up);
#     how "usable" is detected: e2e/bench/coldstart.py. Goal: each ratio <= 1.25.
#  2. Type-ahead in the UI on a 1,000,000-customer database (browser mode,
#     headless Chromium): key to answer painted, p50 and p95, beside the same
#     customers.search queries over HTTP: e2e/bench/typeahead.mjs, twice:
#     Chromium drawing at 60 Hz, then drawing a frame when there is something
#     to draw (--disable-frame-rate-limit). Goal: the UI adds at most 16 ms
#     at p95. The database is filled through the core
#     by crates/bench (`pitlane-bench fill`) once and kept in
#     $CARGO_TARGET_DIR/bench-data.
#
#   bash scripts/bench-app.sh [start|typeahead|all]     (default all)
#   BENCH_RUNS=7 BENCH_KEYS=200 BENCH_CUSTOMERS=1000000
#   PITLANE_CARGO_LOCK=/tmp/lock: cargo runs under `flock` on that file.
#   BENCH_BIN=DIR: no builds; the binaries pitlane-app, pitlane, minimal-tauri
#   and pitlane-bench from DIR (e.g. kept from an earlier run; `start` needs
#   no pitlane-bench, `typeahead` only pitlane and pitlane-bench).
#   BENCH_CLI=FILE: for `start`, this pitlane CLI (any build of this tree, it
#   only makes each run's demo database) instead of a release build of it.
#   BENCH_TIMELINE=1: prints each start's changes on screen (where the time goes).
#   BENCH_KEEP=DIR: copies the binaries used there (for BENCH_BIN reruns).
# Needs what scripts/setup.sh installs (Tauri's build packages, Xvfb,
# chromium, node_modules) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
which="${1:-all}"
RUNS="${BENCH_RUNS:-7}"
KEYS="${BENCH_KEYS:-200}"
CUSTOMERS="${BENCH_CUSTOMERS:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
DATA="$CARGO_TARGET_DIR/bench-data"
if [ -n "${PITLANE_CARGO_LOCK:-}" ]; then LOCK=(flock "$PITLANE_CARGO_LOCK"); else LOCK=(); fi

for tool in Xvfb chromium python3 node; do
  command -v "$tool" >/dev/null || { echo "bench-app: $tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund

work="$(mktemp -d)"
# The seen marks of the databases made here stay with them (docs/SYNC.md 6).
export PITLANE_STATE_DIR="${PITLANE_STATE_DIR:-$work/state}"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
bin="$work/bin"
mkdir -p "$bin"
began=$(date +%s)

# The UI as the app embeds it and browser mode serves it.
npm run --silent build >"$work/ui-build.log" 2>&1 || { cat "$work/ui-build.log" >&2; exit 1; }

if [ -n "${BENCH_BIN:-}" ]; then
  for b in pitlane-app pitlane minimal-tauri pitlane-bench; do
    [ "$b" = pitlane-bench ] && [ "$which" = start ] && continue
    [ "$which" = typeahead ] && { [ "$b" = pitlane-app ] || [ "$b" = minimal-tauri ]; } && continue
    cp "$BENCH_BIN/$b" "$bin/"
  done
  echo "using the binaries in $BENCH_BIN (not built)"
elif [ "$which" = typeahead ]; then
  # The type-ahead needs browser mode and the filler only: no app builds.
  echo "building (release: the pitlane CLI and pitlane-bench)..."
  t=$(date +%s)
  "${LOCK[@]}" bash -c '
    set -e
    cargo build --quiet --locked --release -p pitlane-cli -p pitlane-bench
    cp "$CARGO_TARGET_DIR/release/pitlane" "$CARGO_TARGET_DIR/release/pitlane-bench" "$1/"
  ' _ "$bin"
  echo "  built in $(($(date +%s) - t)) s (waiting for the cargo lock included)"
else
# The baseline app: the smallest Tauri 2 app, built like ours.
minimal="$work/minimal"
mkdir -p "$minimal/src" "$minimal/dist" "$minimal/icons"
cp Cargo.lock "$minimal/"
cp icons/icon.png icons/32x32.png icons/128x128.png "$minimal/icons/"
tauri_req=$(sed -n 's/^tauri = { version = "\([^"]*\)".*/\1/p' Cargo.toml)
tauri_build_req=$(sed -n 's/^tauri-build = { version = "\([^"]*\)".*/\1/p' Cargo.toml)
cat >"$minimal/Cargo.toml" <<EOF
[package]
name = "pitlane-bench-minimal-tauri"
version = "0.1.0"
edition = "2021"
publish = false

[build-dependencies]
tauri-build = { version = "$tauri_build_req", features = [] }

[dependencies]
tauri = { version = "$tauri_req", features = [] }

[features]
custom-protocol = ["tauri/custom-protocol"]

$(sed -n '/^\[profile.release\]/,/^$/p' Cargo.toml)

[workspace]
EOF
echo 'fn main() { tauri_build::build() }' >"$minimal/build.rs"
cat >"$minimal/src/main.rs" <<'EOF'
fn main() {
    tauri::Builder::default().run(tauri::generate_context!()).expect("the minimal Tauri app");
}
EOF
echo '<!doctype html><html><head><meta charset="utf-8"><title>Minimal</title></head><body><p>A minimal Tauri 2 app: one line of text.</p></body></html>' >"$minimal/dist/index.html"
cat >"$minimal/tauri.conf.json" <<'EOF'
{
  "productName": "Minimal",
  "version": "0.1.0",
  "identifier": "com.pitlane.bench.minimal",
  "build": { "frontendDist": "dist" },
  "app": { "windows": [{ "title": "Minimal", "width": 1280, "height": 800, "center": true }] },
  "bundle": { "active": false, "icon": ["icons/32x32.png", "icons/128x128.png", "icons/icon.png"] }
}
EOF

# Release builds (`tauri build` builds with tauri/custom-protocol: the UI
# embedded), copied out at once so no other build sharing the target dir
# swaps them.
# pitlane-bench (the type-ahead's database filler) only when that runs.
if [ "$which" = start ]; then bench=(); else bench=(-p pitlane-bench); fi
echo "building (release: Pitlane's app, the minimal app, the pitlane CLI${bench:+ and pitlane-bench})..."
t=$(date +%s)
"${LOCK[@]}" bash -c '
  set -e
  out="$1" minimal="$2"; shift 2
  cargo build --quiet --locked --release -p pitlane-app --features tauri/custom-protocol
  cp "$CARGO_TARGET_DIR/release/pitlane-app" "$out/"
  if [ -z "${BENCH_CLI:-}" ] || [ $# -gt 0 ]; then
    cargo build --quiet --locked --release -p pitlane-cli "$@"
    cp "$CARGO_TARGET_DIR/release/pitlane" "$out/"
  else
    cp "$BENCH_CLI" "$out/pitlane"
  fi
  if [ $# -gt 0 ]; then cp "$CARGO_TARGET_DIR/release/pitlane-bench" "$out/"; fi
  cd "$minimal" && cargo build --quiet --release --features custom-protocol
  cp "$CARGO_TARGET_DIR/release/pitlane-bench-minimal-tauri" "$out/minimal-tauri"
' _ "$bin" "$minimal" "${bench[@]}"
echo "  built in $(($(date +%s) - t)) s (waiting for the cargo lock included)"
fi
if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp "$bin"/* "$BENCH_KEEP/"; fi
ls -l "$bin" | awk 'NR>1 {printf "  %-16s %6.1f MiB\n", $9, $5/1048576}'

if [ "$which" = all ] || [ "$which" = start ]; then
  d=90
  while [ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ]; do d=$((d + 1)); done
  Xvfb ":$d" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.1; done
  echo
  echo "cold start and idle memory: $RUNS starts of each in turns under Xvfb :$d (1280x800)..."
  python3 e2e/bench/coldstart.py --display ":$d" --runs "$RUNS" \
    --pitlane "$bin/pitlane-app" --cli "$bin/pitlane" --minimal "$bin/minimal-tauri" ${BENCH_SHOTS:+--shots "$BENCH_SHOTS"} ${BENCH_TIMELINE:+--timeline}
  kill "${pids[-1]}" 2>/dev/null || true
fi

if [ "$which" = all ] || [ "$which" = typeahead ]; then
  echo
  t=$(date +%s)
  "$bin/pitlane-bench" --data "$DATA" fill --customers "$CUSTOMERS"
  db="$DATA/search-$CUSTOMERS.db"
  echo "  database ready in $(($(date +%s) - t)) s ($(du -m "$db" | cut -f1) MB)"
  url_file="$work/serve.out"
  # Port 0: any free one.
  "$bin/pitlane" --db "$db" serve --port 0 --ui "$root/ui/dist" >"$url_file" 2>"$work/serve.err" &
  pids+=($!)
  url=""
  for _ in $(seq 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*/#token=[A-Za-z0-9_-]*' "$url_file" || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "bench-app: pitlane serve printed no URL: $(cat "$work/serve.err")" >&2; exit 1; }
  BENCH_CUSTOMERS="$CUSTOMERS" node e2e/bench/typeahead.mjs "$url" bench-pin-1 "$KEYS"
  BENCH_CUSTOMERS="$CUSTOMERS" BENCH_FRAMES=free node e2e/bench/typeahead.mjs "$url" bench-pin-1 "$KEYS"
fi
echo
echo "bench-app: $(($(date +%s) - began)) s in all"
