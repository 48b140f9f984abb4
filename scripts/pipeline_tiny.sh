#!/usr/bin/env bash
# The tiny CoCoMix pipeline on the CPU: teacher (NTP) -> its TopK SAE ->
# concept labels -> CoCoMix and the parameter-matched NTP, KD and pause students on
# the same windows -> evaluation, one table (summary.md), summary.json and the
# validation-loss curves (val_loss.png). scripts/pipeline_tiny.sh --help lists the
# knobs (corpus, sizes, steps, L_s, k_pred, C, λ, lr, seed).
#
#   scripts/pipeline_tiny.sh [--work DIR] [pipeline_tiny.py options]
#
# WORK defaults to runs/pipeline_tiny; finished stages are reused by a second call.
# Needs the apps built (scripts/build.sh) and the venv (scripts/setup.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$COCOMIX_ROOT/runs/pipeline_tiny"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "$COCOMIX_PYTHON" "$COCOMIX_ROOT/scripts/pipeline_tiny.py" --work "$work" \
  --bin "${COCOMIX_BIN:-$COCOMIX_BUILD/bin}" --data-dir "${COCOMIX_SHARED_DATA:-$COCOMIX_ROOT/../shared/data}" \
  ${args[@]+"${args[@]}"}
