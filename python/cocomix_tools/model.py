"""A PyTorch reference of the model pieces, written from the method spec and
the file formats, independently of the C++ code:

  - GPT2: GPT-2's forward (eval mode, fp32) on a cocomix checkpoint's or a Hugging
    Face directory's tensors, the blocks of model/gpt.h;
  - random_hf_gpt2, randomize_gpt2, run_hf_blocks: small random Hugging Face
    GPT-2 models for the reference dumps and any range of their blocks;
  - position_norm: the SAE's and the concept head's input normalisation;
  - sae_encode, sae_decode, Sae, write_sae: the TopK SAE (spec §1, concept/sae.h)
    and its directory (sae.json + sae.safetensors);
  - ConceptHead: a CoCoMix checkpoint's concept predictor at L_s;
  - gpt_parameters, matched_width: GPT-2 parameter counts.
"""
import hashlib
import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .checkpoint import checkpoint_file, model_section, resolve_checkpoint
from .files import InputError, read_json

POSITION_NORM_EPS = 1e-5  # concept/sae.h kPositionNormEps


# ---- sizes -----------------------------------------------------------------------------

def gpt_parameters(vocab, positions, layers, d):
    """GPT-2's parameter count at width d, the head tied to wte: wte and wpe, 12d² + 13d per block, ln_f."""
    return (vocab + positions) * d + layers * (12 * d * d + 13 * d) + 2 * d


def matched_width(target, vocab, positions, layers, heads, width):
    """The width, a multiple of heads below 8·width, whose GPT-2 parameter count is closest to target
    (the NTP baseline matched to a CoCoMix student of width `width`)."""
    candidates = range(heads, 8 * width, heads)
    return min(candidates, key=lambda d: abs(gpt_parameters(vocab, positions, layers, d) - target))


# ---- GPT-2 -----------------------------------------------------------------------------

class GPT2:
    """GPT-2 forward (eval mode, fp32) on a checkpoint's HF-named tensors, Conv1D
    [in, out] layout, tied LM head; the same blocks as model/gpt.h. `path`: a
    checkpoint or run directory (resolve_checkpoint; its files checked against the digests
    their save recorded, checkpoint_file) or a Hugging Face GPT-2 directory."""

    def __init__(self, path):
        self.checkpoint = resolve_checkpoint(path)
        config_path = checkpoint_file(self.checkpoint, "config.json")
        self.config = read_json(config_path)
        self.sizes = model_section(self.config, config_path)
        weights = checkpoint_file(self.checkpoint, "model.safetensors")
        try:
            tensors = load_file(weights)
        except Exception as e:  # safetensors raises several types for a bad file
            raise InputError(f"{weights}: cannot read safetensors ({e})")
        self.tensors = {(k if k.startswith(("transformer.", "concept.", "pause.", "lm_head."))
                         else "transformer." + k): v.float() for k, v in tensors.items()}
        self.weights_file = weights
        names = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "transformer.ln_f.bias"]
        for i in range(self.sizes["n_layer"]):
            for part in ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                         "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                         "mlp.c_proj.weight", "mlp.c_proj.bias"):
                names.append(f"transformer.h.{i}.{part}")
        for name in names:
            if name not in self.tensors:
                raise InputError(f"{weights}: tensor {name}: missing")

    def t(self, name):
        return self.tensors[name]

    def embed(self, idx):
        """[B, T] int64 -> [B, T, d]."""
        positions = torch.arange(idx.size(1))
        return self.t("transformer.wte.weight")[idx] + self.t("transformer.wpe.weight")[positions]

    def _ln(self, x, prefix):
        return F.layer_norm(x, (x.size(-1),), self.t(prefix + ".weight"), self.t(prefix + ".bias"),
                            self.sizes["layer_norm_epsilon"])

    def _linear(self, x, prefix):
        return torch.addmm(self.t(prefix + ".bias"), x.reshape(-1, x.size(-1)),
                           self.t(prefix + ".weight")).view(*x.shape[:-1], -1)

    def _heads(self, h, i):
        """Block i's query, key and value of h [B, T, d], split into heads: three [B, H, T, d/H]."""
        B, T, d = h.shape
        heads = self.sizes["n_head"]
        p = f"transformer.h.{i}"
        qkv = self._linear(self._ln(h, p + ".ln_1"), p + ".attn.c_attn").split(d, dim=-1)
        return [x.view(B, T, heads, d // heads).transpose(1, 2) for x in qkv]

    def attention(self, h, i):
        """Block i's causal attention probabilities on h [B, T, d]: [B, H, T, T], row t over keys 0..t."""
        q, k, _ = self._heads(h, i)
        T = h.shape[1]
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        return F.softmax(scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")), dim=-1)

    def block(self, h, i):
        """One GPT-2 block: pre-LN causal attention and GELU(tanh) MLP, both residual. [B, T, d]."""
        p = f"transformer.h.{i}"
        B, T, d = h.shape
        y = F.scaled_dot_product_attention(*self._heads(h, i), is_causal=True)
        h = h + self._linear(y.transpose(1, 2).reshape(B, T, d), p + ".attn.c_proj")
        m = F.gelu(self._linear(self._ln(h, p + ".ln_2"), p + ".mlp.c_fc"), approximate="tanh")
        return h + self._linear(m, p + ".mlp.c_proj")

    def hidden_after(self, idx, layer):
        """The residual stream after `layer` blocks (HF hidden_states[layer] for layer < n_layer; never ln_f'd)."""
        h = self.embed(idx)
        for i in range(layer):
            h = self.block(h, i)
        return h

    def logits(self, idx):
        h = self.hidden_after(idx, self.sizes["n_layer"])
        return self._ln(h, "transformer.ln_f") @ self.t("transformer.wte.weight").T  # [B, T, V]


def randomize_gpt2(model, weight_std):
    """GPT-2's own init (std 0.02, zero biases, unit LayerNorms) makes near-uniform
    logits that hide bugs: draw larger weights and non-trivial biases and norms."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.normal_(0.0, 0.05)
            else:
                p.normal_(0.0, weight_std)


def random_hf_gpt2(shape, weight_std, layer_norm_epsilon=1e-5, end_of_text=0):
    """A transformers.GPT2LMHeadModel of `shape` (vocab_size, n_positions, n_embd, n_layer,
    n_head) in fp32: eager attention, no dropout, GELU-tanh, its weights drawn from torch's
    global generator by the model's init and then randomize_gpt2."""
    from transformers import GPT2Config, GPT2LMHeadModel
    config = GPT2Config(**shape, layer_norm_epsilon=layer_norm_epsilon, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, activation_function="gelu_new", bos_token_id=end_of_text,
                        eos_token_id=end_of_text, attn_implementation="eager")
    model = GPT2LMHeadModel(config).float()
    randomize_gpt2(model, weight_std)
    return model


def run_hf_blocks(model, h, begin, end):
    """Blocks [begin, end) of a transformers GPT-2 on h [B, S, d], with an explicit causal
    mask (eager attention applies none of its own when a block is called directly)."""
    S = h.shape[1]
    mask = torch.full((S, S), torch.finfo(h.dtype).min).triu(1).view(1, 1, S, S)
    for block in model.transformer.h[begin:end]:
        out = block(h, attention_mask=mask)
        h = out[0] if isinstance(out, tuple) else out
    return h


# ---- position normalisation, SAE, concept head ---------------------------------------

def position_norm(h, eps=POSITION_NORM_EPS):
    """concept/sae.h normalize_positions over the last dimension: LayerNorm without
    affine, unbiased std, eps added to sigma. -> ((h - mu) / (sigma + eps), mu, sigma)."""
    mu = h.mean(-1, keepdim=True)
    sigma = (h - mu).std(-1, keepdim=True, unbiased=True)
    return (h - mu) / (sigma + eps), mu, sigma


def sae_encode(x, tensors, k):
    """TopK SAE encoder on normalised x [..., d]: z_pre = (x - pre_bias) W_enc^T + latent_bias,
    z = ReLU(TopK_k(z_pre)) (dense, zero outside the k kept). -> (z_pre, z, kept indices)."""
    z_pre = (x - tensors["pre_bias"]) @ tensors["encoder.weight"].T + tensors["latent_bias"]
    values, kept = z_pre.topk(k, dim=-1)
    z = torch.zeros_like(z_pre).scatter(-1, kept, values).relu()
    return z_pre, z, kept


def sae_decode(z, tensors):
    """x_hat = z W_dec^T + pre_bias (normalised coordinates)."""
    return z @ tensors["decoder.weight"].T + tensors["pre_bias"]


def write_sae(directory, tensors, k, layer, teacher_sha256=""):
    """An SAE directory: sae.safetensors (pre_bias, encoder.weight, latent_bias, decoder.weight)
    and sae.json (d and n_latents from encoder.weight's shape)."""
    os.makedirs(directory, exist_ok=True)
    n_latents, d = tensors["encoder.weight"].shape
    weights = os.path.join(directory, "sae.safetensors")
    save_file({name: t.contiguous() for name, t in tensors.items()}, weights)
    with open(weights, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(directory, "sae.json"), "w") as f:
        json.dump({"d": d, "n_latents": n_latents, "k": k, "layer": layer, "teacher_sha256": teacher_sha256,
                   "sha256": digest}, f)
    return directory


class Sae:
    """SAE_DIR/sae.json + sae.safetensors (docs/file-formats.md) in fp32."""

    def __init__(self, sae_dir):
        info_path = os.path.join(sae_dir, "sae.json")
        self.info = read_json(info_path)
        for key in ("d", "n_latents", "k", "layer"):
            value = self.info.get(key)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{info_path}: {key}: expected a positive integer, got {value!r}")
        weights = os.path.join(sae_dir, "sae.safetensors")
        if "sha256" in self.info:  # as load_sae checks it
            try:
                with open(weights, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            except OSError as e:
                raise InputError(f"{weights}: cannot read ({e.strerror})")
            if digest != self.info["sha256"]:
                raise InputError(f"{weights}: corrupt: its sha256 is {digest}, sae.json records {self.info['sha256']}")
        try:
            tensors = load_file(weights)
        except Exception as e:
            raise InputError(f"{weights}: cannot read safetensors ({e})")
        d, C = self.info["d"], self.info["n_latents"]
        shapes = {"pre_bias": (d,), "encoder.weight": (C, d), "latent_bias": (C,), "decoder.weight": (d, C)}
        for name, shape in shapes.items():
            if name not in tensors:
                raise InputError(f"{weights}: tensor {name}: missing")
            if tuple(tensors[name].shape) != shape:
                raise InputError(f"{weights}: tensor {name}: shape {list(tensors[name].shape)}, "
                                 f"sae.json says {list(shape)}")
        self.t = {k: v.float() for k, v in tensors.items()}
        self.k, self.layer, self.d, self.n_latents = self.info["k"], self.info["layer"], d, C

    def encode(self, h):
        """h [N, d] -> (z [N, C], kept [N, k] int64, x, mu, sigma)."""
        x, mu, sigma = position_norm(h)
        _, z, kept = sae_encode(x, self.t, self.k)
        return z, kept, x, mu, sigma

    def active_latents(self, h):
        """h [N, d] -> (kept [N, k] int64, kept & z > 0 [N, k] bool): encode's TopK without the
        dense z, the bias added by one addmm (no second [N, C] temporary)."""
        x, _, _ = position_norm(h)
        values, kept = torch.addmm(self.t["latent_bias"], x - self.t["pre_bias"], self.t["encoder.weight"].T).topk(
            self.k, dim=-1)
        return kept, values > 0

    def reconstruct(self, z, mu, sigma):
        """h_hat = x_hat * sigma + mu."""
        return sae_decode(z, self.t) * sigma + mu


class ConceptHead:
    """The student's concept head (concept.* tensors of a CoCoMix checkpoint loaded as GPT2) at L_s."""

    def __init__(self, student):
        concept = student.config.get("concept", {})
        path = os.path.join(student.checkpoint, "config.json")
        for key in ("insert_layer", "k_pred", "n_concepts"):
            if not isinstance(concept.get(key), int):
                raise InputError(f"{path}: concept.{key}: missing (not a CoCoMix checkpoint)")
        for name in ("concept.pre_bias", "concept.predictor.weight", "concept.predictor.bias"):
            if name not in student.tensors:
                raise InputError(f"{student.weights_file}: tensor {name}: missing (mode "
                                 f"{concept.get('mode')!r} has no concept head)")
        self.insert_layer, self.k_pred = concept["insert_layer"], concept["k_pred"]
        self.pre_bias = student.t("concept.pre_bias")          # [d]
        self.weight = student.t("concept.predictor.weight")    # [d, C]
        self.bias = student.t("concept.predictor.bias")        # [C]
        self.n_concepts = self.weight.size(1)

    def logits(self, h):
        """h [N, d] (input of block L_s) -> concept logits (x - pre_bias) W_pred + b_pred [N, C],
        x = position_norm(h), the bias added by one addmm."""
        x, _, _ = position_norm(h)
        return torch.addmm(self.bias, x - self.pre_bias, self.weight)
