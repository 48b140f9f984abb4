"""Generation throughput: cocomix-generate with the KV cache, without it (the
whole sequence recomputed per token), and transformers' generate, on the same
randomly initialised GPT-2 (imported into cocomix with cocomix-convert), greedy,
the same prompt ids and threads. cocomix's figures are the app's wall time
minus that of a 0-token run (loading and start-up); transformers' is the
generate call alone. Then --batch prompts of different lengths (4 to 11
words), decoded as one left-padded batch and one at a time (--batch-size 1),
--batch-tokens new tokens each: the tokens per second of each.

    PYTHONPATH=python ~/.cache/cocomix/venv/bin/python bench/generate_throughput.py [--threads 2]

Prints one JSON object per new-token count and markdown tables."""
import argparse
import json
import os
import subprocess
import tempfile
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from cocomix_tools.paths import apps_dir, shared_data


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
    parser.add_argument("--batch", type=int, default=16, help="prompts of the batched run (0: skip it)")
    parser.add_argument("--batch-tokens", type=int, default=64, help="new tokens per prompt in the batched run")
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
    if args.batch > 0:
        batched_throughput(args, run_dir, best)


def batched_throughput(args, run_dir, best):
    prompts = os.path.join(os.path.dirname(run_dir), "prompts.jsonl")
    generator = torch.Generator().manual_seed(1)
    with open(prompts, "w") as f:
        for i in range(args.batch):
            words = torch.randint(0, 26, (4 + i % 8,), generator=generator).tolist()
            f.write(json.dumps({"prompt": " ".join("abcdefghijklmnopqrstuvwxyz"[w] * 3 for w in words)}) + "\n")
    tokenizer = os.path.join(shared_data(), "gpt2_tokenizer")
    base = [os.path.join(apps_dir(), "cocomix-generate"), "--checkpoint", run_dir, "--prompts", prompts, "--threads",
            str(args.threads), "--greedy", "--tokenizer", tokenizer, "--json", os.path.join(run_dir, "out.json")]
    start_up = best(base + ["--max-new-tokens", "0"])
    times = {}
    for size in (args.batch, 1):
        times[size] = best(base + ["--max-new-tokens", str(args.batch_tokens), "--batch-size", str(size)]) - start_up
    with open(os.path.join(run_dir, "out.json")) as f:
        generated = sum(len(r["tokens"]) for r in json.load(f)["results"])
    row = {"prompts": args.batch, "new_tokens": generated, "batched_s": times[args.batch], "one_by_one_s": times[1],
           "batched_tokens_per_s": generated / times[args.batch], "one_by_one_tokens_per_s": generated / times[1]}
    print(json.dumps(row))
    print(f"\n{args.batch} prompts of 4-11 words, {generated} new tokens in all, start-up {start_up:.2f} s subtracted\n")
    print("| decoding | time | tokens/s |")
    print("|---|---|---|")
    print(f"| one left-padded batch of {args.batch} | {times[args.batch]:.3f} s | {row['batched_tokens_per_s']:.0f} |")
    print(f"| one prompt at a time | {times[1]:.3f} s | {row['one_by_one_tokens_per_s']:.0f} |")


if __name__ == "__main__":
    main()
