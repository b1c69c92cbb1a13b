#!/usr/bin/env bash
# Installs what building and testing Pitlane needs, only where missing:
# a C compiler (bundled SQLite, ring, libdbus for the keyring), the PDF
# tools the invoice tests read PDFs back with (poppler's pdftotext and
# pdfinfo, qpdf), a real OS keyring for the CLI's keyring tests
# (gnome-keyring-daemon, in a D-Bus session of each test's own through
# dbus-run-session), the libraries the desktop app (Tauri 2, WebKitGTK)
# builds against, and what its tests drive it with: Xvfb, WebKitWebDriver,
# Debian's Chromium, ImageMagick (screenshots), and PostgreSQL (the cloud
# endpoint's database; tests run their own server in a temporary folder). Then the npm packages
# (`npm ci` when node_modules is missing or older than package-lock.json)
# and tauri-driver (cargo install) when missing. Quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v dbus-run-session >/dev/null || need+=(dbus dbus-bin)
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
# The desktop app's build (TAURI.md): WebKitGTK 4.1 and friends.
# fonts-dejavu-core: the UI's typeface (ui/src/app.css; the .deb depends on it too).
for pkg in libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev file fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
# Its tests: a virtual display, WebDriver for WebKitGTK, Chromium, screenshots.
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xauth >/dev/null || need+=(xauth)
command -v WebKitWebDriver >/dev/null || need+=(webkit2gtk-driver)
command -v chromium >/dev/null || need+=(chromium)
command -v import >/dev/null || need+=(imagemagick)
# The cloud endpoint's database (crates/cloud); its tests start their own server with initdb.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The UI's packages, the Tauri CLI and the browser tests' driver.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# tauri-driver bridges WebDriver to WebKitWebDriver for the real-window test.
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  # Under a shared cargo lock when PITLANE_CARGO_LOCK names one (machines
  # where several builds share a target dir; not set when the caller holds it).
  if [ -n "${PITLANE_CARGO_LOCK:-}" ]; then LOCK=(flock "$PITLANE_CARGO_LOCK"); else LOCK=(); fi
  "${LOCK[@]}" cargo install tauri-driver --locked --quiet
fi
