"""Bad input of every kind: each gets one
'error: ...' line naming the file and the field, exit 2 (usage/config) or 1
(runtime), no crash, and nothing already on disk is overwritten."""
import json
import os
import shutil
import struct
import unittest

from cocomix_testlib import app, make_corpus, run, temp_dir, write_config


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train_file, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=120)
        cls.config = write_config(os.path.join(cls.root, "good.json"), cls.train_file, cls.val,
                                  train={"max_steps": 4, "checkpoint_every": 2})
        cls.trained = os.path.join(cls.root, "trained")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.trained])

    def expect_error(self, args, code, *fragments, one_line=True):
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertTrue(lines, "no error message")
        self.assertTrue(lines[-1].startswith("error: "), lines[-1])
        if one_line:
            self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[-1])
        return lines[-1]

    def train(self, *extra, config=None, out=None):
        return [app("cocomix-train"), "--config", config or self.config,
                "--out", out or os.path.join(self.root, "scratch")] + list(extra)

    def bad_config(self, name, mutate):
        with open(self.config) as f:
            config = json.load(f)
        mutate(config)
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    # ---- config -----------------------------------------------------------
    def test_unknown_key(self):
        path = self.bad_config("unknown.json", lambda c: c["optim"].update(learning_rate=1))
        self.expect_error(self.train(config=path), 2, path, "optim.learning_rate", "unknown key")

    def test_wrong_type(self):
        path = self.bad_config("type.json", lambda c: c["model"].update(n_layer="two"))
        self.expect_error(self.train(config=path), 2, path, "model.n_layer", "expected an integer")

    def test_zero_and_negative_sizes(self):
        self.expect_error(self.train("--set", "train.batch_size=0"), 2, "train.batch_size", "must be positive")
        self.expect_error(self.train("--set", "model.n_embd=-64"), 2, "model.n_embd", "must be positive")

    def test_heads_not_dividing_width(self):
        self.expect_error(self.train("--set", "model.n_head=5"), 2, "model.n_head", "do not divide model.n_embd = 64")

    def test_invalid_json_and_missing_config(self):
        path = os.path.join(self.root, "broken.json")
        with open(path, "w") as f:
            f.write('{"model": {"n_embd": 64,,}}')
        self.expect_error(self.train(config=path), 2, path, "invalid JSON")
        self.expect_error(self.train(config=os.path.join(self.root, "absent.json")), 2, "absent.json", "cannot open")

    def test_bad_flags(self):
        self.expect_error([app("cocomix-train"), "--no-such-flag"], 2, "--no-such-flag")
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.trained], 2, "--val")

    # ---- token files --------------------------------------------------------
    def token_file(self, name, data):
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def header(self, magic=20240520, version=1, count=0):
        return struct.pack("<256i", magic, version, count, *([0] * 253))

    def test_bad_magic(self):
        path = self.token_file("magic.bin", self.header(magic=123) + b"\0\0" * 100)
        self.expect_error(self.train("--set", f"data.train_path={path}", "--set", "data.format=llmc"), 1, path, "magic")

    def test_truncated_and_size_mismatch(self):
        path = self.token_file("short.bin", self.header(count=1000) + b"\1\0" * 10)
        self.expect_error(self.train("--set", f"data.train_path={path}"), 1, path, "1000 tokens")
        path = self.token_file("header.bin", struct.pack("<3i", 20240520, 1, 5))
        self.expect_error(self.train("--set", f"data.train_path={path}"), 1, path)

    def test_empty_file(self):
        path = self.token_file("empty.bin", b"")
        self.expect_error(self.train("--set", f"data.train_path={path}"), 1, path, "empty")

    def test_token_id_beyond_vocab(self):
        ids = struct.pack("<1000H", *([300] * 1000))
        path = self.token_file("oov.bin", self.header(count=1000) + ids)
        out = os.path.join(self.root, "oov")
        self.expect_error(self.train("--set", f"data.train_path={path}", out=out), 1, path, "300", "vocab_size 257",
                          one_line=False)

    # ---- training that diverges ---------------------------------------------
    def test_nonfinite_steps_are_skipped_then_stop_the_run(self):
        out = os.path.join(self.root, "diverged")
        line = self.expect_error(self.train("--set", "optim.lr=1e30", "--set", "optim.min_lr=0", "--set",
                                            "optim.warmup_steps=0", "--set", "train.max_nonfinite_steps=3",
                                            "--set", "train.max_steps=20", out=out),
                                 1, "3 non-finite steps in a row", "train.max_nonfinite_steps", one_line=False)
        records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        skipped = [r["skipped_steps"] for r in records if "skipped_steps" in r]
        self.assertEqual(skipped[-1], 2, line)  # the third skip stops the run before it is logged
        self.assertIsNone(records[-1]["loss"])  # non-finite values are logged as null

    # ---- checkpoints and output ---------------------------------------------
    def copy_run(self, name):
        out = os.path.join(self.root, name)
        shutil.copytree(self.trained, out)
        return out

    def test_checkpoint_missing_file(self):
        out = self.copy_run("missing")
        step = os.path.join(out, "checkpoints", "step_00000004")
        os.remove(os.path.join(step, "model.safetensors"))
        self.expect_error([app("cocomix-eval"), "--checkpoint", step, "--val", self.val], 1, "model.safetensors")
        out = self.copy_run("missing_optimizer")
        os.remove(os.path.join(out, "checkpoints", "step_00000004", "optimizer.safetensors"))
        self.expect_error(self.train("--resume", "--set", "train.max_steps=6", out=out), 1, "optimizer.safetensors")
        # Evaluation needs only the model: it still works without the optimizer state.
        step = os.path.join(out, "checkpoints", "step_00000004")
        result = run([app("cocomix-eval"), "--checkpoint", step, "--val", self.val])
        self.assertGreater(json.loads(result.stdout)["val_ppl"], 1.0)

    def test_checkpoint_mismatched_shapes(self):
        out = self.copy_run("shapes")
        step = os.path.join(out, "checkpoints", "step_00000004")
        with open(os.path.join(step, "config.json")) as f:
            config = json.load(f)
        config["model"]["n_embd"] = 128
        with open(os.path.join(step, "config.json"), "w") as f:
            json.dump(config, f)
        self.expect_error([app("cocomix-eval"), "--checkpoint", step, "--val", self.val], 1,
                          "model.safetensors", "transformer.wte.weight", "does not match")

    def test_unwritable_output_directory(self):
        blocker = os.path.join(self.root, "a_file")
        open(blocker, "w").close()
        self.expect_error(self.train(out=os.path.join(blocker, "run")), 1, "a_file")

    def test_resume_without_checkpoint(self):
        self.expect_error(self.train("--resume", out=os.path.join(self.root, "fresh")), 2, "no complete checkpoint")

    def test_existing_run_is_not_overwritten(self):
        out = self.copy_run("kept")
        before = sorted(os.listdir(os.path.join(out, "checkpoints")))
        self.expect_error(self.train(out=out), 2, "already holds checkpoints", "--resume")
        self.assertEqual(sorted(os.listdir(os.path.join(out, "checkpoints"))), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
