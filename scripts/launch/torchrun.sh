#!/usr/bin/env bash
# Data-parallel training on one node with torchrun: NPROC processes (one per
# GPU with train.device "cuda", NCCL; or CPU ranks on Gloo), each running
# cocomix-train directly (--no-python). docs/distributed.md explains the rest.
#   scripts/launch/torchrun.sh NPROC CONFIG OUT [more cocomix-train arguments...]
# e.g. scripts/launch/torchrun.sh 8 configs/cocomix_386m.json runs/cocomix_386m \
#        --set train.grad_accum_steps=4        # 8 GPUs x 4 = the single-GPU config's 32
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
if [ $# -lt 3 ]; then
  echo "usage: $0 NPROC CONFIG OUT [cocomix-train arguments...]" >&2
  exit 2
fi
nproc="$1" config="$2" out="$3"
shift 3
resume=()
# Continue a run that already has a complete checkpoint (same NPROC: the world size must match).
if compgen -G "$out/checkpoints/step_*/COMPLETE" >/dev/null; then resume=(--resume); fi
# One intra-op thread per rank unless the caller says otherwise (torchrun sets 1 too, with a warning).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$(dirname "$COCOMIX_PYTHON")/torchrun" --standalone --nproc-per-node "$nproc" --no-python \
  "$COCOMIX_BUILD/bin/cocomix-train" --config "$config" --out "$out" "${resume[@]}" "$@"
