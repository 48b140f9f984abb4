"""cocomix checkpoints and run directories: which checkpoint a path names, its
files checked against the digests their save recorded, the model sizes of a
config.json, and parameter counts."""
import hashlib
import json
import os
import warnings

import numpy as np

from .files import InputError

_UNVERIFIED_WARNED = set()  # checkpoints of the older "step N" form already warned about


def checkpoint_file(checkpoint, name):
    """CHECKPOINT/NAME, checked as the C++ loader checks it (io/checkpoint.h, load_checkpoint) against
    the sha256 that CHECKPOINT/COMPLETE records: {"step": N, "sha256": {FILE: hex}}. A COMPLETE of
    the older form "step N" records none: the file is read unverified, with one warning per checkpoint.
    A directory with neither COMPLETE nor trainer_state.json (a Hugging Face GPT-2 directory) has
    nothing to check. -> the path; InputError naming the file when it is missing or its digest differs
    ("DIR/FILE: corrupt: its sha256 is X, the save recorded Y"), or naming COMPLETE when it is missing
    from a checkpoint or unreadable."""
    checkpoint = str(checkpoint)
    path = os.path.join(checkpoint, name)
    complete = os.path.join(checkpoint, "COMPLETE")
    if not os.path.isfile(complete):
        if os.path.exists(os.path.join(checkpoint, "trainer_state.json")):
            raise InputError(f"{complete}: missing: the checkpoint is incomplete (its save was interrupted); "
                             "use an earlier one")
        return path
    try:
        with open(complete) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{complete}: cannot read ({e})")
    digests = None  # the older form
    if not text.startswith("step "):
        try:
            digests = json.loads(text)["sha256"]
            if not isinstance(digests, dict):
                raise TypeError(f"sha256 is {type(digests).__name__}, not an object")
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{complete}: unreadable ({e}): the checkpoint cannot be verified")
    if not os.path.isfile(path):
        raise InputError(f"{path}: missing from the checkpoint")
    if digests is None:
        if checkpoint not in _UNVERIFIED_WARNED:
            _UNVERIFIED_WARNED.add(checkpoint)
            warnings.warn(f"{checkpoint}: written without file digests (an older checkpoint): loaded without "
                          "verifying it", stacklevel=2)
        return path
    recorded = digests.get(name)
    if not isinstance(recorded, str):
        raise InputError(f"{complete}: records no sha256 of {name}")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})")
    if digest.hexdigest() != recorded:
        raise InputError(f"{path}: corrupt: its sha256 is {digest.hexdigest()}, the save recorded {recorded}")
    return path


def resolve_checkpoint(path):
    """A checkpoint directory (config.json + model.safetensors) or a run directory
    (its newest complete checkpoint) -> the checkpoint directory."""
    path = str(path)
    if os.path.isfile(os.path.join(path, "model.safetensors")):
        return path
    steps_dir = os.path.join(path, "checkpoints")
    if os.path.isdir(steps_dir):
        steps = sorted(name for name in os.listdir(steps_dir)
                       if name.startswith("step_") and os.path.exists(os.path.join(steps_dir, name, "COMPLETE")))
        if steps:
            return os.path.join(steps_dir, steps[-1])
    raise InputError(f"{path}: neither a checkpoint (model.safetensors) nor a run with a complete checkpoint")


def is_complete(path):
    """Whether `path` is a checkpoint or a run directory with a complete checkpoint."""
    try:
        resolve_checkpoint(path)
        return True
    except InputError:
        return False


def trained_steps(path):
    """The step of the newest complete checkpoint of a run directory (its trainer_state.json), or 0 when it has
    none: a run stopped by a signal keeps a complete checkpoint short of its max_steps."""
    if not is_complete(path):
        return 0
    state = checkpoint_file(resolve_checkpoint(path), "trainer_state.json")
    try:
        with open(state) as f:
            return int(json.load(f)["step"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{state}: no step ({e})")


def model_section(config, path):
    """The GPT's sizes from a cocomix config.json (section "model") or a Hugging Face GPT2Config,
    with seq_len: data.seq_len of a cocomix config (at most n_positions), else n_positions."""
    section = config.get("model", config) if isinstance(config, dict) else None
    if not isinstance(section, dict):
        raise InputError(f"{path}: expected a JSON object")
    out = {}
    for key in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
        value = section.get(key)
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{path}: model.{key}: expected a positive integer, got {value!r}")
        out[key] = value
    out["layer_norm_epsilon"] = float(section.get("layer_norm_epsilon", 1e-5))
    seq_len = config.get("data", {}).get("seq_len", out["n_positions"]) if "model" in config else out["n_positions"]
    out["seq_len"] = min(int(seq_len), out["n_positions"])
    return out


def parameter_count(path):
    """Every tensor of the checkpoint's model.safetensors (GPT, concept head, pause vector);
    `path` as for resolve_checkpoint."""
    from safetensors import safe_open
    total = 0
    with safe_open(checkpoint_file(resolve_checkpoint(path), "model.safetensors"), "np") as f:
        for key in f.keys():
            total += int(np.prod(f.get_slice(key).get_shape()))
    return total
