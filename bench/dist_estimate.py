"""FLOP-based estimate of training throughput on 8 x H100 for the paper's three
sizes (configs/ntp_*.json, configs/cocomix_*.json): tokens/s and days to 20B
tokens at an assumed MFU, for NTP and for CoCoMix with its teacher in the loop.
No measurement: arithmetic only (docs/distributed.md explains each term).

    ~/.cache/cocomix/venv/bin/python bench/dist_estimate.py [--mfu 0.4] [--gpus 8]
"""
import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
H100_BF16 = 989.4e12  # H100 SXM dense bf16 peak FLOP/s
H100_TF32 = 494.7e12  # H100 SXM dense TF32 peak FLOP/s (fp32 matmuls on the tensor cores)
H100_FP32 = 66.9e12   # H100 SXM fp32 (no TF32) peak FLOP/s
TOKENS = 20e9


def block_params(d):
    return 12 * d * d + 13 * d


def gpt_params(m):
    """include/cocomix/model/flops.h gpt_parameter_count(config, true)."""
    d = m["n_embd"]
    return m["n_layer"] * block_params(d) + 2 * d + m["vocab_size"] * d + m["n_positions"] * d


def ntp_flops(m, T):
    """flops.h gpt_training_flops_per_token: 6 N + 12 n_layer d T."""
    return 6 * gpt_params(m) + 12 * m["n_layer"] * m["n_embd"] * T


def cocomix_student_flops(m, T, L_s, C):
    """Per original token: blocks >= L_s run on 2T positions (twice the matmul work,
    four times the attention work), plus the concept head (d -> C) and the dense
    compression (C -> d), forward + backward."""
    d, L = m["n_embd"], m["n_layer"]
    early = L_s * (6 * block_params(d) + 12 * d * T)
    late = (L - L_s) * (2 * 6 * block_params(d) + 4 * 12 * d * T)
    embeddings_and_head = 6 * (m["vocab_size"] * d + m["n_positions"] * d + 2 * d)
    concept = 2 * 6 * d * C
    return early + late + embeddings_and_head + concept


def teacher_flops(t, T, L_t, C):
    """Frozen teacher: full forward with its LM-head loss (2 N_t + attention), the
    activation-gradient backward from the loss down to h at L_t only (no weight
    gradients: 2 FLOPs per weight, the head included), the SAE encode (d_t x C) and
    the attribution product with W_dec (d_t x C)."""
    d, L, V = t["n_embd"], t["n_layer"], t["vocab_size"]
    forward = 2 * gpt_params(t) + 4 * L * d * T
    backward = 2 * ((L - L_t) * block_params(d) + V * d) + 8 * (L - L_t) * d * T
    sae = 2 * d * C + 2 * d * C
    return forward + backward + sae


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mfu", type=float, default=0.4)
    parser.add_argument("--gpus", type=int, default=8)
    args = parser.parse_args()
    gpt2_small = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12}
    print(f"assumed MFU {args.mfu:.0%} of {args.gpus} x H100 SXM ({H100_BF16 / 1e12:.0f} TFLOP/s bf16 each)\n")
    print("| size | run | GFLOP/token (student) | GFLOP/token (teacher+SAE) | tokens/s | days to 20B tokens |")
    print("|---|---|---|---|---|---|")
    for size in ("69m", "386m", "1.38b"):
        for kind in ("ntp", "cocomix"):
            with open(os.path.join(ROOT, "configs", f"{kind}_{size}.json")) as f:
                config = json.load(f)
            m, T = config["model"], config["data"]["seq_len"]
            bf16 = args.gpus * H100_BF16 * args.mfu
            if kind == "ntp":
                student, teacher = ntp_flops(m, T), 0.0
                seconds_per_token = student / bf16
                rows = [("ntp", seconds_per_token)]
            else:
                c = config["concept"]
                student = cocomix_student_flops(m, T, c["insert_layer"], c["n_concepts"])
                teacher = teacher_flops(gpt2_small, T, 6, c["n_concepts"])
                rows = [("cocomix, bf16 teacher", (student + teacher) / bf16),
                        ("cocomix, tf32 teacher", student / bf16 + teacher / (args.gpus * H100_TF32 * args.mfu)),
                        ("cocomix, fp32 teacher", student / bf16 + teacher / (args.gpus * H100_FP32 * args.mfu))]
            for name, seconds_per_token in rows:
                print(f"| {size} | {name} | {student / 1e9:.2f} | {teacher / 1e9:.2f} | "
                      f"{1 / seconds_per_token:,.0f} | {TOKENS * seconds_per_token / 86400:.2f} |")


if __name__ == "__main__":
    main()
