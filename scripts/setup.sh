#!/usr/bin/env bash
# Installs what building and testing Pitlane needs, only where missing:
# a C compiler (bundled SQLite, ring, libdbus for the keyring), the PDF
# tools the invoice tests read PDFs back with (poppler's pdftotext and
# pdfinfo, qpdf), and a real OS keyring for the CLI's keyring tests
# (gnome-keyring-daemon, in a D-Bus session of each test's own through
# dbus-run-session), and Debian's chromium for the browser tests
# (scripts/e2e.sh; Playwright never downloads a browser here).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v dbus-run-session >/dev/null || need+=(dbus dbus-bin)
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
