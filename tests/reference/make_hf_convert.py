"""Hugging Face GPT-2 directory dump for tests/unit/hugging_face_test.cpp.

Builds a small random transformers.GPT2LMHeadModel (fp32, eager attention,
cocomix_tools.model.random_hf_gpt2) and writes OUT/hf_convert/:
  hf/                    its save_pretrained directory (config.json, model.safetensors, ...)
  reference.safetensors  inputs [B, T] int64 and HF's logits [B, T, V] for them (eval mode)
"""
import argparse
import os

import torch
from safetensors.torch import save_file

from cocomix_tools.model import random_hf_gpt2

MODEL = dict(vocab_size=101, n_positions=24, n_embd=32, n_layer=2, n_head=4)
B, T = 2, 24


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="reference directory (COCOMIX_REFERENCE_DIR)")
    args = parser.parse_args()
    out = os.path.join(args.out, "hf_convert")
    os.makedirs(out, exist_ok=True)

    torch.manual_seed(4321)
    torch.set_num_threads(1)
    model = random_hf_gpt2(MODEL, weight_std=0.1).eval()
    model.save_pretrained(os.path.join(out, "hf"), safe_serialization=True)

    inputs = torch.randint(0, MODEL["vocab_size"], (B, T))
    with torch.no_grad():
        logits = model(inputs).logits
    save_file({"inputs": inputs, "logits": logits.contiguous()}, os.path.join(out, "reference.safetensors"))
    print(f"wrote {out}: logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()
