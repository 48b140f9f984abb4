#!/usr/bin/env bash
# The device check: on a GPU machine with no network and no package registry,
# from a fresh copy of the tree, builds against that machine's own PyTorch (no
# pip, no apt) with every other dependency from third_party/, runs the CUDA
# tests, checks resume and evaluation on CUDA, takes the throughput and memory
# figures, and writes one JSON report plus the logs under OUT.
#
#   scripts/gpu_check.sh [--out DIR] [--python PY] [--skip-build] [--quick] [--device cuda|cpu]
#
#   --out DIR      where the report and logs go (default: $OUT, else runs/gpu_check)
#   --python PY    the Python whose torch wheel supplies LibTorch (default: python3)
#   --skip-build   reuse the build as it is (build-gpu/, or $COCOMIX_BUILD)
#   --quick        fewer figures (the 69M configs only)
#   --device cpu   rehearse every check on the CPU, on a machine without a GPU
#
# third_party/ must be filled first (scripts/vendor_deps.sh) and travel with
# the tree. The report is OUT/report.json: what the build found, each check's
# verdict and figures, and the seconds each stage took (docs/benchmarks.md says
# how to read it). The exit status is 0 when every check passed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OUT:-$ROOT/runs/gpu_check}"
python=python3
build=1
quick=()
device=cuda
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    --quick) quick=(--quick); shift ;;
    --device) device="$2"; shift 2 ;;
    *) echo "usage: scripts/gpu_check.sh [--out DIR] [--python PY] [--skip-build] [--quick] [--device cuda|cpu]" >&2
       exit 2 ;;
  esac
done
mkdir -p "$out"
BUILD="${COCOMIX_BUILD:-$ROOT/build-gpu}"
start=$(date +%s)
stamp() { echo "[gpu_check $(( $(date +%s) - start ))s] $*"; }

# 1. The machine's PyTorch must carry the C++ headers and TorchConfig.cmake.
stamp "torch: $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>&1)"
prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') || {
  echo "error: $python cannot import torch" >&2; exit 1; }
for needed in "$prefix/Torch/TorchConfig.cmake" "$prefix/../../include/torch/csrc/api/include/torch/torch.h"; do
  [ -f "$needed" ] || { echo "error: the torch wheel lacks $needed (no C++ distribution)" >&2; exit 1; }
done
[ -d "$ROOT/third_party/json" ] || {
  echo "error: third_party/ is empty: run scripts/vendor_deps.sh here and carry third_party" >&2; exit 1; }

# 2. Build what the checks run, against that torch, with nothing from the system but the compiler and CUDA.
if [ "$build" = 1 ]; then
  stamp "configure and build into $BUILD"
  if ! { cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
           -DCOCOMIX_PYTHON="$(command -v "$python")" -DCOCOMIX_VENDORED_DEPS=ON -DCOCOMIX_UNITY_BUILD=ON \
           -DCOCOMIX_BUILD_TESTS=ON &&
         cmake --build "$BUILD" -j "$(nproc)" --target cocomix_unit_tests cocomix-train cocomix-eval \
           cocomix-bench cocomix-tokenize; } > "$out/build.log" 2>&1; then
    tail -30 "$out/build.log" >&2
    echo "error: the build failed (build.log)" >&2
    exit 1
  fi
fi
stamp "built"

# 3. The checks and figures (scripts/gpu_check.py), into report.json.
PYTHONUNBUFFERED=1 "$python" "$ROOT/scripts/gpu_check.py" --root "$ROOT" --bin "$BUILD/bin" --out "$out" \
  --device "$device" --build-seconds $(( $(date +%s) - start )) "${quick[@]}" 2>&1 | tee "$out/check.log"
status=${PIPESTATUS[0]}
stamp "done: $out/report.json (exit $status)"
exit "$status"
