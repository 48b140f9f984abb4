#!/usr/bin/env bash
# Configures and builds cocomix into build/ (apps in build/bin/), through ccache.
# Extra arguments go to the CMake configure step.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Needed for ccache to cache translation units that use the precompiled header.
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
fi
cmake -S "$COCOMIX_ROOT" -B "$COCOMIX_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCOCOMIX_PYTHON="$COCOMIX_PYTHON" "${launcher[@]}" "$@" >/dev/null
# COCOMIX_TARGETS (e.g. "cocomix-train cocomix-eval") builds only those targets and what they need.
cmake --build "$COCOMIX_BUILD" -j "$(nproc)" ${COCOMIX_TARGETS:+--target $COCOMIX_TARGETS}
