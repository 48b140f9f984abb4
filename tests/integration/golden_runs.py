"""The golden runs: one fixed scenario through every training path, whose numbers
must stay bitwise the same while the code around them is reorganised.

The scenario (fp32, one thread, fixed seeds): a synthetic corpus; a tiny NTP
teacher; a TopK SAE trained 200 steps on its layer 1; a concept-label cache
built from that teacher and SAE; then 20 training steps of every concept.mode
with the teacher in the loop, and of every mode with concept labels from the
cache. Recorded per run: each metrics record's loss-like fields (the exact JSON
floats) and the SHA-256 of the final model and optimizer files; for the SAE its
records and weights; for the cache its bytes.

    python tests/integration/golden_runs.py --write   # records tests/golden/golden.json

test_golden.py runs the same scenario and compares."""
import argparse
import hashlib
import json
import os
import platform
import struct
import sys

from cocomix_testlib import SOURCE_DIR, app, make_corpus, read_metrics, run, temp_dir, train_teacher, write_config

GOLDEN_FILE = os.path.join(SOURCE_DIR, "tests", "golden", "golden.json")
STEPS = 20
SAE_STEPS = 200
N_LATENTS = 96
MODES = ("ntp", "cocomix", "intervention", "concept_loss_only", "insertion_only", "kd", "pause", "pause_kd",
         "hidden_prediction")
CACHE_MODES = ("cocomix", "intervention", "concept_loss_only")  # the modes with concept labels
# Wall-clock fields differ between runs; every other field is compared.
WALL_CLOCK_FIELDS = ("tokens_per_second", "mfu", "seconds", "elapsed_seconds", "wall_time")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def label_cache_digest(path):
    """The cache's header without the data path (a temporary directory) and the SHA-256 of its labels."""
    with open(path, "rb") as f:
        f.read(8)  # magic
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        labels = hashlib.sha256(f.read()).hexdigest()
    header.pop("data")
    return {"header": header, "labels_sha256": labels}


def records(run_dir):
    return [{k: v for k, v in r.items() if k not in WALL_CLOCK_FIELDS} for r in read_metrics(run_dir)]


def cpu_model():
    """The CPU the numbers were made on: bitwise equality holds for the same kernels."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def concept_section(mode, teacher, sae):
    section = {"mode": mode, "insert_layer": 1, "n_concepts": N_LATENTS, "k_pred": 8, "k_attr": 4, "weight": 0.1}
    if mode == "ntp":
        return {"mode": "ntp"}
    section["teacher_path"] = teacher
    if mode in ("cocomix", "intervention", "concept_loss_only"):
        section["sae_path"] = sae
    if mode == "hidden_prediction":
        section.update({"teacher_layer": 1, "teacher_n_embd": 64, "hidden_mlp_width": 96})
    if mode in ("insertion_only", "pause"):
        del section["teacher_path"]
    return section


def scenario():
    """Runs everything; returns the dict that golden.json holds."""
    root = temp_dir()
    train, val = make_corpus(os.path.join(root, "data"), documents=60)
    fp32 = {"precision": "fp32", "threads": 1, "checkpoint_every": 0}
    teacher = train_teacher(root, train, val, train=dict(fp32, max_steps=8))

    sae = os.path.join(root, "sae")
    run([app("cocomix-sae"), "train", "--teacher", teacher, "--layer", "1", "--latents", str(N_LATENTS), "--k", "8",
         "--data", train, "--val", val, "--steps", str(SAE_STEPS), "--batch", "4", "--seq-len", "64", "--lr", "2e-3",
         "--seed", "3", "--threads", "1", "--dead-tokens", "2048", "--log-every", "10", "--eval-every", "100",
         "--checkpoint-every", "100", "--val-windows", "8", "-o", sae])
    golden = {"cpu": cpu_model(),
              "sae": {"records": records(sae), "sae.safetensors": sha256(os.path.join(sae, "sae.safetensors"))}}

    def config(name, mode, **sections):
        return write_config(os.path.join(root, name + ".json"), train, val,
                            train=dict(fp32, max_steps=STEPS, seed=11), eval={"every": 10, "max_batches": 2},
                            concept=concept_section(mode, teacher, sae), **sections)

    def train_run(name, config_path, *overrides):
        out = os.path.join(root, name)
        command = [app("cocomix-train"), "--config", config_path, "--out", out]
        for override in overrides:
            command += ["--set", override]
        run(command)
        final = os.path.join(out, "checkpoints", "step_%08d" % STEPS)
        return {"records": records(out), "model.safetensors": sha256(os.path.join(final, "model.safetensors")),
                "optimizer.safetensors": sha256(os.path.join(final, "optimizer.safetensors"))}

    golden["online"] = {mode: train_run("online_" + mode, config("online_" + mode, mode)) for mode in MODES}

    cache = os.path.join(root, "train.labels")
    label_config = config("label", "cocomix", data={"sampling": "fixed"})
    run([app("cocomix-sae"), "label", "--config", label_config, "-o", cache])
    golden["label_cache"] = label_cache_digest(cache)
    golden["cached"] = {}
    for mode in CACHE_MODES:
        path = config("cached_" + mode, mode, data={"sampling": "fixed"})
        golden["cached"][mode] = train_run("cached_" + mode, path, "concept.label_cache=" + cache)
    return golden


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="record the scenario into " + GOLDEN_FILE)
    args = parser.parse_args()
    golden = scenario()
    text = json.dumps(golden, indent=1, sort_keys=True) + "\n"
    if args.write:
        os.makedirs(os.path.dirname(GOLDEN_FILE), exist_ok=True)
        with open(GOLDEN_FILE, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
