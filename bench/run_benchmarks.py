"""Training-step benchmark: cocomix (C++, cocomix-bench) against the same model
and step in eager PyTorch from the same torch wheel, fp32 and bf16 autocast, for
configs/tiny.json and configs/small.json. Prints a markdown table (copied into
docs/benchmarks.md) and the raw JSON lines. The two sides alternate for
--rounds rounds and each reports its median round, so a slow spell of a shared
machine hits both rather than one.

    ~/.cache/cocomix/venv/bin/python bench/run_benchmarks.py [--steps 5] [--rounds 3] [--threads 2]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("COCOMIX_BIN", os.path.join(ROOT, "build", "bin"))


def run_json(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_run(runs):
    """The run whose step time is the median (the lower one of an even count)."""
    return sorted(runs, key=lambda run: run["step_seconds"])[(len(runs) - 1) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--configs", nargs="+", default=["configs/tiny.json", "configs/small.json"])
    args = parser.parse_args()
    rows = []
    for config_path in args.configs:
        with open(os.path.join(ROOT, config_path)) as f:
            config = json.load(f)
        m, d, t = config["model"], config["data"], config["train"]
        for precision in ("fp32", "bf16"):
            cpp_command = [os.path.join(BIN, "cocomix-bench"), "--config", os.path.join(ROOT, config_path),
                           "--steps", str(args.steps), "--set", f"train.precision={precision}",
                           "--set", f"train.threads={args.threads}", "--set", "model.dropout=0",
                           "--set", "train.grad_accum_steps=1"]
            py_command = [sys.executable, os.path.join(ROOT, "bench", "python_eager_step.py"),
                          "--vocab", str(m["vocab_size"]), "--positions", str(m["n_positions"]),
                          "--d", str(m["n_embd"]), "--layers", str(m["n_layer"]), "--heads", str(m["n_head"]),
                          "--batch", str(t["batch_size"]), "--seq", str(d["seq_len"]), "--steps", str(args.steps),
                          "--threads", str(args.threads), "--precision", precision]
            cpp_runs, py_runs = [], []
            for _ in range(args.rounds):
                cpp_runs.append(run_json(cpp_command))
                py_runs.append(run_json(py_command))
            cpp, py = median_run(cpp_runs), median_run(py_runs)
            print(json.dumps({"cpp": cpp, "python": py}), flush=True)
            rows.append((config_path, precision, cpp, py))
    print()
    print("| config | precision | C++ step (s) | Python step (s) | C++/Python | C++ tokens/s | Python tokens/s "
          "| matmul peak (GFLOP/s) | C++ MFU | C++ peak RSS | Python peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for config_path, precision, cpp, py in rows:
        print(f"| {os.path.basename(config_path)} | {precision} | {cpp['step_seconds']:.3f} | {py['step_seconds']:.3f} "
              f"| {cpp['step_seconds'] / py['step_seconds']:.2f} | {cpp['tokens_per_second']:,.0f} "
              f"| {py['tokens_per_second']:,.0f} | {cpp['matmul_peak_flops'] / 1e9:,.0f} | {cpp['mfu'] * 100:.1f}% "
              f"| {cpp['peak_rss_bytes'] / 2**20:,.0f} MiB | {py['peak_rss_bytes'] / 2**20:,.0f} MiB |")
    by = {(c, p): cpp for c, p, cpp, _ in rows}
    for config_path in args.configs:
        if (config_path, "fp32") in by and (config_path, "bf16") in by:
            speedup = by[(config_path, "bf16")]["tokens_per_second"] / by[(config_path, "fp32")]["tokens_per_second"]
            print(f"\n{os.path.basename(config_path)}: bf16 autocast = {speedup:.2f}x the fp32 tokens/s (C++)")


if __name__ == "__main__":
    main()
