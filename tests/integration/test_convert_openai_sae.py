"""scripts/convert_openai_sae.py on a .pt made here the way OpenAI's
sparse_autoencoder saves one (Autoencoder.state_dict(): the four parameters, the
three statistics buffers, "activation" and "activation_state_dict", the decoder
column-major), then loaded by cocomix: `cocomix-sae eval` on a Hugging Face
GPT-2 teacher must give the normalised MSE and FVU that OpenAI's forward
(written out below from their model.py) gives on the same windows."""
import hashlib
import json
import os
import subprocess
import sys
import unittest

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file
from transformers import GPT2Config, GPT2LMHeadModel

from cocomix_testlib import SOURCE_DIR, app, make_corpus, run, temp_dir
from cocomix_tools.corpus import read_token_file

SCRIPT = os.path.join(SOURCE_DIR, "scripts", "convert_openai_sae.py")
D, C, K, LAYER_INDEX = 32, 96, 6, 1  # the file 1.pt: after block 1 (0-based), cocomix layer 2
T, WINDOWS = 32, 12


class OpenAIAutoencoderLayout(nn.Module):
    """The registered parameters, buffers and state_dict() of sparse_autoencoder's
    Autoencoder with a TopK(k, ReLU) activation and normalize=True."""

    def __init__(self):
        super().__init__()
        self.pre_bias = nn.Parameter(0.2 * torch.randn(D))
        self.encoder = nn.Linear(D, C, bias=False)
        self.latent_bias = nn.Parameter(0.1 * torch.randn(C))
        self.decoder = nn.Linear(C, D, bias=False)
        with torch.no_grad():
            self.decoder.weight.copy_(torch.randn(D, C) / D ** 0.5)
            self.decoder.weight.data = self.decoder.weight.data.T.contiguous().T  # column-major, as theirs
        self.register_buffer("stats_last_nonzero", torch.randint(0, 50, (C,)))
        self.register_buffer("latents_activation_frequency", torch.rand(C))
        self.register_buffer("latents_mean_square", torch.rand(C))

    def state_dict(self, *args, **kwargs):
        sd = super().state_dict(*args, **kwargs)
        sd["activation"] = "TopK"
        sd["activation_state_dict"] = {"k": K, "postact_fn": "ReLU"}
        return sd

    def reconstruct(self, h):
        """Their forward with normalize=True: LN, encode, TopK then ReLU, decode, de-normalise."""
        mu = h.mean(-1, keepdim=True)
        x = h - mu
        std = x.std(-1, keepdim=True)
        x = x / (std + 1e-5)
        pre = nn.functional.linear(x - self.pre_bias, self.encoder.weight, self.latent_bias)
        top = torch.topk(pre, K, dim=-1)
        latents = torch.zeros_like(pre).scatter_(-1, top.indices, torch.relu(top.values))
        x_hat = self.decoder(latents) + self.pre_bias
        return x, x_hat, x_hat * std + mu, latents


def normalized_error(pred, target):
    pred, target = pred.double(), target.double()
    return float(((pred - target) ** 2).sum() / ((target - target.mean(0)) ** 2).sum())


def convert(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=300)


class ConvertOpenAISaeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        _, cls.val_file = make_corpus(os.path.join(cls.root, "data"), documents=80)
        torch.manual_seed(0)
        config = GPT2Config(vocab_size=257, n_positions=64, n_embd=D, n_layer=3, n_head=4, resid_pdrop=0.0,
                            embd_pdrop=0.0, attn_pdrop=0.0, activation_function="gelu_new")
        cls.teacher_model = GPT2LMHeadModel(config).eval()
        cls.teacher = os.path.join(cls.root, "gpt2")
        cls.teacher_model.save_pretrained(cls.teacher, safe_serialization=True)
        cls.autoencoder = OpenAIAutoencoderLayout()
        cls.pt = os.path.join(cls.root, "autoencoders", f"{LAYER_INDEX}.pt")
        os.makedirs(os.path.dirname(cls.pt))
        torch.save(cls.autoencoder.state_dict(), cls.pt)

    def test_converts_and_cocomix_reproduces_openai_forward(self):
        out = os.path.join(self.root, "sae")
        result = convert(self.pt, "-o", out, "--teacher", self.teacher)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(out, "sae.json")) as f:
            info = json.load(f)
        with open(os.path.join(self.teacher, "model.safetensors"), "rb") as f:
            teacher_sha = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(out, "sae.safetensors"), "rb") as f:
            weights_sha = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(info, {"d": D, "n_latents": C, "k": K, "layer": LAYER_INDEX + 1,
                                "teacher_sha256": teacher_sha, "sha256": weights_sha})
        tensors = load_file(os.path.join(out, "sae.safetensors"))
        self.assertEqual(sorted(tensors), ["decoder.weight", "encoder.weight", "latent_bias", "pre_bias"])
        state = self.autoencoder.state_dict()
        for name, tensor in tensors.items():
            self.assertEqual(tensor.dtype, torch.float32)
            self.assertTrue(torch.equal(tensor, state[name]), name)

        # cocomix loads it and evaluates on non-overlapping windows from the file's start.
        evaluation = json.loads(run([app("cocomix-sae"), "eval", "--sae", out, "--teacher", self.teacher,
                                     "--data", self.val_file, "--seq-len", str(T), "--windows", str(WINDOWS),
                                     "--batch", "5", "--threads", "1"]).stdout)
        tokens = read_token_file(self.val_file)
        windows = torch.tensor(np.stack([tokens[i * T:(i + 1) * T] for i in range(WINDOWS)]).astype(np.int64))
        with torch.no_grad():
            h = self.teacher_model(windows, output_hidden_states=True).hidden_states[LAYER_INDEX + 1]
            x, x_hat, h_hat, latents = self.autoencoder.reconstruct(h.reshape(-1, D))
        self.assertEqual(evaluation["tokens"], WINDOWS * T)
        self.assertAlmostEqual(evaluation["nmse"], normalized_error(x_hat, x), delta=1e-5)
        self.assertAlmostEqual(evaluation["fvu"], normalized_error(h_hat, h.reshape(-1, D)), delta=1e-5)
        unused = 1 - float((latents > 1e-3).any(0).double().mean())
        self.assertAlmostEqual(evaluation["dead_fraction"], unused, delta=1e-9)

    def test_layer_and_k_overrides(self):
        out = os.path.join(self.root, "sae_override")
        result = convert(self.pt, "-o", out, "--layer", "3", "--k", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(out, "sae.json")) as f:
            info = json.load(f)
        self.assertEqual(info, {"d": D, "n_latents": C, "k": 2, "layer": 3, "teacher_sha256": "",
                                "sha256": info["sha256"]})
        with open(os.path.join(out, "sae.safetensors"), "rb") as f:
            self.assertEqual(info["sha256"], hashlib.sha256(f.read()).hexdigest())

    def expect_failure(self, state, *fragments, name="bad.pt", extra=()):
        path = os.path.join(self.root, name)
        torch.save(state, path)
        result = convert(path, "-o", os.path.join(self.root, "never"), *extra)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        line = result.stderr.strip()
        self.assertTrue(line.startswith("error: ") and "\n" not in line, line)
        for fragment in fragments:
            self.assertIn(fragment, line)

    def test_bad_files(self):
        good = self.autoencoder.state_dict()
        relu = dict(good, activation="ReLU")
        self.expect_failure(relu, "activation", "ReLU", "TopK", extra=("--layer", "2"))
        missing = {k: v for k, v in good.items() if k != "latent_bias"}
        self.expect_failure(missing, "latent_bias", "missing", extra=("--layer", "2"))
        wrong = dict(good, **{"decoder.weight": torch.zeros(C, D)})
        self.expect_failure(wrong, "decoder.weight", f"[{C}, {D}]", f"[{D}, {C}]", extra=("--layer", "2"))
        self.expect_failure(good, "layer", "N.pt", name="no_number.pt")
        self.assertFalse(os.path.exists(os.path.join(self.root, "never")))
        not_torch = os.path.join(self.root, "text.pt")
        with open(not_torch, "w") as f:
            f.write("not a pickle")
        result = convert(not_torch, "-o", os.path.join(self.root, "never"), "--layer", "2")
        self.assertEqual(result.returncode, 1)
        self.assertIn(not_torch, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
