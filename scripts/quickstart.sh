#!/usr/bin/env bash
# README's first command: set up, build, make the synthetic concept corpus, train
# configs/tiny.json on the CPU, evaluate it and say where everything is.
# Runs from any directory; the run goes to runs/quickstart/ under the repository.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$COCOMIX_ROOT/scripts/setup.sh"
"$COCOMIX_ROOT/scripts/build.sh"
cd "$COCOMIX_ROOT"
BIN="$COCOMIX_BUILD/bin"
RUN=runs/quickstart

rm -rf "$RUN"
"$BIN/cocomix-tokenize" --synthetic --documents 6000 --seed 1 -o "$RUN/data"
"$BIN/cocomix-train" --config configs/tiny.json --out "$RUN"
"$BIN/cocomix-eval" --checkpoint "$RUN" --val "$RUN/data/val.bin" --json "$RUN/eval.json" >/dev/null
ppl=$("$COCOMIX_PYTHON" -c "import json; print(f\"{json.load(open('$RUN/eval.json'))['val_ppl']:.3f}\")")
cat <<MSG

quickstart done: validation perplexity $ppl (byte-level, synthetic corpus)
  metrics      $COCOMIX_ROOT/$RUN/metrics.jsonl (TensorBoard: $COCOMIX_ROOT/$RUN/tensorboard)
  checkpoints  $COCOMIX_ROOT/$RUN/checkpoints
  evaluation   $COCOMIX_ROOT/$RUN/eval.json
  corpus       $COCOMIX_ROOT/$RUN/data (documents.jsonl holds each document's hidden variables)
MSG
