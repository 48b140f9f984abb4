"""cocomix_tools.pause_attention on pause checkpoints whose attention is known by hand:
with the query and key weights and biases at zero every score is 0, so the slot
after token t spreads 1/(2t+2) over its 2t+2 keys and its weight on token t is
exactly the uniform one, whatever the layout of the pause slots."""
import json
import os
import shutil
import unittest

import numpy as np
import torch
from safetensors.torch import save_file

from cocomix_testlib import temp_dir

from cocomix_tools import pause_attention

D, LAYERS, T, VOCAB = 8, 2, 6, 11


def write_checkpoint(root, position):
    torch.manual_seed(3)
    tensors = {"transformer.wte.weight": torch.randn(VOCAB, D), "transformer.wpe.weight": torch.randn(T, D),
               "transformer.ln_f.weight": torch.ones(D), "transformer.ln_f.bias": torch.zeros(D),
               "pause.vector": torch.randn(D)}
    for i in range(LAYERS):
        p = f"transformer.h.{i}."
        attn = torch.randn(D, 3 * D)
        attn[:, :2 * D] = 0  # q and k weights and (below) biases zero: every score is 0
        bias = torch.zeros(3 * D)
        tensors.update({p + "ln_1.weight": torch.ones(D), p + "ln_1.bias": torch.zeros(D),
                        p + "attn.c_attn.weight": attn, p + "attn.c_attn.bias": bias,
                        p + "attn.c_proj.weight": 0.1 * torch.randn(D, D), p + "attn.c_proj.bias": torch.zeros(D),
                        p + "ln_2.weight": torch.ones(D), p + "ln_2.bias": torch.zeros(D),
                        p + "mlp.c_fc.weight": 0.1 * torch.randn(D, 4 * D), p + "mlp.c_fc.bias": torch.zeros(4 * D),
                        p + "mlp.c_proj.weight": 0.1 * torch.randn(4 * D, D), p + "mlp.c_proj.bias": torch.zeros(D)})
    os.makedirs(root)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(root, "model.safetensors"))
    concept = {"mode": "pause", "insert_layer": 1}
    if position is not None:
        concept["pause_position"] = position
    with open(os.path.join(root, "config.json"), "w") as f:
        json.dump({"model": {"vocab_size": VOCAB, "n_positions": T, "n_embd": D, "n_layer": LAYERS, "n_head": 2,
                             "layer_norm_epsilon": 1e-5},
                   "data": {"seq_len": T}, "concept": concept}, f)


def write_corpus(root):
    os.makedirs(root)
    header = np.zeros(256, dtype="<i4")
    header[:3] = (20240520, 1, 4 * T + 1)  # (N - 1) // T = 4 windows
    with open(os.path.join(root, "val_000000.bin"), "wb") as f:
        f.write(header.tobytes() + (np.arange(4 * T + 1) % VOCAB).astype("<u2").tobytes())
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump({"vocab_size": VOCAB, "splits": {"val": {"shards": [{"file": "val_000000.bin", "tokens": 4 * T + 1}],
                                                           "tokens": 4 * T + 1}}}, f)


class PauseAttentionTest(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        write_corpus(os.path.join(self.dir, "data"))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def analyse(self, name):
        return pause_attention.analyse(os.path.join(self.dir, name), os.path.join(self.dir, "data"), windows=4)

    def test_zero_scores_are_uniform(self):
        uniform = float(np.mean([1 / (2 * t + 2) for t in range(T)]))
        for position in ("token", "none", None):
            name = f"zero_{position}"
            write_checkpoint(os.path.join(self.dir, name), position)
            result = self.analyse(name)
            self.assertEqual(result["pause_position"], position or "none")  # no key: the unpositioned layout
            self.assertEqual(result["windows"], 4)
            self.assertEqual([b["block"] for b in result["blocks"]], [1])
            self.assertAlmostEqual(result["blocks"][0]["uniform"], uniform, places=12)
            self.assertAlmostEqual(result["blocks"][0]["own_token"], uniform, places=6)

    def test_rejects_a_model_without_pause_slots(self):
        write_checkpoint(os.path.join(self.dir, "ntp"), "token")
        path = os.path.join(self.dir, "ntp", "config.json")
        with open(path) as f:
            config = json.load(f)
        config["concept"]["mode"] = "cocomix"
        with open(path, "w") as f:
            json.dump(config, f)
        with self.assertRaisesRegex(Exception, r"concept.mode: 'cocomix' is not a pause mode"):
            self.analyse("ntp")


if __name__ == "__main__":
    unittest.main()
