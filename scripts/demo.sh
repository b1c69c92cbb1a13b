#!/usr/bin/env bash
# Sets everything up, builds Pitlane and opens it on a fresh demo database.
# For now Pitlane's face is the command line; the desktop app takes over in
# a later release.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pitlane-target}"
cargo build --release --locked -p pitlane-cli
bin="$CARGO_TARGET_DIR/release/pitlane"
db="${PITLANE_DEMO_DB:-pitlane-demo.db}"
rm -f "$db" "$db-wal" "$db-shm"
"$bin" --db "$db" demo
echo
echo "== The front desk looks up customers starting with 'jo':"
PITLANE_PIN=1234 "$bin" --db "$db" --user desk call customers.search '{"query":"jo","limit":3}'
echo
echo "== The manager checks stock at or below its reorder level:"
PITLANE_PIN=1234 "$bin" --db "$db" --user manager call inventory.low_stock
echo
echo "== The front desk prints the latest invoice as a PDF:"
invoice=$(PITLANE_PIN=1234 "$bin" --db "$db" --user desk call invoices.list '{"limit":1}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["invoices"][0]["id"])')
PITLANE_PIN=1234 "$bin" --db "$db" --user desk call invoices.pdf "{\"invoice_id\":\"$invoice\"}"
echo
echo "== The manager looks at the background jobs (notifications queued by the demo's work):"
PITLANE_PIN=1234 "$bin" --db "$db" --user manager jobs | cut -c1-400
echo
echo "== The owner verifies the audit chain:"
PITLANE_PIN=1234 "$bin" --db "$db" --user owner call audit.verify
echo
echo "Pitlane is at $bin; the demo database is $db. Every command: $bin commands"
