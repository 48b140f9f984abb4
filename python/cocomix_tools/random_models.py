"""The paper configs' teacher and SAE with random weights, for timing: a GPT-2 small
(124M, d_t 768, 12 layers) in the Hugging Face layout and a TopK SAE of 32768
latents (k_sae 32) on its layer 6. Speed does not depend on the weights."""
import os

import torch

from .model import write_sae

N_LATENTS, K_SAE, LAYER = 32768, 32, 6


def random_gpt2_teacher_and_sae(directory, seed=0):
    """DIRECTORY/gpt2 (config.json + model.safetensors) and DIRECTORY/sae -> (teacher, sae)."""
    from transformers import GPT2Config, GPT2LMHeadModel  # only the timing tools need transformers
    torch.manual_seed(seed)
    teacher = os.path.join(directory, "gpt2")
    GPT2LMHeadModel(GPT2Config()).save_pretrained(teacher, safe_serialization=True)
    d = 768
    sae = write_sae(os.path.join(directory, "sae"), {
        "pre_bias": torch.zeros(d), "latent_bias": torch.zeros(N_LATENTS),
        "encoder.weight": torch.randn(N_LATENTS, d) / d ** 0.5,
        "decoder.weight": torch.randn(d, N_LATENTS) / d ** 0.5}, K_SAE, LAYER)
    return teacher, sae
