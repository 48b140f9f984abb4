#!/usr/bin/env python3
"""Converts one of OpenAI's released TopK sparse autoencoders (Gao et al. 2024;
github.com/openai/sparse_autoencoder) into a cocomix SAE directory:
SAE_DIR/sae.safetensors (pre_bias, encoder.weight, latent_bias, decoder.weight)
and SAE_DIR/sae.json (d, n_latents, k, layer, teacher_sha256, sha256), docs/file-formats.md.

    python scripts/convert_openai_sae.py resid_post_mlp_v5_32k/autoencoders/5.pt -o sae_gpt2_l6 \\
        [--layer 6] [--teacher GPT2_DIR]

The input is a torch pickle of sparse_autoencoder.model.Autoencoder.state_dict():
the four parameters, the buffers stats_last_nonzero, latents_activation_frequency
and latents_mean_square (training statistics, dropped here), and "activation" /
"activation_state_dict" ("TopK", {"k": 32, "postact_fn": "ReLU"}). Their
Autoencoder normalises its input (LN without affine) exactly when the activation
is TopK, which is the SAE cocomix implements; other activations are refused.

Layer: OpenAI's "resid_post_mlp" file N.pt encodes the residual stream after the
MLP of block N (0-based), i.e. Hugging Face hidden_states[N + 1]; cocomix's
layer counts blocks run, so the default is N + 1 (5.pt -> 6, the spec's L_t).
"""
import argparse
import hashlib
import json
import os
import re
import sys

import torch
from safetensors.torch import save_file

PARAMETERS = ("pre_bias", "encoder.weight", "latent_bias", "decoder.weight")
DROPPED = ("stats_last_nonzero", "latents_activation_frequency", "latents_mean_square")


def fail(message):
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_state_dict(path):
    try:
        # weights_only: the file comes from the internet; its non-tensor entries
        # (a string and a dict of an int and a string) are allowed.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds; report the one line
        fail(f"{path}: cannot read as a torch state dict ({type(e).__name__}: {str(e).splitlines()[0]})")
    if not isinstance(state, dict):
        fail(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def convert(state, source, k_override, layer, teacher_sha256):
    """The four tensors (float32, contiguous) and the sae.json document."""
    for name in PARAMETERS:
        if name not in state:
            fail(f"{source}: tensor {name}: missing (not an OpenAI sparse_autoencoder state dict?)")
        if not isinstance(state[name], torch.Tensor) or not state[name].is_floating_point():
            fail(f"{source}: {name}: expected a floating-point tensor")
    activation = state.get("activation", "ReLU")
    if activation != "TopK":
        fail(f"{source}: activation: {activation!r}; only TopK autoencoders (which normalise their input) convert")
    act_state = state.get("activation_state_dict", {})
    postact = act_state.get("postact_fn", "ReLU")
    if postact != "ReLU":
        fail(f"{source}: activation_state_dict.postact_fn: {postact!r}; cocomix applies ReLU after TopK")
    k = k_override if k_override is not None else act_state.get("k")
    if not isinstance(k, int) or k < 1:
        fail(f"{source}: activation_state_dict.k: missing or not a positive integer ({k!r}); pass --k")

    n_latents, d = state["encoder.weight"].shape
    expected = {"pre_bias": (d,), "encoder.weight": (n_latents, d), "latent_bias": (n_latents,),
                "decoder.weight": (d, n_latents)}
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            fail(f"{source}: tensor {name}: shape {list(state[name].shape)}, expected {list(shape)} "
                 f"(d {d}, n_latents {n_latents} from encoder.weight)")
    if k > n_latents:
        fail(f"{source}: k {k} exceeds n_latents {n_latents}")
    unknown = sorted(set(state) - set(PARAMETERS) - set(DROPPED) - {"activation", "activation_state_dict"})
    if unknown:
        fail(f"{source}: unexpected entries {unknown}")
    # OpenAI keeps the decoder column-major for its kernels: write it contiguous.
    tensors = {name: state[name].detach().to(torch.float32).contiguous() for name in PARAMETERS}
    info = {"d": d, "n_latents": n_latents, "k": k, "layer": layer, "teacher_sha256": teacher_sha256}
    return tensors, info


def default_layer(path):
    match = re.fullmatch(r"(\d+)\.pt", os.path.basename(path))
    if match is None:
        fail(f"{path}: cannot infer the layer from the file name (expected N.pt); pass --layer")
    return int(match.group(1)) + 1


def write_atomically(path, write):
    temporary = path + ".tmp"
    write(temporary)
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("checkpoint", help="OpenAI autoencoder .pt file (e.g. resid_post_mlp_v5_32k/autoencoders/5.pt)")
    parser.add_argument("-o", "--out", required=True, help="SAE directory to write")
    parser.add_argument("--layer", type=int, help="cocomix layer L (blocks run before the SAE); default N + 1 for N.pt")
    parser.add_argument("--k", type=int, help="override TopK's k (default: the file's activation_state_dict.k)")
    parser.add_argument("--teacher", help="teacher directory whose model.safetensors is hashed into sae.json")
    args = parser.parse_args()

    layer = args.layer if args.layer is not None else default_layer(args.checkpoint)
    if layer < 1:
        fail(f"--layer: must be positive, got {layer}")
    teacher_sha256 = ""
    if args.teacher:
        weights = os.path.join(args.teacher, "model.safetensors")
        if not os.path.isfile(weights):
            fail(f"{weights}: missing (--teacher must be a Hugging Face GPT-2 directory with model.safetensors)")
        teacher_sha256 = sha256_file(weights)

    tensors, info = convert(read_state_dict(args.checkpoint), args.checkpoint, args.k, layer, teacher_sha256)
    os.makedirs(args.out, exist_ok=True)
    weights = os.path.join(args.out, "sae.safetensors")
    write_atomically(weights, lambda path: save_file(tensors, path))
    info["sha256"] = sha256_file(weights)  # load_sae checks the weights against it

    def write_json(path):
        with open(path, "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")

    write_atomically(os.path.join(args.out, "sae.json"), write_json)
    print(f"{args.checkpoint} -> {args.out}: d {info['d']}, n_latents {info['n_latents']}, k {info['k']}, "
          f"layer {info['layer']}")


if __name__ == "__main__":
    main()
