#!/usr/bin/env bash
# Builds the OpenWebText pretraining shards of CoCoMix with cocomix-tokenize, for
# machines with internet access (the project's own machines have none, so this
# is not run by the tests). Steps:
#   1. export Hugging Face's Skylion007/openwebtext (8,013,769 documents, ~55 GB
#      download) as 100 zstd-compressed JSON-lines files in OUT/raw/;
#   2. tokenize them with the GPT-2 tokenizer: one document per row, end-of-text
#      50256 after each, llm.c shards of 100M tokens in OUT/ (train_NNNNNN.bin,
#      val_NNNNNN.bin, manifest.json), 0.05% of the documents for validation
#      (nanoGPT's share), every core. Interrupted? Run it again: the export skips
#      finished files and cocomix-tokenize resumes after its last complete shard.
#
# Usage: scripts/prepare_openwebtext.sh [OUT]   (default: data/openwebtext)
# Environment: COCOMIX_TOKENIZER_DIR (default ../shared/data/gpt2_tokenizer, else
# vocab.json + merges.txt fetched from the openai-community/gpt2 model repository),
# OWT_NUM_PROC (parallel download/export processes, default: cores).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

OUT="${1:-data/openwebtext}"
RAW="$OUT/raw"
TOKENIZER_DIR="${COCOMIX_TOKENIZER_DIR:-$COCOMIX_ROOT/../shared/data/gpt2_tokenizer}"
NUM_PROC="${OWT_NUM_PROC:-$(nproc)}"

"$COCOMIX_ROOT/scripts/setup.sh"
"$COCOMIX_ROOT/scripts/build.sh"
command -v zstd >/dev/null || { echo "prepare_openwebtext: needs the zstd command (Debian: apt-get install zstd)"; exit 1; }
"$COCOMIX_PYTHON" -m pip install -q --disable-pip-version-check datasets==5.2.0

if [ ! -f "$TOKENIZER_DIR/encoder.json" ] && [ ! -f "$TOKENIZER_DIR/vocab.json" ]; then
  TOKENIZER_DIR="$OUT/gpt2_tokenizer"
  echo "prepare_openwebtext: fetching GPT-2's vocab.json + merges.txt into $TOKENIZER_DIR"
  "$COCOMIX_VENV/bin/hf" download openai-community/gpt2 vocab.json merges.txt --local-dir "$TOKENIZER_DIR"
fi

mkdir -p "$RAW"
echo "prepare_openwebtext: exporting OpenWebText to $RAW (skips files already there)"
"$COCOMIX_PYTHON" - "$RAW" "$NUM_PROC" <<'PY'
import os
import subprocess
import sys

from datasets import load_dataset

raw, num_proc = sys.argv[1], int(sys.argv[2])
files = 100
dataset = load_dataset("Skylion007/openwebtext", split="train", num_proc=num_proc)
for index in range(files):
    final = os.path.join(raw, f"openwebtext_{index:03d}.jsonl.zst")
    if os.path.exists(final):
        continue
    part = os.path.join(raw, f"openwebtext_{index:03d}.jsonl")
    dataset.shard(num_shards=files, index=index, contiguous=True).select_columns(["text"]).to_json(
        part, lines=True, force_ascii=False)
    # Compress to a temporary name and rename: a file under its final name is whole.
    subprocess.run(["zstd", "-q", "-f", "-T0", "--rm", part, "-o", final + ".tmp"], check=True)
    os.replace(final + ".tmp", final)
    print(f"prepare_openwebtext: {final}", flush=True)
PY

echo "prepare_openwebtext: tokenizing into $OUT"
"$COCOMIX_BUILD/bin/cocomix-tokenize" --tokenizer "$TOKENIZER_DIR" --val-fraction 0.0005 --seed 2357 \
  --shard-tokens 100000000 -o "$OUT" "$RAW"
