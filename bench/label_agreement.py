"""How far concept labels from a bf16 teacher are from those of an fp32 teacher:
`cocomix-sae label` labels every window of a corpus twice, with
concept.teacher_precision fp32 and bf16 (the teacher and the SAE under bf16
autocast), and the two label caches (docs/label-cache.md) are compared position
by position. Prints one JSON object:
  identical_sets   share of positions whose K_attr labels are the same set
  mean_overlap     mean of |fp32 set ∩ bf16 set| / K_attr
  top1_agreement   share of positions whose highest-scoring label is the same
and the positions and seconds of each labelling. Runs on the CPU (where a bf16
teacher is slower without AMX; the figure of interest is the agreement, which
decides whether a GPU run may label in bf16).

    PYTHONPATH=python ~/.cache/cocomix/venv/bin/python bench/label_agreement.py --config CONFIG \
        --data TOKENS [--set section.key=value]... [--out DIR]

CONFIG is a CoCoMix training config (its teacher, SAE, seq_len and K_attr);
TOKENS the token file or directory to label (in place of data.train_path).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

from cocomix_tools.paths import apps_dir


def read_label_cache(path):
    """(header, ids [windows, seq_len, k_attr]) of a label cache file."""
    with open(path, "rb") as f:
        magic = f.read(8)
        if magic != b"CCMXLBLS":
            raise ValueError(f"{path}: not a label cache (magic {magic!r})")
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    dtype = np.uint16 if header["id_type"] == "uint16" else np.int32
    ids = np.fromfile(path, dtype=dtype, offset=16 + length)
    return header, ids.reshape(header["windows"], header["seq_len"], header["k_attr"])


def agreement(reference, other):
    """Label ids [..., K] of two labellings (each position's labels by score descending) -> the figures."""
    if reference.shape != other.shape:
        raise ValueError(f"label shapes differ: {reference.shape} and {other.shape}")
    k = reference.shape[-1]
    a = np.sort(reference.reshape(-1, k), axis=1)
    b = np.sort(other.reshape(-1, k), axis=1)
    # |A ∩ B| per row: each label of A found in B (labels within a row are distinct).
    overlap = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return {"positions": int(a.shape[0]),
            "identical_sets": float((overlap == k).mean()),
            "mean_overlap": float(overlap.mean() / k),
            "top1_agreement": float((reference.reshape(-1, k)[:, 0] == other.reshape(-1, k)[:, 0]).mean())}


def label(config, data, overrides, precision, output):
    command = [os.path.join(apps_dir(), "cocomix-sae"), "label", "--config", config, "-o", output,
               "--set", f"data.train_path={data}", "--set", "data.sampling=fixed",
               "--set", f"concept.teacher_precision={precision}"]
    for override in overrides:
        command += ["--set", override]
    start = time.time()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--data", required=True, help="token file or directory to label")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    parser.add_argument("--out", help="where the two caches go (default: a temporary directory)")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="cocomix-label-agreement-")
    os.makedirs(out, exist_ok=True)
    seconds, labels = {}, {}
    for precision in ("fp32", "bf16"):
        path = os.path.join(out, f"{precision}.labels")
        seconds[precision] = label(args.config, args.data, args.overrides, precision, path)
        labels[precision] = read_label_cache(path)[1]
    result = agreement(labels["fp32"], labels["bf16"])
    result.update({"k_attr": int(labels["fp32"].shape[-1]), "config": args.config, "data": args.data,
                   "fp32_seconds": round(seconds["fp32"], 1), "bf16_seconds": round(seconds["bf16"], 1)})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
