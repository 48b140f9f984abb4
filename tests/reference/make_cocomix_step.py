"""CoCoMix step reference for tests/unit/cocomix_objective_test.cpp, written from
the method spec (../shared/docs/cocomix-method.md §1-3) with plain PyTorch and
Hugging Face GPT-2 blocks (the pieces in cocomix_tools.model), independently of
the C++ code.

Writes OUT/cocomix_step/:
  teacher/                Hugging Face GPT-2 directory (config.json, model.safetensors)
  sae/                    sae.json + sae.safetensors (OpenAI key names)
  student.safetensors     student GPT (HF names) + concept head ("concept.*")
  config.json             a cocomix config (model, data.seq_len, concept section)
  reference.safetensors   inputs/targets [B, T]; teacher_hidden (h after block L_t),
                          teacher_grad (dL_teacher/dh), teacher_loss; sae_z_pre, sae_z;
                          scores_<selection> and labels_<selection> for attribution,
                          attribution_pre and activation (labels: K_attr best by score,
                          ties to the smaller index, by numpy lexsort); concept_logits,
                          concepts (c), mixed (the 2T sequence), slots; ntp_loss,
                          concept_loss, loss; grad.<name> of every student parameter
                          for the attribution labels; pause.vector; and for the
                          baselines MODE in intervention, pause (the slot after token t
                          is pause.vector + wpe[t]), pause_none (pause.vector alone), kd: MODE.loss,
                          MODE.ntp_loss, MODE.kd_loss, MODE.grad.<name>; for direct
                          hidden-state prediction with D in l1, l2, cosine (MODE =
                          hidden_D): MODE.predicted_hidden (ĥ), MODE.compressed_hidden,
                          MODE.mixed, MODE.loss, MODE.ntp_loss, MODE.hidden_loss,
                          MODE.grad.<name> (student and "hidden_prediction.*")
  hidden.safetensors      the hidden predictor ("hidden_prediction.c_fc/c_proj/compressor.*")
  hidden_config.json      the hidden_prediction config (teacher_layer = L_t, no SAE, D = l2)
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from cocomix_tools.model import position_norm, random_hf_gpt2, run_hf_blocks, sae_encode, write_sae

TEACHER = dict(vocab_size=61, n_positions=32, n_embd=40, n_layer=3, n_head=4)
STUDENT = dict(vocab_size=61, n_positions=32, n_embd=32, n_layer=3, n_head=4)
C, K_SAE, LAYER_T = 96, 8, 2  # SAE latents, TopK, teacher layer L_t
L_S, K_PRED, K_ATTR, LAMBDA = 1, 6, 4, 0.1
KD_ALPHA, KD_TAU = 0.5, 2.0
B, T = 2, 9
EPS = 1e-5  # LayerNorm and position_norm
HIDDEN_WIDTH = 24  # the hidden-state predictor's MLP width
HIDDEN_LOSSES = ("l1", "l2", "cosine")


def gpt2(shape, seed):
    torch.manual_seed(seed)
    return random_hf_gpt2(shape, weight_std=0.15, layer_norm_epsilon=EPS).eval()


def labels_by_lexsort(scores, k):
    """K best per row: score descending, then index ascending (numpy, independent of torch.topk)."""
    s = scores.detach().double().numpy().reshape(-1, scores.shape[-1])
    index = np.broadcast_to(np.arange(s.shape[1]), s.shape)
    order = np.lexsort((index, -s), axis=-1)[:, :k]
    return torch.from_numpy(order.copy()).long().view(*scores.shape[:-1], k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    out = os.path.join(parser.parse_args().out, "cocomix_step")
    os.makedirs(os.path.join(out, "sae"), exist_ok=True)

    teacher, student = gpt2(TEACHER, 1), gpt2(STUDENT, 2)
    # Calling the blocks one by one must be the model's own (causal) forward.
    probe = torch.randint(0, 61, (B, T))
    with torch.no_grad():
        manual = student.lm_head(student.transformer.ln_f(run_hf_blocks(
            student, student.transformer.wte(probe) + student.transformer.wpe(torch.arange(T)), 0, 3)))
        assert torch.allclose(manual, student(probe).logits, atol=1e-5)
    teacher.save_pretrained(os.path.join(out, "teacher"), safe_serialization=True)

    torch.manual_seed(3)
    d_t = TEACHER["n_embd"]
    sae = {"pre_bias": 0.1 * torch.randn(d_t), "encoder.weight": torch.randn(C, d_t) / d_t ** 0.5,
           "latent_bias": 0.1 * torch.randn(C), "decoder.weight": torch.randn(d_t, C) / d_t ** 0.5}
    write_sae(os.path.join(out, "sae"), sae, K_SAE, LAYER_T)

    d = STUDENT["n_embd"]
    head = {"pre_bias": (0.1 * torch.randn(d)).requires_grad_(),
            "predictor.weight": (0.3 * torch.randn(d, C)).requires_grad_(),
            "predictor.bias": (0.05 * torch.randn(C)).requires_grad_(),
            "compressor.weight": (0.3 * torch.randn(C, d)).requires_grad_(),
            "compressor.bias": (0.05 * torch.randn(d)).requires_grad_()}
    tokens = torch.randint(0, 61, (B, T + 1))
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    ref = {"inputs": inputs, "targets": targets}

    # Teacher (spec §2): h after block L_t captured by a hook, HF's own shifted loss.
    captured = {}

    def keep(_module, _args, output):
        h = output[0] if isinstance(output, tuple) else output
        h.retain_grad()
        captured["h"] = h

    hook = teacher.transformer.h[LAYER_T - 1].register_forward_hook(keep)
    teacher_loss = teacher(inputs, labels=inputs).loss  # mean over B·(T-1)
    hook.remove()
    teacher_loss.backward()
    h, g = captured["h"].detach(), captured["h"].grad
    with torch.no_grad():  # the capture is HF's hidden_states[L_t] (hidden_prediction's target)
        assert torch.equal(teacher(inputs, output_hidden_states=True).hidden_states[LAYER_T], h)
    ref.update(teacher_hidden=h, teacher_grad=g, teacher_loss=teacher_loss.detach().reshape(1))

    x, _, _ = position_norm(h, EPS)
    z_pre, z, _ = sae_encode(x, sae, K_SAE)
    ref.update(sae_z_pre=z_pre, sae_z=z)
    g_dec = g @ sae["decoder.weight"]  # [B, T, C]
    for name, scores in (("attribution", g_dec * z), ("attribution_pre", g_dec * z_pre), ("activation", z)):
        ref["scores_" + name] = scores
        ref["labels_" + name] = labels_by_lexsort(scores, K_ATTR)
    labels = ref["labels_attribution"]

    # Student (spec §3), dense z_hat.
    tr = student.transformer
    pause = (0.3 * torch.randn(d)).requires_grad_()
    hidden = {"c_fc.weight": (0.2 * torch.randn(d, HIDDEN_WIDTH)).requires_grad_(),
              "c_fc.bias": (0.05 * torch.randn(HIDDEN_WIDTH)).requires_grad_(),
              "c_proj.weight": (0.2 * torch.randn(HIDDEN_WIDTH, d_t)).requires_grad_(),
              "c_proj.bias": (0.05 * torch.randn(d_t)).requires_grad_(),
              "compressor.weight": (0.2 * torch.randn(d_t, d)).requires_grad_(),
              "compressor.bias": (0.05 * torch.randn(d)).requires_grad_()}

    def hidden_distance(h_hat, target, loss):
        if loss == "l1":
            return (h_hat - target).abs().mean()
        if loss == "l2":
            return ((h_hat - target) ** 2).mean()
        cos = (h_hat * target).sum(-1) / (h_hat.norm(dim=-1) * target.norm(dim=-1))  # [B, T]
        return (1 - cos).mean()

    def student_loss(mode):
        h_s = run_hf_blocks(student, tr.wte(inputs) + tr.wpe(torch.arange(T)), 0, L_S)
        xs, mu, sigma = position_norm(h_s, EPS)
        concept_logits = (xs - head["pre_bias"]) @ head["predictor.weight"] + head["predictor.bias"]
        kept = concept_logits.topk(K_PRED, -1)
        z_hat = torch.zeros_like(concept_logits).scatter(-1, kept.indices, kept.values)
        c = (z_hat @ head["compressor.weight"] + head["compressor.bias"] + head["pre_bias"]) * sigma + mu
        if mode.startswith("hidden_"):  # spec §4: 2-layer MLP -> ĥ, Linear(d_t -> d), interleaved like c
            h_hat = F.gelu(h_s @ hidden["c_fc.weight"] + hidden["c_fc.bias"]) @ hidden["c_proj.weight"] \
                + hidden["c_proj.bias"]
            c_hidden = h_hat @ hidden["compressor.weight"] + hidden["compressor.bias"]
            mixed = torch.stack([h_s, c_hidden], dim=2).reshape(B, 2 * T, d)
        elif mode == "cocomix":
            mixed = torch.stack([h_s, c], dim=2).reshape(B, 2 * T, d)
        elif mode == "pause":  # the pause slot embedded at its token's position, as a token would be
            slot = pause + tr.wpe(torch.arange(T))  # [T, d]
            mixed = torch.stack([h_s, slot.expand_as(h_s)], dim=2).reshape(B, 2 * T, d)
        elif mode == "pause_none":
            mixed = torch.stack([h_s, pause.expand_as(h_s)], dim=2).reshape(B, 2 * T, d)
        elif mode == "intervention":
            mixed = h_s + c
        else:  # kd: nothing inserted
            mixed = h_s
        top = run_hf_blocks(student, mixed, L_S, STUDENT["n_layer"])
        slots = top[:, 1::2] if mixed.shape[1] == 2 * T else top
        logits = student.lm_head(tr.ln_f(slots))
        ntp = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        parts = dict(concept_logits=concept_logits, concepts=c, mixed=mixed, slots=slots, ntp_loss=ntp)
        if mode in ("cocomix", "intervention"):
            concept = sum(F.cross_entropy(concept_logits.reshape(-1, C), labels[..., j].reshape(-1))
                          for j in range(K_ATTR)) / K_ATTR
            parts.update(concept_loss=concept, loss=ntp + LAMBDA * concept)
        elif mode.startswith("hidden_"):  # NTP + λ·D(ĥ, h_t), h_t the teacher's (detached) h after block L_t
            hidden_loss = hidden_distance(h_hat, h, mode[len("hidden_"):])
            parts.update(predicted_hidden=h_hat, compressed_hidden=c_hidden, hidden_loss=hidden_loss,
                         loss=ntp + LAMBDA * hidden_loss)
        elif mode == "kd":  # (1-α) NTP + α τ² KL(p_teacher^τ || p_student^τ)
            with torch.no_grad():
                teacher_logits = teacher(inputs).logits
            p_t = F.softmax(teacher_logits / KD_TAU, -1)
            kl = (p_t * (p_t.log() - F.log_softmax(logits / KD_TAU, -1))).sum(-1).mean()
            parts.update(kd_loss=kl * KD_TAU ** 2, loss=(1 - KD_ALPHA) * ntp + KD_ALPHA * kl * KD_TAU ** 2)
        else:
            parts.update(loss=ntp)
        return parts

    student_tensors = {}
    for name, p in student.named_parameters():
        student_tensors[name] = p.detach().clone()
    for name, p in head.items():
        student_tensors["concept." + name] = p.detach().clone()
    student_tensors.pop("lm_head.weight", None)  # tied to transformer.wte.weight
    ref["pause.vector"] = pause.detach().clone()
    for mode in ("cocomix", "intervention", "pause", "pause_none", "kd") + tuple("hidden_" + l for l in HIDDEN_LOSSES):
        for p in list(student.parameters()) + list(head.values()) + [pause] + list(hidden.values()):
            p.grad = None
        parts = student_loss(mode)
        parts["loss"].backward()
        prefix = "" if mode == "cocomix" else mode + "."
        if mode == "cocomix":
            ref.update({k: v.detach() for k, v in parts.items() if k not in ("ntp_loss", "concept_loss", "loss")})
        if mode.startswith("hidden_"):
            ref.update({prefix + k: parts[k].detach() for k in ("predicted_hidden", "compressed_hidden", "mixed")})
            for name, p in hidden.items():
                ref[prefix + "grad.hidden_prediction." + name] = p.grad.clone()
        for key in ("ntp_loss", "concept_loss", "kd_loss", "hidden_loss", "loss"):
            if key in parts:
                ref[prefix + key] = parts[key].detach().reshape(1)
        for name, p in student.named_parameters():
            if name != "lm_head.weight":
                ref[prefix + "grad." + name] = p.grad.clone()
        if mode in ("cocomix", "intervention"):
            for name, p in head.items():
                ref[prefix + "grad.concept." + name] = p.grad.clone()
        if mode.startswith("pause"):
            ref[prefix + "grad.pause.vector"] = pause.grad.clone()
    save_file(student_tensors, os.path.join(out, "student.safetensors"))
    save_file({"hidden_prediction." + k: v.detach().clone() for k, v in hidden.items()},
              os.path.join(out, "hidden.safetensors"))
    save_file({k: v.detach().clone().contiguous() for k, v in ref.items()}, os.path.join(out, "reference.safetensors"))
    config = {"model": dict(STUDENT, dropout=0.0, layer_norm_epsilon=EPS), "data": {"seq_len": T},
              "concept": {"mode": "cocomix", "teacher_path": os.path.join(out, "teacher"),
                          "sae_path": os.path.join(out, "sae"), "n_concepts": C, "insert_layer": L_S,
                          "k_pred": K_PRED, "k_attr": K_ATTR, "weight": LAMBDA,
                          "kd_weight": KD_ALPHA, "kd_temperature": KD_TAU}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    hidden_config = {"model": config["model"], "data": config["data"],
                     "concept": {"mode": "hidden_prediction", "teacher_path": os.path.join(out, "teacher"),
                                 "teacher_layer": LAYER_T, "teacher_n_embd": d_t, "hidden_mlp_width": HIDDEN_WIDTH,
                                 "hidden_loss": "l2", "insert_layer": L_S, "weight": LAMBDA}}
    with open(os.path.join(out, "hidden_config.json"), "w") as f:
        json.dump(hidden_config, f, indent=2)


if __name__ == "__main__":
    main()
