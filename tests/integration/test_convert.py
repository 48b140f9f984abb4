"""cocomix-convert against transformers: a checkpoint trained by cocomix-train on
GPT-2 BPE tokens of real text is exported; GPT2LMHeadModel.from_pretrained and
AutoTokenizer.from_pretrained load the directory, the tokenizer gives the ids
cocomix-tokenize wrote, and the HF model's mean cross-entropy on the validation
windows equals cocomix-eval's on the checkpoint. import(export(checkpoint)) and
export(import(export)) are bit-exact; bad input is one line and a non-zero exit."""
import json
import os
import shutil
import unittest

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, GPT2LMHeadModel

from cocomix_testlib import SHARED_DATA, app, run, temp_dir, write_config
from cocomix_tools.corpus import M64, read_token_file, splitmix64, text_blocks

SEQ_LEN = 32


def read_shard(path):
    """llm.c uint16 shard: 256 int32 header, then the tokens."""
    tokens = read_token_file(path, "llmc")
    assert tokens.dtype == np.uint16
    return tokens.astype(np.int64)


class ConvertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.data = os.path.join(cls.root, "data")
        cls.text = os.path.join(SHARED_DATA, "text_tinyshakespeare", "input.txt")
        run([app("cocomix-tokenize"), "--tokenizer", os.path.join(SHARED_DATA, "gpt2_tokenizer"), "--blocks",
             "--val-documents", "40", "-o", cls.data, cls.text])
        cls.val = os.path.join(cls.data, "val_000000.bin")
        config = write_config(
            os.path.join(cls.root, "train.json"), os.path.join(cls.data, "train_000000.bin"), cls.val,
            model={"vocab_size": 50257, "n_positions": SEQ_LEN, "n_embd": 32, "n_layer": 2, "n_head": 2,
                   "dropout": 0.0},
            data={"seq_len": SEQ_LEN}, train={"max_steps": 12, "precision": "fp32", "checkpoint_every": 0})
        cls.run_dir = os.path.join(cls.root, "run")
        run([app("cocomix-train"), "--config", config, "--out", cls.run_dir])
        cls.checkpoint = os.path.join(cls.run_dir, "checkpoints", "step_00000012")
        cls.hf = os.path.join(cls.root, "hf")
        # No --tokenizer: the data manifest records the GPT-2 tokenizer files.
        cls.export_output = run([app("cocomix-convert"), "export", "--checkpoint", cls.run_dir, "--out", cls.hf])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def test_transformers_loads_the_export_with_the_same_logits(self):
        for name in ("config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json"):
            self.assertTrue(os.path.isfile(os.path.join(self.hf, name)), name)
        with open(os.path.join(self.hf, "config.json")) as f:
            config = json.load(f)
        self.assertEqual((config["model_type"], config["bos_token_id"], config["eos_token_id"]), ("gpt2", 50256, 50256))
        model = GPT2LMHeadModel.from_pretrained(self.hf).eval()
        self.assertEqual(model.dtype, torch.float32)

        # The tokenizer: the first validation document's ids as cocomix-tokenize wrote them.
        tokenizer = AutoTokenizer.from_pretrained(self.hf)
        self.assertEqual((tokenizer.eos_token_id, tokenizer.bos_token_id), (50256, 50256))
        # The tokenizer: the validation shard starts with the first three validation documents
        # (--val-documents K: the K smallest (splitmix64(stream_seed(1337, i)), i), in index order), each + 50256.
        with open(self.text, encoding="utf-8") as f:
            texts = text_blocks(f.read())
        chosen = sorted(range(len(texts)), key=lambda i: (splitmix64(splitmix64((splitmix64(1337) + i) & M64)), i))
        ids = [t for i in sorted(chosen[:40])[:3] for t in tokenizer(texts[i])["input_ids"] + [50256]]
        val_tokens = read_shard(self.val)
        self.assertEqual(ids, val_tokens[:len(ids)].tolist())

        # The logits: HF's mean cross-entropy over cocomix-eval's windows (token i*T .. i*T+T predicts the next).
        windows = 6
        result = json.loads(run([app("cocomix-eval"), "--checkpoint", self.run_dir, "--val", self.val,
                                 "--seq-len", str(SEQ_LEN), "--max-windows", str(windows)]).stdout)
        tokens = torch.from_numpy(val_tokens[:windows * SEQ_LEN + 1])
        inputs = torch.stack([tokens[i * SEQ_LEN:(i + 1) * SEQ_LEN] for i in range(windows)])
        targets = torch.stack([tokens[i * SEQ_LEN + 1:(i + 1) * SEQ_LEN + 1] for i in range(windows)])
        with torch.no_grad():
            logits = model(inputs).logits.double()
        hf_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1)).item()
        self.assertEqual(result["tokens"], windows * SEQ_LEN)
        self.assertAlmostEqual(result["val_loss"] / hf_loss, 1.0, delta=1e-5)

    def test_round_trips_are_bit_exact(self):
        back = os.path.join(self.root, "back")
        run([app("cocomix-convert"), "import", "--hf", self.hf, "--out", back])
        original = load_file(os.path.join(self.checkpoint, "model.safetensors"))
        imported = load_file(os.path.join(back, "checkpoints", "step_00000000", "model.safetensors"))
        self.assertEqual(sorted(imported), sorted(original))
        for name, tensor in original.items():
            self.assertTrue(torch.equal(imported[name], tensor), name)
        # export(import(hf)) gives the same tensors (the imported run records no data: --tokenizer needed).
        again = os.path.join(self.root, "again")
        run([app("cocomix-convert"), "export", "--checkpoint", back, "--out", again,
             "--tokenizer", os.path.join(SHARED_DATA, "gpt2_tokenizer")])
        exported, re_exported = (load_file(os.path.join(d, "model.safetensors")) for d in (self.hf, again))
        self.assertEqual(sorted(exported), sorted(re_exported))
        for name, tensor in exported.items():
            self.assertTrue(torch.equal(re_exported[name], tensor), name)
        # cocomix-eval reads the imported checkpoint (the teacher loader is covered by the unit tests).
        run([app("cocomix-eval"), "--checkpoint", back, "--val", self.val, "--seq-len", str(SEQ_LEN),
             "--max-windows", "2"])

    def expect_error(self, args, code, *fragments):
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, result.stdout + result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def bad_hf_copy(self, name, edit_config=None, edit_tensors=None):
        directory = os.path.join(self.root, name)
        shutil.copytree(self.hf, directory)
        if edit_config:
            with open(os.path.join(directory, "config.json")) as f:
                config = json.load(f)
            edit_config(config)
            with open(os.path.join(directory, "config.json"), "w") as f:
                json.dump(config, f)
        if edit_tensors:
            tensors = load_file(os.path.join(directory, "model.safetensors"))
            edit_tensors(tensors)
            save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
        return directory

    def test_bad_input(self):
        convert = app("cocomix-convert")
        out = os.path.join(self.root, "bad_out")
        llama = self.bad_hf_copy("llama", edit_config=lambda c: c.update(model_type="llama"))
        self.expect_error([convert, "import", "--hf", llama, "--out", out], 1, "llama/config.json", "model_type",
                          "gpt2")
        relu = self.bad_hf_copy("relu", edit_config=lambda c: c.update(activation_function="relu"))
        self.expect_error([convert, "import", "--hf", relu, "--out", out], 1, "relu/config.json",
                          "activation_function")
        no_layers = self.bad_hf_copy("no_layers", edit_config=lambda c: c.pop("n_layer"))
        self.expect_error([convert, "import", "--hf", no_layers, "--out", out], 1, "config.json", "n_layer", "missing")
        malformed = self.bad_hf_copy("malformed")
        with open(os.path.join(malformed, "config.json"), "w") as f:
            f.write('{"model_type": "gpt2", "n_embd": ')
        self.expect_error([convert, "import", "--hf", malformed, "--out", out], 1, "malformed/config.json",
                          "not valid JSON")
        shapes = self.bad_hf_copy("shapes", edit_tensors=lambda t: t.update(
            {"transformer.wpe.weight": torch.zeros(SEQ_LEN + 1, 32)}))
        self.expect_error([convert, "import", "--hf", shapes, "--out", out], 1, "shapes/model.safetensors",
                          "transformer.wpe.weight", "shape")
        names = self.bad_hf_copy("names", edit_tensors=lambda t: t.update(
            {"transformer.h.0.attn.q_proj.weight": torch.zeros(32, 32)}))
        self.expect_error([convert, "import", "--hf", names, "--out", out], 1, "names/model.safetensors",
                          "transformer.h.0.attn.q_proj.weight", "unexpected")
        self.assertFalse(os.path.exists(out))
        self.expect_error([convert, "import", "--hf", os.path.join(self.root, "absent"), "--out", out], 1,
                          "absent/config.json", "missing")
        self.expect_error([convert, "export", "--checkpoint", self.run_dir, "--out", self.hf], 2, self.hf,
                          "already holds model.safetensors")
        self.expect_error([convert, "export", "--checkpoint", os.path.join(self.root, "absent"), "--out", out], 1,
                          "absent")
        self.expect_error([convert, "convert", "--hf", self.hf], 2)


if __name__ == "__main__":
    unittest.main()
