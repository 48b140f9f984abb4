#!/usr/bin/env bash
# Proof that cocomix-eval scores like lm-evaluation-harness: trains (or reuses) a
# small GPT-2-vocabulary model on real text with cocomix-train, exports it with
# cocomix-convert, runs the harness's HFLM on the export and cocomix-eval on the
# checkpoint over the same local task files, and compares every metric
# (cocomix_tools.harness: accuracies identical, perplexities within 1e-4
# relative). Prints the table; exits non-zero on any mismatch.
#
#   scripts/harness_parity.sh [--work DIR] [--tasks a,b,c] [--limit N] [--steps N] [--markdown FILE]
#
# WORK (default runs/harness_parity) keeps the corpus, run, export and results; a
# second call reuses the trained model. Needs the apps in $COCOMIX_BUILD/bin (or
# $COCOMIX_BIN) and lm_eval in the venv (scripts/setup.sh). The harness runs
# offline (HF_DATASETS_OFFLINE=1, HF_HUB_OFFLINE=1) on files under
# $COCOMIX_SHARED_DATA (default ../shared/data beside the repository).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

work="$COCOMIX_ROOT/runs/harness_parity"
tasks="lambada_openai,wikitext,hellaswag,piqa,arc_easy,social_iqa,winogrande"
limit=0
steps=200
markdown=""
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --tasks) tasks="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --markdown) markdown="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "error: harness_parity.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

bin="${COCOMIX_BIN:-$COCOMIX_BUILD/bin}"
data="${COCOMIX_SHARED_DATA:-$COCOMIX_ROOT/../shared/data}"
export HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# 1. Real text -> GPT-2 BPE tokens (paragraphs of tinyshakespeare and three Gutenberg novels, ~2.7 MB).
if [ ! -f "$work/data/manifest.json" ]; then
  "$bin/cocomix-tokenize" --tokenizer "$data/gpt2_tokenizer" --blocks --val-documents 200 -o "$work/data" \
    "$data/text_tinyshakespeare/input.txt" "$data/text_gutenberg_pg/1342-0.txt" "$data/text_gutenberg_pg/84-0.txt" \
    "$data/text_gutenberg_pg/1661-0.txt"
fi

# 2. A small model (GPT-2 vocabulary, context 256, d 64, 2 blocks), fp32, a few minutes on 2 cores. The
#    context holds the longest continuation of every task (PIQA's reach 246 tokens); with a shorter one the
#    harness cannot score them (and cocomix-eval refuses them).
if ! ls "$work"/run/checkpoints/step_*/COMPLETE >/dev/null 2>&1; then
  cat >"$work/train.json" <<JSON
{
  "model": {"vocab_size": 50257, "n_positions": 256, "n_embd": 64, "n_layer": 2, "n_head": 2, "dropout": 0.0},
  "data": {"train_path": "$work/data/train_000000.bin", "val_path": "$work/data/val_000000.bin", "seq_len": 256},
  "optim": {"lr": 3e-3, "min_lr": 3e-4, "warmup_steps": 20, "weight_decay": 0.0},
  "train": {"batch_size": 4, "max_steps": $steps, "seed": 1, "precision": "fp32", "checkpoint_every": 0,
            "keep_checkpoints": 1},
  "eval": {"every": 0, "max_batches": 4, "batch_size": 8},
  "log": {"every": 50, "tensorboard": false}
}
JSON
  "$bin/cocomix-train" --config "$work/train.json" --out "$work/run"
fi

# 3. The same weights as a Hugging Face GPT-2 directory (tokenizer from the data manifest).
if [ ! -f "$work/hf/model.safetensors" ]; then
  "$bin/cocomix-convert" export --checkpoint "$work/run" --out "$work/hf"
fi

# 4. Both evaluators on the same files, every metric compared.
args=(--checkpoint "$work/run" --hf-dir "$work/hf" --work "$work/results" --data-dir "$data" --bin "$bin"
      --tasks "$tasks" --limit "$limit")
[ -n "$markdown" ] && args+=(--markdown "$markdown")
"$COCOMIX_PYTHON" "$COCOMIX_ROOT/scripts/harness_parity.py" "${args[@]}" </dev/null
