"""Training FLOPs per token of a run config, and what they imply at the paper's sizes.

The rule (forward + backward = 3 x forward, 2 FLOPs per multiply-add; nanoGPT's
estimate_mfu convention, attention included):
  a block on S positions of a length-S sequence: 72 d^2 + 12 d S per position;
  the tied LM head: 6 V d per token (read at T slots in every mode);
  interleaving modes run blocks L_s.. on 2T positions, two per token;
  the concept predictor Linear(d -> C) of every concept mode: 6 d C (the compressor reads k_pred of C:
  negligible); intervention adds the concept vector to h, so its blocks run on T positions;
  KD adds the teacher's forward, 2 N_t + 4 L_t d_t T;
  hidden_prediction adds the predictor MLP d -> 4d -> d_t and the compressor d_t -> d,
  6 (4 d^2 + 4 d d_t + d_t d), and the teacher's forward through its first L_t blocks;
  concept labels (counted apart: a label cache pays them once per corpus) cost
  the teacher's forward, its backward to h after block L_t without weight
  gradients (4 FLOPs per multiply-add of the LM head and the blocks above L_t),
  and the SAE encoder and W_dec product, 4 d_t C.

    python -m cocomix_tools.flops   # the table of the shipped paper configs (configs/*_69m|386m|1.38b.json)

The table gives, per size, CoCoMix's and KD's FLOPs per token against the
parameter-matched NTP config's, the labels' cost with the paper's teacher
(GPT-2 small, SAE after block 6), and the break-even token saving: the share of
NTP's tokens CoCoMix must save to reach NTP's loss at equal training FLOPs,
1 - F_ntp / F_cocomix (and with the labels added to F_cocomix); then the same for
later insertion layers of the 1.38B config.
"""
import argparse
from pathlib import Path

from .files import read_json
from .pipeline import CONCEPT_MODES

CONCEPT_HEAD_MODES = frozenset(CONCEPT_MODES.values())  # the concept.mode of every student with a concept head
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
PAPER_SIZES = ("69m", "386m", "1.38b")
# The teacher the paper's configs name (models/gpt2, GPT-2 small) and the block its SAE reads (L_t 6).
GPT2_SMALL = {"n_embd": 768, "n_layer": 12, "vocab_size": 50257}
GPT2_SMALL_SAE_LAYER = 6


def block_flops(d, positions_per_token, sequence):
    """Training FLOPs per token of one block run on `positions_per_token` positions of a `sequence`-long sequence."""
    return positions_per_token * (72 * d * d + 12 * d * sequence)


def student_flops(config, teacher=None):
    """Training FLOPs per token of the student a run config describes (the module docstring's rule); a KD
    student's teacher is `teacher` (its "model" section) or else the config.json under its teacher_path."""
    m, T = config["model"], config["data"]["seq_len"]
    d, layers, V = m["n_embd"], m["n_layer"], m["vocab_size"]
    concept = config.get("concept", {})
    mode = concept.get("mode", "ntp")
    interleaved = mode in ("cocomix", "pause", "pause_kd", "insertion_only", "hidden_prediction")
    split = concept.get("insert_layer", 0) if interleaved else layers
    flops = 6 * V * d + split * block_flops(d, 1, T) + (layers - split) * block_flops(d, 2, 2 * T)
    if mode in CONCEPT_HEAD_MODES:
        flops += 6 * d * concept["n_concepts"]
    if mode in ("kd", "pause_kd"):
        teacher = teacher or read_json(Path(concept["teacher_path"]) / "config.json")["model"]
        flops += teacher_forward_flops(teacher, T)
    if mode == "hidden_prediction":
        d_t, lower = concept["teacher_n_embd"], concept["teacher_layer"]
        flops += 6 * (4 * d * d + 4 * d * d_t + d_t * d) + lower * (24 * d_t * d_t + 4 * d_t * T)
    return flops


def teacher_forward_flops(teacher, T):
    d, layers, V = teacher["n_embd"], teacher["n_layer"], teacher["vocab_size"]
    return 2 * V * d + layers * (24 * d * d + 4 * d * T)


def label_flops(config):
    """FLOPs per token of computing the concept labels with the teacher in the loop, from the teacher and SAE
    the config's concept section names."""
    concept = config["concept"]
    teacher = read_json(Path(concept["teacher_path"]) / "config.json")["model"]
    sae = read_json(Path(concept["sae_path"]) / "sae.json")
    return label_flops_of(teacher, sae["layer"], sae["n_latents"], config["data"]["seq_len"])


def label_flops_of(teacher, sae_layer, n_latents, T):
    """FLOPs per token of the labels of `teacher` (a "model" section) and a C = `n_latents` SAE after block
    `sae_layer`, on T-token windows."""
    d, above = teacher["n_embd"], teacher["n_layer"] - sae_layer
    backward = 4 * teacher["vocab_size"] * d + above * (48 * d * d + 8 * d * T)
    return teacher_forward_flops(teacher, T) + backward + 4 * d * n_latents


def paper_scale(size, insert_layer=None):
    """FLOPs per token of the shipped cocomix_/ntp_/kd_SIZE configs (CoCoMix's L_s replaced by `insert_layer`
    when given) with the paper's teacher, and the break-even token savings."""
    cocomix, ntp, kd = (read_json(CONFIG_DIR / f"{mode}_{size}.json") for mode in ("cocomix", "ntp", "kd"))
    if insert_layer is not None:
        cocomix["concept"]["insert_layer"] = insert_layer
    f_cocomix, f_ntp = student_flops(cocomix), student_flops(ntp)
    f_labels = label_flops_of(GPT2_SMALL, GPT2_SMALL_SAE_LAYER, cocomix["concept"]["n_concepts"],
                              cocomix["data"]["seq_len"])
    return {"size": size, "d": cocomix["model"]["n_embd"], "layers": cocomix["model"]["n_layer"],
            "insert_layer": cocomix["concept"]["insert_layer"], "ntp_d": ntp["model"]["n_embd"],
            "cocomix": f_cocomix, "ntp": f_ntp, "kd": student_flops(kd, teacher=GPT2_SMALL), "labels": f_labels,
            "break_even": 1 - f_ntp / f_cocomix, "break_even_labels": 1 - f_ntp / (f_cocomix + f_labels)}


def paper_scale_table(rows):
    lines = ["| config | d, blocks, L_s | NTP d | GFLOP/token CoCoMix | NTP | CoCoMix / NTP | KD / NTP | labels / NTP "
             "| break-even token saving | with the labels |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| cocomix_{r['size']} | {r['d']}, {r['layers']}, {r['insert_layer']} | {r['ntp_d']} | "
                     f"{r['cocomix'] / 1e9:.3f} | {r['ntp'] / 1e9:.3f} | {r['cocomix'] / r['ntp']:.2f} | "
                     f"{r['kd'] / r['ntp']:.2f} | {r['labels'] / r['ntp']:.2f} | {r['break_even']:.0%} | "
                     f"{r['break_even_labels']:.0%} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.parse_args(argv)
    print(paper_scale_table([paper_scale(size) for size in PAPER_SIZES]))
    print()
    layers = read_json(CONFIG_DIR / "cocomix_1.38b.json")["model"]["n_layer"]
    print(paper_scale_table([paper_scale("1.38b", insert_layer) for insert_layer in range(5, layers, 6)]))


if __name__ == "__main__":
    main()
