#!/usr/bin/env bash
# Installs what building and testing Pitlane needs, only where missing:
# a C compiler (bundled SQLite, ring, libdbus for the keyring), and the PDF
# tools the invoice tests read PDFs back with (poppler's pdftotext and
# pdfinfo, qpdf).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
