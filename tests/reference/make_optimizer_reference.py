"""Reference dumps for the optimizer and LR-schedule unit tests.

lr_schedule.json: learning rates produced by transformers'
get_cosine_with_min_lr_schedule_with_warmup (through its LambdaLR) for a few
schedules, one value per optimizer step. optimizer_reference.safetensors: a tiny
MLP trained for a few steps with torch.optim.AdamW(foreach=False) under that
schedule, in both weight-decay modes: initial parameters, inputs, losses, final
parameters and the final AdamW state.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import get_cosine_with_min_lr_schedule_with_warmup

# (lr, min_lr, warmup_steps, max_steps); values are dumped for steps 0..max_steps+3.
SCHEDULES = [
    (6e-4, 6e-5, 10, 100),
    (1e-3, 0.0, 0, 37),
    (3e-4, 3e-4, 5, 20),
    (1e-2, 1e-3, 20, 20),
    (2.5e-4, 1e-5, 1, 2),
]

OPTIM = {
    "lr": 1e-2,
    "min_lr": 1e-3,
    "warmup_steps": 3,
    "max_steps": 10,
    "beta1": 0.9,
    "beta2": 0.95,
    "eps": 1e-8,
    "weight_decay": 0.1,
}


def schedule_values(lr, min_lr, warmup_steps, max_steps):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, num_warmup_steps=warmup_steps, num_training_steps=max_steps, min_lr=min_lr
    )
    values = []
    for _ in range(max_steps + 4):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return values


class TinyMlp(torch.nn.Module):
    """fc2(tanh(ln(fc1(x)))): matrices, biases and a LayerNorm, like a GPT block."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(5, 8)
        self.ln = torch.nn.LayerNorm(8)
        self.fc2 = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.ln(self.fc1(x))))


def train(init, x, y, decay_all_params):
    model = TinyMlp()
    model.load_state_dict(init)
    named = list(model.named_parameters())
    if decay_all_params:
        groups = [{"params": [p for _, p in named], "weight_decay": OPTIM["weight_decay"]}]
    else:
        groups = [
            {"params": [p for _, p in named if p.dim() >= 2], "weight_decay": OPTIM["weight_decay"]},
            {"params": [p for _, p in named if p.dim() < 2], "weight_decay": 0.0},
        ]
    optimizer = torch.optim.AdamW(
        groups, lr=OPTIM["lr"], betas=(OPTIM["beta1"], OPTIM["beta2"]), eps=OPTIM["eps"], foreach=False
    )
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer,
        num_warmup_steps=OPTIM["warmup_steps"],
        num_training_steps=OPTIM["max_steps"],
        min_lr=OPTIM["min_lr"],
    )
    losses, lrs = [], []
    for _ in range(OPTIM["max_steps"]):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        losses.append(loss.item())
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    prefix = "decay_all" if decay_all_params else "matrices_only"
    out = {
        f"{prefix}.losses": torch.tensor(losses, dtype=torch.float64),
        f"{prefix}.lrs": torch.tensor(lrs, dtype=torch.float64),
    }
    for name, p in named:
        out[f"{prefix}.final.{name}"] = p.detach().clone()
        state = optimizer.state[p]
        out[f"{prefix}.state.{name}.exp_avg"] = state["exp_avg"].clone()
        out[f"{prefix}.state.{name}.exp_avg_sq"] = state["exp_avg_sq"].clone()
        out[f"{prefix}.state.{name}.step"] = state["step"].to(torch.float64).reshape(())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="directory for the dumps")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    cases = [
        {"lr": lr, "min_lr": min_lr, "warmup_steps": w, "max_steps": m, "values": schedule_values(lr, min_lr, w, m)}
        for lr, min_lr, w, m in SCHEDULES
    ]
    with open(os.path.join(args.out, "lr_schedule.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)

    torch.manual_seed(0)
    model = TinyMlp()
    init = {name: p.detach().clone() for name, p in model.state_dict().items()}
    x = torch.randn(16, 5)
    y = torch.randn(16, 3)
    tensors = {f"init.{name}": t for name, t in init.items()}
    tensors["x"] = x
    tensors["y"] = y
    tensors.update(train(init, x, y, decay_all_params=True))
    tensors.update(train(init, x, y, decay_all_params=False))
    save_file(tensors, os.path.join(args.out, "optimizer_reference.safetensors"), metadata={"optim": json.dumps(OPTIM)})


if __name__ == "__main__":
    main()
