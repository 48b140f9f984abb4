"""GPT-2 encoding throughput on the shared text: cocomix-tokenize vs Python
tiktoken vs Hugging Face tokenizers, one thread and every core, plus each
process's peak resident memory. Prints the table kept in docs/tokenizer.md.

    PYTHONPATH=python $VENV/bin/python bench/tokenizer_throughput.py [--bin build/bin] [--rounds 3]

Documents: every blank-line-separated block of the shared text files (books,
web samples, WikiText-2 test; ~20 MB), the units `cocomix-tokenize --blocks`
reads. cocomix's MB/s is the app's own figure for the whole corpus run
(reading, encoding, writing shards; the tokenizer load and process start
excluded, its wall time shown beside); tiktoken and tokenizers are timed around
their encode calls only. Each measurement runs in its own process; the best of
--rounds is kept. tiktoken's gpt2 Encoding is built from the shared files
(cocomix_tools.tiktoken_gpt2); tokenizers gets the same two files as a
byte-level BPE with GPT-2's pre-tokenizer.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cocomix_tools
from cocomix_tools.corpus import Manifest, text_blocks
from cocomix_tools.paths import apps_dir, shared_data
from cocomix_tools.tiktoken_gpt2 import tokenizer_dir

INPUTS = ["text_tinyshakespeare", "text_gutenberg_nltk", "text_gutenberg_pg", "text_web", "eval_wikitext2"]

# Run in a child process (PYTHONPATH: the directory of this cocomix_tools): prints {"seconds": ..., "tokens": ...}
# for one tokenizer and thread count.
CHILD = r"""
import json, os, sys, time
kind, threads, docs_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
docs = json.load(open(docs_path, encoding="utf-8"))
if kind == "tiktoken":
    from cocomix_tools.tiktoken_gpt2 import gpt2_encoding
    enc = gpt2_encoding()
    enc.encode_ordinary(docs[0])
    start = time.perf_counter()
    if threads == 1:
        out = [enc.encode_ordinary(d) for d in docs]
    else:
        out = enc.encode_ordinary_batch(docs, num_threads=threads)
else:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from cocomix_tools.tiktoken_gpt2 import tokenizer_dir
    d = tokenizer_dir()
    tok = Tokenizer(models.BPE.from_file(os.path.join(d, "encoder.json"), os.path.join(d, "vocab.bpe")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.encode(docs[0])
    start = time.perf_counter()
    out = [e.ids for e in tok.encode_batch_fast(docs)]  # ids without offsets: its fastest call
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "tokens": sum(len(ids) for ids in out)}))
"""


def input_files():
    files = []
    for name in INPUTS:
        path = Path(shared_data()) / name
        files += sorted(str(p) for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return files


def run_measured(args, env=None):
    """Runs a command; returns (stdout, wall seconds, peak RSS bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {stderr}")
    return stdout, wall, usage.ru_maxrss * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=apps_dir())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    files = input_files()
    docs = [b for f in files for b in text_blocks(Path(f).read_bytes().decode("utf-8"))]  # keep \r\n as is
    text_bytes = sum(len(d.encode("utf-8")) for d in docs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        docs_path = os.path.join(tmp, "docs.json")
        with open(docs_path, "w", encoding="utf-8") as f:
            json.dump(docs, f)
        for threads in (1, cores):
            best = None
            for round_ in range(args.rounds):
                out = os.path.join(tmp, f"cocomix_{threads}_{round_}")
                stdout, wall, rss = run_measured([os.path.join(args.bin, "cocomix-tokenize"), "--tokenizer",
                                                  tokenizer_dir(), "--blocks", "--threads", str(threads),
                                                  "--shard-tokens", "2000000000", "-o", out, *files])
                manifest = Manifest(out)
                assert manifest["documents"] == len(docs), (manifest["documents"], len(docs))
                tokens = manifest["splits"]["train"]["tokens"] + manifest["splits"]["val"]["tokens"] - len(docs)
                mb_s = float(re.search(r"([\d.]+) MB/s", stdout).group(1))
                if best is None or mb_s > best[0]:
                    best = (mb_s, wall, rss, tokens)
            rows.append(("cocomix-tokenize", threads, best[0], f"{best[1]:.2f} s wall", best[2], best[3]))
        package_parent = str(Path(cocomix_tools.__file__).resolve().parents[1])
        python_path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
        for kind, label in (("tiktoken", "tiktoken 0.14.0"), ("hf", "HF tokenizers 0.23.3")):
            for threads in (1, cores):
                env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true",
                           PYTHONPATH=python_path)
                best = None
                for _ in range(args.rounds):
                    stdout, wall, rss = run_measured([sys.executable, "-c", CHILD, kind, str(threads), docs_path],
                                                     env=env)
                    result = json.loads(stdout)
                    mb_s = text_bytes / result["seconds"] / 1e6
                    if best is None or mb_s > best[0]:
                        best = (mb_s, wall, rss, result["tokens"])
                rows.append((label, threads, best[0], "", best[2], best[3]))
    tiktoken_single = next(r[2] for r in rows if r[0].startswith("tiktoken") and r[1] == 1)
    print(f"{len(docs):,} documents, {text_bytes / 1e6:.1f} MB of text, {cores} cores, best of {args.rounds}\n")
    print("| tokenizer | threads | MB/s | vs tiktoken 1 thread | peak RSS | tokens | note |")
    print("|---|---|---|---|---|---|---|")
    for name, threads, mb_s, note, rss, tokens in rows:
        print(f"| {name} | {threads} | {mb_s:.1f} | {mb_s / tiktoken_single:.2f}x | {rss / 2**20:.0f} MiB | "
              f"{tokens:,} | {note} |")


if __name__ == "__main__":
    main()
