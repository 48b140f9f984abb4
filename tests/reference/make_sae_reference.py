"""SAE training-step reference for tests/unit/sae_trainer_test.cpp, written with
plain PyTorch from the method spec §1, Gao et al. 2024 §A.2 and OpenAI's released
sparse_autoencoder/train.py, independently of the C++ code: the dead-latent
selection of AuxK masks by multiplication and then takes top-k, as their code does.

Writes OUT/sae_step/:
  sae/                   sae.json + sae.safetensors (the SAE before the step)
  reference.safetensors  h [N, d]; dead_before [C] (bool, dead before the batch);
                         fired, dead (after this batch's update); x, z_pre, z, x_hat,
                         z_aux, e_hat; nmse, aux, total, fvu (scalars);
                         grad.<name> of every parameter (decoder gradient with the
                         parallel component removed); after.<name> of every
                         parameter after one Adam step and the decoder renorm.
  meta.json              k_aux, aux_coef, lr, eps, dead_tokens, N (tokens)
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

from cocomix_tools.model import position_norm, sae_decode, sae_encode, write_sae

D, C, K, K_AUX, LAYER = 12, 48, 4, 6, 1
N = 40
AUX_COEF, LR, EPS = 1 / 32, 1e-3, 6.25e-10
DEAD_TOKENS = 1_000_000  # > N: only latents dead before the batch can be dead after it
FIRED = 1e-3
LN_EPS = 1e-5


def normalized_error(pred, target):
    """sum (pred - t)^2 / sum (t - mean_rows(t))^2 (OpenAI kernels.py normalized_mse)."""
    return ((pred - target) ** 2).sum() / ((target - target.mean(0, keepdim=True)) ** 2).sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    out = os.path.join(parser.parse_args().out, "sae_step")
    os.makedirs(os.path.join(out, "sae"), exist_ok=True)

    torch.manual_seed(11)
    # Activations with a large, uneven scale and offset, as a residual stream has.
    h = 3.0 * torch.randn(N, D) * torch.linspace(0.5, 2.0, D) + torch.randn(D)
    decoder = torch.randn(D, C)
    decoder /= decoder.norm(dim=0, keepdim=True)
    params = {
        "pre_bias": 0.1 * torch.randn(D),
        "encoder.weight": decoder.t().clone() + 0.1 * torch.randn(C, D),
        "latent_bias": 0.05 * torch.randn(C),
        "decoder.weight": decoder,
    }
    write_sae(os.path.join(out, "sae"), params, K, LAYER)
    p = {k: v.clone().requires_grad_() for k, v in params.items()}

    # Forward (spec §1): LN without affine, unbiased std, eps on sigma; TopK then ReLU.
    x, mu, sigma = position_norm(h, LN_EPS)
    z_pre, z, _ = sae_encode(x, p, K)
    x_hat = sae_decode(z, p)

    # Dead latents: half the latents had not fired for DEAD_TOKENS tokens; those
    # that fire in this batch are alive again before AuxK (OpenAI's order).
    dead_before = torch.zeros(C, dtype=torch.bool)
    dead_before[torch.randperm(C)[: C // 2]] = True
    fired = (z > FIRED).any(0)
    dead = dead_before & ~fired
    assert K_AUX < int(dead.sum()), "the case should keep k_aux below the dead count"

    # AuxK as OpenAI's train.py selects it: live pre-activations zeroed, top-k_aux, ReLU.
    masked = z_pre * dead
    aux_top = torch.topk(masked, K_AUX, dim=-1)
    z_aux = torch.zeros_like(z_pre).scatter(-1, aux_top.indices, torch.relu(aux_top.values))
    e = (x - x_hat).detach()
    e_hat = z_aux @ p["decoder.weight"].t()  # Gao et al. A.2: e_hat = W_dec z

    nmse = normalized_error(x_hat, x)
    aux = normalized_error(e_hat, e)
    total = nmse + AUX_COEF * aux
    with torch.no_grad():
        fvu = normalized_error(x_hat * sigma + mu, h)
    total.backward()

    with torch.no_grad():
        w = p["decoder.weight"]
        w.grad -= (w * w.grad).sum(0, keepdim=True) * w  # unit_norm_decoder_grad_adjustment_
    grads = {f"grad.{k}": v.grad.detach().clone() for k, v in p.items()}
    optimizer = torch.optim.Adam(list(p.values()), lr=LR, betas=(0.9, 0.999), eps=EPS)
    optimizer.step()
    with torch.no_grad():
        p["decoder.weight"] /= p["decoder.weight"].norm(dim=0, keepdim=True)
    after = {f"after.{k}": v.detach().clone() for k, v in p.items()}

    reference = {"h": h, "dead_before": dead_before, "fired": fired, "dead": dead, "x": x, "z_pre": z_pre, "z": z,
                 "x_hat": x_hat, "z_aux": z_aux, "e_hat": e_hat, "nmse": nmse, "aux": aux, "total": total, "fvu": fvu,
                 **grads, **after}
    save_file({k: v.detach().contiguous() for k, v in reference.items()}, os.path.join(out, "reference.safetensors"))
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump({"k_aux": K_AUX, "aux_coef": AUX_COEF, "lr": LR, "eps": EPS, "dead_tokens": DEAD_TOKENS, "N": N}, f)
    print(f"sae_step: nmse {nmse.item():.4f} aux {aux.item():.4f} fvu {fvu.item():.4f}, "
          f"{int(dead.sum())} of {C} dead -> {out}")


if __name__ == "__main__":
    main()
