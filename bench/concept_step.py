"""CoCoMix-family step benchmark: the training step of cocomix, kd, pause and
hidden_prediction against ntp at the same student config (configs/small.json by default), with the
concept labels' share (teacher forward, attribution backward above L_t, SAE
encode, label selection). The teacher is a randomly initialised GPT-2 small
(124M, d_t 768, 12 layers) and its SAE a random 32768-latent TopK SAE at L_t=6:
speed does not depend on the weights. "ntp (matched)" is NTP with the width raised
until its parameter count matches CoCoMix's (student plus concept head), the
parameter-matched baseline the paper compares with. Also "cocomix (cache)": the same CoCoMix
step with the labels read from a concept-label cache (docs/label-cache.md) that
`cocomix-sae label` builds first over train.batch_size windows of random tokens:
no teacher in the loop. The breakdown columns are each timed alone on the same
batch by cocomix-bench: the teacher below L_t, the SAE encode, the rest of the
labels (teacher above L_t, attribution backward, scoring and selection), the
AdamW update, and what remains, the student's forward and backward. Prints a
markdown table and JSON lines.

    PYTHONPATH=python ~/.cache/cocomix/venv/bin/python bench/concept_step.py [--steps 3] [--config configs/small.json]
        [--modes ntp,"ntp (matched)",cocomix,"cocomix (cache)",kd,pause,hidden_prediction]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from cocomix_tools.model import gpt_parameters, matched_width
from cocomix_tools.random_models import LAYER, N_LATENTS, random_gpt2_teacher_and_sae
from cocomix_tools.paths import REPO_ROOT, apps_dir

ROOT = str(REPO_ROOT)
BIN = apps_dir()
MODES = ("ntp", "ntp (matched)", "cocomix", "cocomix (cache)", "kd", "pause", "hidden_prediction")


def matched_ntp_width(model):
    """The NTP width matched to CoCoMix's parameters, the student plus the concept head
    (pre_bias d, predictor d x C + C, compressor C x d + d), and that CoCoMix count."""
    shape = (model["vocab_size"], model["n_positions"], model["n_layer"])
    d = model["n_embd"]
    cocomix = gpt_parameters(*shape, d) + 2 * d * N_LATENTS + N_LATENTS + 2 * d
    return matched_width(cocomix, *shape, model["n_head"], d), cocomix


def make_label_cache(directory, base_command, config):
    """Random uint16 tokens for batch_size windows and the cache of their labels; returns the
    --set arguments that make cocomix-bench read them."""
    with open(os.path.join(ROOT, config)) as f:
        data = json.load(f)
    seq_len, batch = data.get("data", {}).get("seq_len", 1024), data.get("train", {}).get("batch_size", 8)
    vocab = data.get("model", {}).get("vocab_size", 50257)
    tokens = os.path.join(directory, "tokens.bin")
    np.random.default_rng(0).integers(0, vocab, batch * seq_len + 1, dtype=np.uint16).tofile(tokens)
    cache = os.path.join(directory, "tokens.labels")
    settings = ["--set", f"data.train_path={tokens}", "--set", "data.format=u16", "--set", "data.sampling=fixed"]
    label = [os.path.join(BIN, "cocomix-sae"), "label", "--config", os.path.join(ROOT, config), "-o", cache]
    result = subprocess.run(label + base_command + settings, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(label)} failed:\n{result.stderr}")
    return settings + ["--set", f"concept.label_cache={cache}"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--config", default="configs/small.json")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--modes", default=",".join(MODES),
                        help="rows to measure (ntp is always first: the others are given as multiples of it)")
    args = parser.parse_args()
    modes = ["ntp"] + [m for m in args.modes.split(",") if m and m != "ntp"]
    for mode in modes:
        if mode not in MODES:
            sys.exit(f"error: concept_step.py: --modes: unknown mode {mode!r} (choose from {', '.join(MODES)})")
    with tempfile.TemporaryDirectory(prefix="cocomix-bench-") as directory:
        teacher, sae = random_gpt2_teacher_and_sae(directory)
        cocomix_settings = ["--set", "model.dropout=0", "--set", f"train.threads={args.threads}",
                            "--set", "train.grad_accum_steps=1", "--set", "concept.mode=cocomix",
                            "--set", f"concept.teacher_path={teacher}", "--set", "concept.insert_layer=3",
                            "--set", f"concept.n_concepts={N_LATENTS}", "--set", f"concept.sae_path={sae}"]
        from_cache = make_label_cache(directory, cocomix_settings, args.config) if "cocomix (cache)" in modes else []
        with open(os.path.join(ROOT, args.config)) as f:
            model = json.load(f)["model"]
        width, cocomix_parameters = matched_ntp_width(model)
        rows = []
        for mode in modes:
            command = [os.path.join(BIN, "cocomix-bench"), "--config", os.path.join(ROOT, args.config),
                       "--steps", str(args.steps), "--warmup", "1", "--set", "model.dropout=0",
                       "--set", f"train.threads={args.threads}", "--set", "train.grad_accum_steps=1",
                       "--set", f"concept.mode={mode.split()[0]}"]
            if mode.split()[0] != "ntp":
                command += ["--set", f"concept.teacher_path={teacher}", "--set", "concept.insert_layer=3",
                            "--set", f"concept.n_concepts={N_LATENTS}"]
            if mode.startswith("cocomix"):
                command += ["--set", f"concept.sae_path={sae}"]
            if mode == "hidden_prediction":  # the teacher's h after block L_t = 6 (d_t = 768) as the target
                command += ["--set", f"concept.teacher_layer={LAYER}", "--set", "concept.teacher_n_embd=768"]
            if mode == "cocomix (cache)":
                command += from_cache
            if mode == "ntp (matched)":
                command += ["--set", f"model.n_embd={width}"]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
            record = json.loads(result.stdout.strip().splitlines()[-1])
            if mode == "cocomix" and record["trainable_parameters"] != cocomix_parameters:
                sys.exit(f"concept_step.py: cocomix has {record['trainable_parameters']} parameters, "
                         f"the matched width was computed for {cocomix_parameters}")
            print(json.dumps(record), flush=True)
            rows.append((mode, record))
    ntp_step = rows[0][1]["step_seconds"]
    matched = dict(rows).get("ntp (matched)")
    print(f"\nntp (matched): d={width}; CoCoMix {cocomix_parameters:,} parameters\n")
    print("| mode | parameters | step (s) | × ntp | × ntp (matched) | teacher below L_t (s) "
          "| teacher above L_t + attribution backward (s) | SAE encode (s) | student forward + backward (s) "
          "| AdamW (s) | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode, r in rows:
        step, labels, lower, sae = (r[k] for k in ("step_seconds", "labeler_seconds", "teacher_lower_seconds",
                                                   "sae_encode_seconds"))
        versus_matched = f"{step / matched['step_seconds']:.2f}" if matched else "-"
        print(f"| {mode} | {r['trainable_parameters']:,} | {step:.2f} | {step / ntp_step:.2f} | {versus_matched} "
              f"| {lower:.2f} | {labels - lower - sae:.2f} | {sae:.2f} "
              f"| {step - labels - r['optimizer_seconds']:.2f} | {r['optimizer_seconds']:.2f} "
              f"| {r['peak_rss_bytes'] / 2**20:,.0f} MiB |")


if __name__ == "__main__":
    main()
