"""Helpers shared by the integration tests: where the apps are, how to run them,
a small corpus + config that trains in seconds on 2 cores, a random SAE. The
corpus rules (train/val split, --blocks) and the file readers are in cocomix_tools."""
import json
import os
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("COCOMIX_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
SOURCE_DIR = os.environ.get("COCOMIX_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED_DATA = os.environ.get("COCOMIX_SHARED_DATA", os.path.join(SOURCE_DIR, "..", "shared", "data"))


def app(name):
    return os.path.join(BIN, name)


def run(args, check=True, timeout=600, env=None):
    """Runs an app; returns the CompletedProcess (text mode)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise AssertionError(f"{args} exited {result.returncode}")
    return result


def make_corpus(directory, documents=300, seed=1):
    run([app("cocomix-tokenize"), "--synthetic", "--documents", str(documents), "--seed", str(seed), "-o", directory])
    return os.path.join(directory, "train.bin"), os.path.join(directory, "val.bin")


def write_config(path, train_path, val_path, **sections):
    """A very small model; `sections` override whole keys, e.g. train={"max_steps": 8}."""
    config = {
        "model": {"vocab_size": 257, "n_positions": 64, "n_embd": 64, "n_layer": 2, "n_head": 4, "dropout": 0.1},
        "data": {"train_path": train_path, "val_path": val_path, "seq_len": 64},
        "optim": {"lr": 1e-3, "min_lr": 1e-4, "warmup_steps": 4},
        "train": {"batch_size": 4, "max_steps": 24, "seed": 7, "threads": 1, "precision": "bf16",
                  "checkpoint_every": 4, "keep_checkpoints": 10},
        "eval": {"every": 8, "max_batches": 2, "batch_size": 4},
        "log": {"every": 1, "tensorboard": False, "peak_flops": 1e12},
    }
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def train_teacher(root, train_path, val_path, **sections):
    """A tiny NTP model trained with cocomix-train into ROOT/teacher (the teacher of
    the SAE and CoCoMix tests); `sections` as for write_config."""
    config = write_config(os.path.join(root, "teacher.json"), train_path, val_path, **sections)
    teacher = os.path.join(root, "teacher")
    run([app("cocomix-train"), "--config", config, "--out", teacher])
    return teacher


def tiny_teacher_and_sae(root, latents):
    """A 90-document synthetic corpus split half and half into ROOT/data, a teacher trained on it
    for 30 steps (fp32) and a TopK SAE of `latents` latents (k 8) on its layer 1 trained for 30
    steps: the models of the tests that read concepts. -> (train_file, val_file, teacher, sae)."""
    data = os.path.join(root, "data")
    run([app("cocomix-tokenize"), "--synthetic", "--documents", "90", "--seed", "3", "--val-fraction", "0.5",
         "-o", data])
    train_file, val_file = os.path.join(data, "train.bin"), os.path.join(data, "val.bin")
    teacher = train_teacher(root, train_file, val_file,
                            train={"max_steps": 30, "checkpoint_every": 30, "precision": "fp32"},
                            eval={"every": 30, "max_batches": 1, "batch_size": 4})
    sae = os.path.join(root, "sae")
    run([app("cocomix-sae"), "train", "--teacher", teacher, "--layer", "1", "--latents", str(latents),
         "--k", "8", "--data", train_file, "--steps", "30", "--batch", "8", "--seq-len", "64", "--lr", "2e-3",
         "--seed", "3", "--threads", "1", "--log-every", "10", "-o", sae])
    return train_file, val_file, teacher, sae


def write_sae(directory, d, layer, k=8, seed=0, n_latents=96):
    """A random TopK SAE (sae.json + sae.safetensors) of width d on the teacher's layer."""
    import torch
    from cocomix_tools.model import write_sae as write_sae_directory
    generator = torch.Generator().manual_seed(seed)
    tensors = {"pre_bias": torch.zeros(d), "latent_bias": torch.zeros(n_latents),
               "encoder.weight": torch.randn(n_latents, d, generator=generator) / d ** 0.5,
               "decoder.weight": torch.randn(d, n_latents, generator=generator) / d ** 0.5}
    return write_sae_directory(directory, tensors, k, layer)


def train_cocomix_student(root, steps=6):
    """A tiny NTP teacher, a random SAE (C = 96 latents, k = 8) on its layer 1 and a CoCoMix
    student (L_s = 1, k_pred = 8, K_attr = 4) trained STEPS steps with the teacher in the
    loop, its last checkpoint at step STEPS -> (teacher run, SAE dir, student run, val token file)."""
    train_path, val_path = make_corpus(os.path.join(root, "data"))
    teacher = train_teacher(root, train_path, val_path, train={"max_steps": 8, "checkpoint_every": 0})
    sae = write_sae(os.path.join(root, "sae"), d=64, layer=1)
    concept = {"mode": "cocomix", "teacher_path": teacher, "sae_path": sae, "n_concepts": 96, "insert_layer": 1,
               "k_pred": 8, "k_attr": 4, "weight": 0.1}
    config = write_config(os.path.join(root, "cocomix.json"), train_path, val_path,
                          train={"max_steps": steps, "checkpoint_every": steps}, eval={"every": 0},
                          optim={"warmup_steps": 1}, concept=concept)
    student = os.path.join(root, "student")
    run([app("cocomix-train"), "--config", config, "--out", student])
    return teacher, sae, student, val_path


def read_metrics(run_dir):
    """metrics.jsonl as a list of dicts (floats parsed exactly from their JSON text)."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def wait_for_checkpoint(processes, run_dir, step, timeout=300, poll=0.02):
    """Returns once RUN_DIR's checkpoint of STEP is complete; AssertionError if any of the
    training PROCESSES ends first or TIMEOUT seconds pass (the callers then kill them)."""
    marker = os.path.join(run_dir, "checkpoints", f"step_{step:08d}", "COMPLETE")
    deadline = time.time() + timeout
    while not os.path.exists(marker):
        if any(p.poll() is not None for p in processes):
            raise AssertionError("training ended early")
        if time.time() > deadline:
            raise AssertionError(f"no checkpoint {marker} after {timeout} s")
        time.sleep(poll)


def temp_dir():
    return tempfile.mkdtemp(prefix="cocomix-test-")

