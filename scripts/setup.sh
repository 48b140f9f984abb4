#!/usr/bin/env bash
# Installs what a fresh machine lacks: Debian build packages, and a Python venv
# with the pinned torch wheel (the LibTorch we link). Quick when everything is
# already there.
#
#   scripts/setup.sh          everything the tests need (reference packages, GoogleTest, a headless browser)
#   scripts/setup.sh --core   only what building the apps and running the quickstart need
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
core_only=false
case "${1:-}" in
  "") ;;
  --core) core_only=true ;;
  *) echo "usage: scripts/setup.sh [--core]" >&2; exit 2 ;;
esac

DEBIAN_PACKAGES=(cmake ninja-build ccache g++ python3-venv nlohmann-json3-dev libcli11-dev
                 libspdlog-dev libfmt-dev libutf8proc-dev zlib1g-dev libzstd-dev zstd libbz2-dev
                 libgloo-dev libgoogle-perftools-dev)
# chromium: the headless browser check of tests/integration/test_sae_explain.py;
# clang and its runtime libraries: the fuzz targets (libFuzzer, sanitizers)
$core_only || DEBIAN_PACKAGES+=(libgtest-dev chromium clang libclang-rt-dev)
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

if [ ! -x "$COCOMIX_PYTHON" ]; then
  echo "setup: creating the venv at $COCOMIX_VENV"
  python3 -m venv "$COCOMIX_VENV"
fi
# A stamp per requirements level holds the files it was installed from; the full
# level includes the core one, so its stamp satisfies both.
core="$COCOMIX_ROOT/scripts/requirements-core.txt"
full="$COCOMIX_ROOT/scripts/requirements.txt"
installed() { cat "$COCOMIX_VENV/.cocomix-requirements-$1" 2>/dev/null; }
wanted_core=$(cat "$core")
wanted_full=$(cat "$core" "$full")
if $core_only; then
  if [ "$(installed full)" != "$wanted_full" ] && [ "$(installed core)" != "$wanted_core" ]; then
    echo "setup: installing the core Python packages (the torch wheel: several GB the first time)"
    "$COCOMIX_PYTHON" -m pip install -q --disable-pip-version-check -r "$core"
    printf '%s' "$wanted_core" > "$COCOMIX_VENV/.cocomix-requirements-core"
  fi
elif [ "$(installed full)" != "$wanted_full" ]; then
  echo "setup: installing the Python packages (the torch wheel: several GB the first time)"
  "$COCOMIX_PYTHON" -m pip install -q --disable-pip-version-check -r "$full"
  printf '%s' "$wanted_full" > "$COCOMIX_VENV/.cocomix-requirements-full"
  printf '%s' "$wanted_core" > "$COCOMIX_VENV/.cocomix-requirements-core"
fi
echo "setup: ready (venv $COCOMIX_VENV, torch $("$COCOMIX_PYTHON" -c 'import torch; print(torch.__version__)'))"
