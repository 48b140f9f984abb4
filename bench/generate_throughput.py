"""Generation throughput: cocomix-generate with the KV cache, without it (the
whole sequence recomputed per token), and transformers' generate, on the same
randomly initialised GPT-2 (imported into cocomix with cocomix-convert), greedy,
the same prompt ids and threads. cocomix's figures are the app's wall time
minus that of a 0-token run (loading and start-up); transformers' is the
generate call alone.

    PYTHONPATH=python ~/.cache/cocomix/venv/bin/python bench/generate_throughput.py [--threads 2]

Prints one JSON object per new-token count and a markdown table."""
import argparse
import json
import os
import subprocess
import tempfile
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from cocomix_tools.paths import apps_dir


def seconds(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-embd", type=int, default=384)
    parser.add_argument("--n-layer", type=int, default=6)
    parser.add_argument("--new-tokens", default="1,64,256")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs per figure")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = tempfile.mkdtemp(prefix="cocomix-generate-bench-")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50257, n_positions=512, n_embd=args.n_embd, n_layer=args.n_layer,
                        n_head=args.n_embd // 64, initializer_range=0.3)
    model = GPT2LMHeadModel(config).eval()
    hf_dir = os.path.join(work, "hf")
    model.save_pretrained(hf_dir, safe_serialization=True)
    run_dir = os.path.join(work, "run")
    subprocess.run([os.path.join(apps_dir(), "cocomix-convert"), "import", "--hf", hf_dir, "--out", run_dir],
                   check=True, capture_output=True)
    prompt = [464, 2068, 7586, 21831, 18045, 625, 262, 16931]
    base = [os.path.join(apps_dir(), "cocomix-generate"), "--checkpoint", run_dir, "--prompt-ids",
            ",".join(map(str, prompt)), "--threads", str(args.threads), "--greedy"]

    def best(command):
        return min(seconds(command) for _ in range(args.rounds))

    start_up = best(base + ["--max-new-tokens", "0"])
    rows = []
    for n in map(int, args.new_tokens.split(",")):
        cached = best(base + ["--max-new-tokens", str(n)]) - start_up
        recomputed = best(base + ["--max-new-tokens", str(n), "--no-cache"]) - start_up
        inputs = torch.tensor([prompt])
        hf_times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            with torch.no_grad():
                model.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=n, min_new_tokens=n,
                               do_sample=False, pad_token_id=50256)
            hf_times.append(time.perf_counter() - start)
        row = {"new_tokens": n, "cached_s": cached, "recomputed_s": recomputed, "transformers_s": min(hf_times),
               "cache_speedup": recomputed / cached, "vs_transformers": min(hf_times) / cached}
        rows.append(row)
        print(json.dumps(row))
    print(f"\nGPT-2 d={args.n_embd}, {args.n_layer} layers, vocab 50257, {args.threads} threads, "
          f"prompt {len(prompt)} tokens, start-up {start_up:.2f} s subtracted\n")
    print("| new tokens | cache | no cache | transformers | cache speed-up | transformers / cache |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['new_tokens']} | {r['cached_s']:.3f} s | {r['recomputed_s']:.3f} s | {r['transformers_s']:.3f} s "
              f"| {r['cache_speedup']:.1f}x | {r['vs_transformers']:.2f}x |")


if __name__ == "__main__":
    main()
