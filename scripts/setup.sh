#!/usr/bin/env bash
# Installs what a fresh machine lacks: Debian build packages, and a Python venv
# with the pinned torch wheel (the LibTorch we link) plus the reference-test
# packages. Quick when everything is already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEBIAN_PACKAGES=(cmake ninja-build ccache g++ python3-venv nlohmann-json3-dev libcli11-dev
                 libspdlog-dev libfmt-dev libgtest-dev libutf8proc-dev zlib1g-dev libzstd-dev zstd libbz2-dev
                 libgloo-dev libgoogle-perftools-dev
                 chromium)  # chromium: the headless browser check of tests/integration/test_sae_explain.py
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

requirements="$COCOMIX_ROOT/scripts/requirements.txt"
stamp="$COCOMIX_VENV/.cocomix-requirements"
if [ ! -x "$COCOMIX_PYTHON" ]; then
  echo "setup: creating the venv at $COCOMIX_VENV"
  python3 -m venv "$COCOMIX_VENV"
fi
if ! cmp -s "$requirements" "$stamp"; then
  echo "setup: installing Python packages (torch wheel, several GB the first time)"
  "$COCOMIX_PYTHON" -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
echo "setup: ready (venv $COCOMIX_VENV, torch $("$COCOMIX_PYTHON" -c 'import torch; print(torch.__version__)'))"
