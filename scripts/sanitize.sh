#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer: a
# unity build of the library, apps and tests with -fsanitize=address,undefined
# (LibTorch stays uninstrumented) into build-asan, then every test as
# scripts/test.sh runs them. The first report of either sanitizer fails its test.
#
#   scripts/sanitize.sh [CTEST ARGS...]      e.g. -R unit. or -E integration
#
# The build directory is $COCOMIX_SANITIZE_BUILD (default build-asan). The fuzz
# targets have their own sanitized build (scripts/fuzz.sh) and are left out here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$COCOMIX_ROOT/scripts/setup.sh"
export COCOMIX_BUILD="${COCOMIX_SANITIZE_BUILD:-$COCOMIX_ROOT/build-asan}"
"$COCOMIX_ROOT/scripts/build.sh" -DCOCOMIX_BUILD_TESTS=ON -DCOCOMIX_SANITIZE=address,undefined \
  -DCOCOMIX_UNITY_BUILD=ON -DCOCOMIX_FUZZ_TESTS=OFF
# verify_asan_link_order=0: the fault-injection tests preload their shim ahead of the ASan runtime.
# detect_leaks=0: LibTorch's thread pools and registries live until exit by design.
export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
cd "$COCOMIX_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
