"""GPT-2 parity dump (the llm.c test_gpt2 idea) for tests/unit/gpt_test.cpp.

Builds a small random transformers.GPT2LMHeadModel (fp32, eager attention, no
dropout) and writes OUT/gpt2_parity/:
  model.safetensors     its state dict under HF names (lm_head.weight included: tied)
  config.json           a cocomix config: the model section, data.seq_len, AdamW settings
  reference.safetensors inputs/targets [B, T], logits [B, T, V], loss [1] (mean
                        cross-entropy of logits vs targets over all B*T positions,
                        computed here, not by HF's label shift), hidden_2 (HF
                        hidden_states[2], the output of block 1), grad.<name> for
                        every parameter (the lm_head gradient is folded into
                        transformer.wte.weight since they are one tensor), and
                        losses [10]: 10 AdamW steps on the same batch.
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel

from cocomix_tools.model import random_hf_gpt2

MODEL = dict(vocab_size=97, n_positions=32, n_embd=48, n_layer=3, n_head=4)
LAYER_NORM_EPS = 1e-5
B, T = 2, 16
ADAMW = dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1)
STEPS = 10


def build_model() -> GPT2LMHeadModel:
    model = random_hf_gpt2(MODEL, weight_std=0.1, layer_norm_epsilon=LAYER_NORM_EPS)
    assert model.config._attn_implementation == "eager"
    assert model.lm_head.weight is model.transformer.wte.weight
    return model


def mean_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="reference directory (COCOMIX_REFERENCE_DIR)")
    args = parser.parse_args()
    out = os.path.join(args.out, "gpt2_parity")
    os.makedirs(out, exist_ok=True)

    torch.manual_seed(1234)
    torch.set_num_threads(1)
    model = build_model()
    model.train()
    tokens = torch.randint(0, MODEL["vocab_size"], (B, T + 1))
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    state = {name: t.detach().clone().contiguous() for name, t in model.state_dict().items()}
    save_file(state, os.path.join(out, "model.safetensors"))
    config = {
        "model": dict(MODEL, dropout=0.0, layer_norm_epsilon=LAYER_NORM_EPS, init_std=0.02),
        "data": {"seq_len": T},
        "optim": dict(ADAMW, min_lr=0.0, warmup_steps=0, grad_clip=0.0, decay_all_params=True),
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    output = model(inputs, output_hidden_states=True)
    loss = mean_cross_entropy(output.logits, targets)
    loss.backward()
    reference = {
        "inputs": inputs,
        "targets": targets,
        "logits": output.logits.detach(),
        "loss": loss.detach().reshape(1),
        "hidden_2": output.hidden_states[2].detach(),
    }
    for name, p in model.named_parameters():  # the tied lm_head appears once, as wte
        reference["grad." + name] = p.grad.detach().clone()

    optimizer = torch.optim.AdamW(model.parameters(), lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                                  eps=ADAMW["eps"], weight_decay=ADAMW["weight_decay"], foreach=False)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        step_loss = mean_cross_entropy(model(inputs).logits, targets)
        step_loss.backward()
        optimizer.step()
        losses.append(step_loss.item())
    reference["losses"] = torch.tensor(losses, dtype=torch.float32)
    save_file({k: v.contiguous() for k, v in reference.items()}, os.path.join(out, "reference.safetensors"))
    print(f"wrote {out}: loss {loss.item():.6f}, losses {losses[0]:.6f} -> {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
