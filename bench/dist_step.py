"""Data-parallel step benchmark on this machine (docs/distributed.md): the same
global batch trained by 2 Gloo ranks x 1 thread (torchrun, loopback) and by 1 rank
x 2 threads; step time from metrics.jsonl and, for the 2-rank run, the share of
the step spent waiting for gradient all-reduces after backward (what the
overlap did not hide), from the reducer's closing log line. Random uint16
tokens; fp32; dropout 0. Run on a quiet machine (nothing else compiling).

    ~/.cache/cocomix/venv/bin/python bench/dist_step.py [--steps 6] [--config configs/small.json]
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("COCOMIX_BIN", os.path.join(ROOT, "build", "bin"))
TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step_seconds(out, tokens_per_step, skip):
    """Mean step time over the logged steps after the first `skip` (warm-up)."""
    with open(os.path.join(out, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if '"tokens_per_second"' in line]
    times = [tokens_per_step / r["tokens_per_second"] for r in records[skip:]]
    return sum(times) / len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--config", default="configs/small.json")
    parser.add_argument("--batch", type=int, default=4, help="global batch (sequences per step)")
    args = parser.parse_args()
    with open(os.path.join(ROOT, args.config)) as f:
        config = json.load(f)
    seq_len, vocab = config["data"]["seq_len"], config["model"]["vocab_size"]
    with tempfile.TemporaryDirectory(prefix="cocomix-dist-bench-") as directory:
        tokens = os.path.join(directory, "tokens.bin")
        np.random.default_rng(0).integers(0, vocab, 64 * args.batch * seq_len, dtype=np.uint16).tofile(tokens)
        common = ["--config", os.path.join(ROOT, args.config), "--set", f"data.train_path={tokens}",
                  "--set", "data.val_path=", "--set", "data.format=u16", "--set", "model.dropout=0",
                  "--set", "train.precision=fp32", "--set", "train.grad_accum_steps=1",
                  "--set", f"train.max_steps={args.steps}", "--set", "optim.warmup_steps=0",
                  "--set", "train.checkpoint_every=0",
                  "--set", "log.every=1", "--set", "log.tensorboard=false", "--set", "log.peak_flops=1e12"]
        tokens_per_step = args.batch * seq_len
        rows = []
        single = os.path.join(directory, "single")
        command = [os.path.join(BIN, "cocomix-train")] + common + [
            "--out", single, "--set", "train.threads=2", "--set", f"train.batch_size={args.batch}"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(result.stdout + result.stderr)
        rows.append(("1 rank x 2 threads", step_seconds(single, tokens_per_step, 1), None))
        double = os.path.join(directory, "double")
        command = [TORCHRUN, "--nproc-per-node", "2", "--master-port", str(free_port()), "--no-python",
                   os.path.join(BIN, "cocomix-train")] + common + [
            "--out", double, "--set", "train.threads=1", "--set", f"train.batch_size={args.batch // 2}"]
        result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        if result.returncode != 0:
            sys.exit(result.stdout + result.stderr)
        match = re.search(r"data parallel: (\d+) steps, ([0-9.]+) s waiting in the gradient reduction",
                          result.stdout + result.stderr)
        step = step_seconds(double, tokens_per_step, 1)
        wait = float(match.group(2)) / int(match.group(1)) if match else float("nan")
        rows.append(("2 Gloo ranks x 1 thread", step, wait))
    print(f"config {args.config}, global batch {args.batch} x {seq_len} tokens, fp32, {args.steps} steps "
          f"(first one not timed)\n")
    print("| run | step (s) | tokens/s | waiting on communication after backward |")
    print("|---|---|---|---|")
    for name, step, wait in rows:
        share = "-" if wait is None else f"{wait:.3f} s/step ({wait / step:.1%} of the step)"
        print(f"| {name} | {step:.2f} | {tokens_per_step / step:,.0f} | {share} |")


if __name__ == "__main__":
    main()
