"""cocomix checkpoints and run directories: which checkpoint a path names, the
model sizes of a config.json, and parameter counts."""
import json
import os

import numpy as np

from .files import InputError


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
    state = os.path.join(resolve_checkpoint(path), "trainer_state.json")
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
    with safe_open(os.path.join(resolve_checkpoint(path), "model.safetensors"), "np") as f:
        for key in f.keys():
            total += int(np.prod(f.get_slice(key).get_shape()))
    return total
