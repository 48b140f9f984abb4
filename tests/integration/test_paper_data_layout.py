"""The paper configs train on the directory scripts/prepare_openwebtext.sh
writes, with no edits to their data section: a small stand-in for it (shared
text, tokenized by cocomix-tokenize with the GPT-2 tokenizer into several
shards, as the script does) at the place the script writes, then a shipped
config shrunk only in model size and steps, run from the directory the recipe
runs from."""
import json
import os
import re
import shutil
import subprocess
import unittest

from cocomix_testlib import SHARED_DATA, SOURCE_DIR, app, read_metrics, run, temp_dir

PAPER_CONFIGS = [f"{mode}_{size}.json" for mode in ("ntp", "cocomix", "kd", "pause")
                 for size in ("69m", "386m", "1.38b")]
# What the test changes: model size, steps and schedule, batch and device; never the data section.
SHRINK = ["model.n_embd=32", "model.n_layer=2", "model.n_head=2", "data.seq_len=64", "train.batch_size=2",
          "train.grad_accum_steps=1", "train.max_steps=3", "optim.warmup_steps=1", "train.device=cpu", "train.precision=fp32",
          "train.threads=1", "train.checkpoint_every=0", "eval.every=0", "eval.max_batches=2", "eval.batch_size=2",
          "log.every=1", "log.tensorboard=false"]


class PaperDataLayoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        with open(os.path.join(SOURCE_DIR, "scripts", "prepare_openwebtext.sh")) as f:
            script = f.read()
        cls.script_out = re.search(r'OUT="\$\{1:-([^}]+)\}"', script).group(1)
        cls.data = os.path.join(cls.root, cls.script_out)
        run([app("cocomix-tokenize"), "--tokenizer", os.path.join(SHARED_DATA, "gpt2_tokenizer"), "--blocks",
             "--val-fraction", "0.05", "--seed", "2357", "--shard-tokens", "60000", "-o", cls.data,
             os.path.join(SHARED_DATA, "text_tinyshakespeare", "input.txt")])
        with open(os.path.join(cls.data, "manifest.json")) as f:
            cls.manifest = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def train(self, config, out, *extra):
        args = [app("cocomix-train"), "--config", os.path.join(SOURCE_DIR, "configs", config), "--out", out]
        for assignment in SHRINK + list(extra):
            args += ["--set", assignment]
        return subprocess.run(args, cwd=self.root, capture_output=True, text=True, timeout=600)

    def test_every_paper_config_names_the_directory_the_script_writes(self):
        self.assertEqual(self.script_out, "data/openwebtext")
        self.assertGreaterEqual(len(self.manifest["splits"]["train"]["shards"]), 4)
        for name in PAPER_CONFIGS:
            with open(os.path.join(SOURCE_DIR, "configs", name)) as f:
                data = json.load(f)["data"]
            self.assertEqual((data["train_path"], data["val_path"]), (self.script_out, self.script_out), name)

    def test_the_ntp_config_trains_and_validates_on_the_shards(self):
        result = self.train("ntp_69m.json", "runs/ntp")
        self.assertEqual(result.returncode, 0, result.stderr)
        records = read_metrics(os.path.join(self.root, "runs", "ntp"))
        self.assertEqual([r["step"] for r in records if "loss" in r], [1, 2, 3])
        self.assertTrue(any("val_loss" in r for r in records))
        with open(os.path.join(self.root, "runs", "ntp", "checkpoints", "step_%08d" % 3,
                               "trainer_state.json")) as f:
            state = json.load(f)
        shards = [{"file": s["file"], "tokens": s["tokens"]} for s in self.manifest["splits"]["train"]["shards"]]
        self.assertEqual(state["data"]["sources"][0]["shards"], shards)

    def test_the_cocomix_config_gets_past_the_data_to_its_teacher(self):
        # No GPT-2 weights here: the run stops at the teacher, after the data was opened and checked.
        result = self.train("cocomix_386m.json", "runs/cocomix", "concept.insert_layer=1")
        self.assertNotEqual(result.returncode, 0)
        error = result.stderr.strip().splitlines()[-1]
        self.assertTrue(error.startswith("error: models/gpt2: "), result.stderr)


if __name__ == "__main__":
    unittest.main()
