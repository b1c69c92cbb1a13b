#!/usr/bin/env bash
# The browser tests (e2e/, Playwright's runner driving Debian's chromium)
# against `pitlane serve` on fresh demo databases, with the gateway double
# and a real OS keyring: a throwaway gnome-keyring, unlocked, in a D-Bus
# session of this run's own. The cloud sync tests also start the real
# `pitlane-cloud` on a PostgreSQL of their own (as root: initdb as postgres).
#
#   bash scripts/e2e.sh                   builds pitlane, the gateway double and ui/dist, then tests
#   PITLANE_E2E_PREBUILT=1 bash scripts/e2e.sh   uses what is built (PITLANE_BIN or
#                                         $CARGO_TARGET_DIR/debug/pitlane, ui/dist)
#   PITLANE_SCREENSHOTS=1 ...             also copies the 1280x800 screenshots to docs/screenshots/
#   PITLANE_CARGO_LOCK=""                 builds without taking /tmp/pitlane-cargo.lock (the caller holds it)
#   extra arguments go to `playwright test` (a file, -g "name")
#
# Output (traces of failures, screenshots): $PITLANE_E2E_OUT, default e2e/test-results.
# Exits non-zero on any failure. Never runs `npx playwright install`: the
# browser is /usr/bin/chromium (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
export PITLANE_E2E_OUT="${PITLANE_E2E_OUT:-$PWD/e2e/test-results}"
command -v chromium >/dev/null && command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null \
  || bash scripts/setup.sh
[ -d node_modules/@playwright/test ] || npm ci --no-audit --no-fund

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${PITLANE_E2E_PREBUILT:-}" != 1 ]; then
  # Built and copied out under one lock: another build in the same target
  # directory must not swap the binary under the tests. PITLANE_CARGO_LOCK=""
  # builds without the lock (when the caller already holds it).
  build='set -e; cargo build --locked -p pitlane-cli -p pitlane-gateway -p pitlane-cloud --features pitlane-gateway/double \
      --bin pitlane --bin pitlane-gateway-double --bin pitlane-cloud
    cp "$CARGO_TARGET_DIR/debug/pitlane" "$CARGO_TARGET_DIR/debug/pitlane-gateway-double" "$CARGO_TARGET_DIR/debug/pitlane-cloud" "$1/"'
  lock="${PITLANE_CARGO_LOCK-/tmp/pitlane-cargo.lock}"
  if [ -n "$lock" ]; then flock "$lock" bash -c "$build" bash "$work"; else bash -c "$build" bash "$work"; fi
  export PITLANE_BIN="$work/pitlane" PITLANE_GATEWAY_DOUBLE_BIN="$work/pitlane-gateway-double" PITLANE_CLOUD_BIN="$work/pitlane-cloud"
  npm run build
fi

npx tsc -p e2e/tsconfig.json   # the tests themselves type-check

mkdir -p "$work/keyring"
XDG_DATA_HOME="$work/keyring" dbus-run-session -- bash -c '
  set -euo pipefail
  echo -n e2e | gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null
  # Wait (bounded) until the Secret Service answers on this session bus.
  for _ in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
    sleep 0.1
  done
  exec npx playwright test -c e2e/playwright.config.ts "$@"' bash "$@"
