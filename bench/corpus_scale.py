"""Sharded-corpus scale: what opening and sampling a corpus of many large shards
costs, against a training step. Writes, in a temporary directory, a synthetic
cocomix-tokenize corpus of --shards sparse llm.c shards of --shard-tokens tokens
each (a 1024-byte header, then a hole: reads return token 0) and a small one of
--small-shards shards beside it, and runs `cocomix-bench data` on them: the time
and resident memory of TokenCorpus::open, the time per WindowSampler window and
per TrainingData::next_batch, and the shards mapped and files open after one
window of every shard has been read. Then `cocomix-bench` times the config's
training step, and the data path's share of it is printed. Prints a markdown
table (copied into docs/benchmarks.md) and the raw JSON lines.

    ~/.cache/cocomix/venv/bin/python bench/corpus_scale.py [--shards 1000] [--shard-tokens 100000000]
        [--config configs/small.json] [--seq-lens 512 1024] [--bin build/bin]

The apps come from --bin, else $COCOMIX_BIN, else $COCOMIX_BUILD/bin, else
build/bin of the repository (scripts/common.sh's layout).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLMC_MAGIC_U16, LLMC_VERSION_U16, LLMC_HEADER_INTS = 20240520, 1, 256
GPT2_VOCAB, GPT2_END_OF_TEXT = 50257, 50256


def default_bin():
    if "COCOMIX_BIN" in os.environ:
        return os.environ["COCOMIX_BIN"]
    return os.path.join(os.environ.get("COCOMIX_BUILD", os.path.join(ROOT, "build")), "bin")


def write_sparse_shard(path, tokens):
    """An llm.c uint16 shard of `tokens` tokens whose tokens are a hole (no disk blocks)."""
    header = struct.pack(f"<{LLMC_HEADER_INTS}i", LLMC_MAGIC_U16, LLMC_VERSION_U16, tokens,
                         *([0] * (LLMC_HEADER_INTS - 3)))
    with open(path, "wb") as f:
        f.write(header)
    os.truncate(path, len(header) + 2 * tokens)


def write_corpus(directory, shards, shard_tokens):
    """`shards` train shards and one val shard with the manifest.json cocomix-tokenize writes."""
    os.makedirs(directory)
    splits = {}
    for split, count in (("train", shards), ("val", 1)):
        entries = []
        for index in range(count):
            name = f"{split}_{index:06d}.bin"
            write_sparse_shard(os.path.join(directory, name), shard_tokens)
            entries.append({"file": name, "tokens": shard_tokens})
        splits[split] = {"tokens": count * shard_tokens, "documents": 0, "shards": entries}
    manifest = {"tokenizer": "gpt2", "vocab_size": GPT2_VOCAB, "end_of_text": GPT2_END_OF_TEXT, "format": "llmc",
                "documents": 0, "skipped_rows": 0, "splits": splits,
                "settings": {"tokenizer": "gpt2", "synthetic": "bench/corpus_scale.py",
                             "shard_tokens": shard_tokens}}
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")


def run_json(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=1000)
    parser.add_argument("--shard-tokens", type=int, default=100_000_000)
    parser.add_argument("--small-shards", type=int, default=10, help="the comparison corpus's shards")
    parser.add_argument("--config", default="configs/small.json", help="batch, seq_len and the step compared with")
    parser.add_argument("--seq-lens", type=int, nargs="+", help="data.seq_len values (default: the config's)")
    parser.add_argument("--windows", type=int, default=100_000, help="sampler windows timed")
    parser.add_argument("--batches", type=int, default=2000, help="next_batch calls timed")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed (their median is used)")
    parser.add_argument("--bin", default=default_bin())
    parser.add_argument("--work", default=None, help="where the temporary corpora go (default: the system's)")
    args = parser.parse_args()

    config_path = os.path.join(ROOT, args.config)
    with open(config_path) as f:
        config = json.load(f)
    seq_lens = args.seq_lens or [config["data"]["seq_len"]]
    bench = os.path.join(args.bin, "cocomix-bench")
    rows = []
    with tempfile.TemporaryDirectory(prefix="cocomix-corpus-scale-", dir=args.work) as work:
        corpora = {}
        for shards in (args.small_shards, args.shards):
            directory = os.path.join(work, f"{shards}_shards")
            start = time.perf_counter()
            write_corpus(directory, shards, args.shard_tokens)
            corpora[shards] = directory
            print(f"wrote {shards} sparse shards of {args.shard_tokens:,} tokens in "
                  f"{time.perf_counter() - start:.1f} s: {directory}", flush=True)
        for seq_len in seq_lens:
            for shards, directory in corpora.items():
                command = [bench, "data", "--config", config_path, "--data", directory,
                           "--windows", str(args.windows), "--batches", str(args.batches),
                           "--set", f"data.seq_len={seq_len}",
                           "--set", f"model.n_positions={max(seq_len, config['model']['n_positions'])}"]
                figures = run_json(command)
                print(json.dumps(figures), flush=True)
                rows.append(figures)
    step = run_json([bench, "--config", config_path, "--steps", str(args.steps)])
    print(json.dumps(step), flush=True)

    print()
    print(f"Training step of {args.config} (T={config['data']['seq_len']}, "
          f"batch {config['train']['batch_size']}): {step['step_seconds']:.3f} s")
    print()
    print("| shards x tokens | T | batch | open | RSS after open (peak) | sampler per window | next_batch "
          "| shards read | mapped / open files after | data per step / step |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        share = r["step_data_seconds"] / step["step_seconds"] if r["seq_len"] == config["data"]["seq_len"] else None
        print(f"| {r['shards']:,} x {r['tokens'] // r['shards']:,} | {r['seq_len']} | {r['batch_size']} "
              f"| {r['open_seconds'] * 1e3:.1f} ms "
              f"| +{r['open_rss_bytes'] / 2**10:,.0f} KiB (+{r['open_peak_rss_bytes'] / 2**10:,.0f} KiB) "
              f"| {r['sampler_window_seconds'] * 1e6:.2f} us | {r['batch_seconds'] * 1e6:,.0f} us "
              f"| {r['shards_read']:,} | {r['mapped_shards']} / {r['open_shard_files']} "
              f"| {'-' if share is None else f'{share * 100:.4f}%'} |")


if __name__ == "__main__":
    main()
