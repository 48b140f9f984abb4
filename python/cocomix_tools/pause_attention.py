"""Where a pause student's pause slots look: for each block at or above L_s, the
attention weight the slot after token t puts on token t's own slot (the one key
that holds what a next-token prediction needs first), averaged over heads' best
and over validation windows, against the uniform weight 1/(2t+2) of a slot that
looks nowhere in particular. A pause slot is where the pause student reads its
logits (method spec §4), so a weight near uniform means the prediction of token
t+1 cannot see token t.

    python -m cocomix_tools.pause_attention RUN_OR_CHECKPOINT --data CORPUS_DIR [--windows 16]

Prints one JSON object: per block, "own_token" (mean over windows, positions and
heads of the largest head's weight on token t), "uniform" (the same mean of
1/(2t+2)), and the pause layout read from the checkpoint's config.
"""
import argparse
import json
import sys

import numpy as np
import torch

from .corpus import Manifest, read_token_file
from .files import InputError
from .model import GPT2


def analyse(checkpoint, data, windows):
    model = GPT2(checkpoint)
    concept = model.config.get("concept", {})
    if concept.get("mode") not in ("pause", "pause_kd"):
        raise InputError(f"{model.checkpoint}/config.json: concept.mode: {concept.get('mode')!r} is not a pause mode")
    # A config without the key predates positioned pause slots (as load_model reads it).
    position = concept.get("pause_position", "none")
    insert_layer, T = concept["insert_layer"], model.config["data"]["seq_len"]
    tokens = read_token_file(Manifest(data).token_files("val")[0])
    count = min(windows, (len(tokens) - 1) // T)
    if count == 0:
        raise InputError(f"{data}: the val split has no window of {T} tokens")
    idx = torch.from_numpy(tokens[:count * T].astype(np.int64).reshape(count, T))  # [W, T]
    with torch.no_grad():
        h = model.hidden_after(idx, insert_layer)  # [W, T, d]
        slot = model.t("pause.vector").expand_as(h)
        if position == "token":
            slot = slot + model.t("transformer.wpe.weight")[:T]
        mixed = torch.stack([h, slot], dim=2).reshape(count, 2 * T, -1)
        t = torch.arange(T)
        result = {"checkpoint": model.checkpoint, "pause_position": position, "insert_layer": insert_layer,
                  "windows": count, "blocks": []}
        for block in range(insert_layer, model.sizes["n_layer"]):
            attention = model.attention(mixed, block)  # [W, H, 2T, 2T]
            own = attention[:, :, 2 * t + 1, 2 * t]  # slot after token t -> token t: [W, H, T]
            result["blocks"].append({"block": block, "own_token": own.max(dim=1).values.mean().item(),
                                     "uniform": (1.0 / (2 * t + 2).double()).mean().item()})
            mixed = model.block(mixed, block)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a pause student's run or checkpoint directory")
    p.add_argument("--data", required=True, help="the cocomix-tokenize directory it was trained on (its val split)")
    p.add_argument("--windows", type=int, default=16, help="validation windows to average over")
    args = p.parse_args(argv)
    try:
        print(json.dumps(analyse(args.checkpoint, args.data, args.windows), indent=2))
    except InputError as error:
        sys.exit(f"error: pause_attention: {error}")


if __name__ == "__main__":
    main()
