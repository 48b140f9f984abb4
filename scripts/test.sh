#!/usr/bin/env bash
# README's test command: set up, build, run every test (unit, reference parity,
# integration, the find_package consumer). Extra arguments go to ctest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$COCOMIX_ROOT/scripts/setup.sh"
"$COCOMIX_ROOT/scripts/build.sh" -DCOCOMIX_BUILD_TESTS=ON
cd "$COCOMIX_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
