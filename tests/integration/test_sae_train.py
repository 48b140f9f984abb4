"""cocomix-sae train end to end: a tiny NTP teacher trained with cocomix-train on
the synthetic corpus, then an SAE on its residual stream. The SAE must learn
(FVU far below 1, on training and validation tokens), record its teacher's hash,
load back (cocomix-sae eval gives the validation figures again), and a run
stopped half-way and resumed must end with the same bytes and metrics as a
straight one. Bad input gets one 'error:' line and the documented exit code."""
import filecmp
import hashlib
import json
import os
import unittest

import torch
from safetensors.torch import save_file

from cocomix_testlib import app, make_corpus, read_metrics, run, temp_dir, train_teacher

STEPS = 300


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class SaeTrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train_file, cls.val_file = make_corpus(os.path.join(cls.root, "data"))
        cls.teacher = train_teacher(cls.root, cls.train_file, cls.val_file,
                                    train={"max_steps": 60, "checkpoint_every": 60, "precision": "fp32"},
                                    eval={"every": 60, "max_batches": 2, "batch_size": 4})
        cls.straight = os.path.join(cls.root, "straight")
        run(cls.sae_command(cls.straight, STEPS))

    @classmethod
    def sae_command(cls, out, steps, *extra):
        return [app("cocomix-sae"), "train", "--teacher", cls.teacher, "--layer", "1", "--latents", "256", "--k", "8",
                "--data", cls.train_file, "--val", cls.val_file, "--steps", str(steps), "--batch", "8",
                "--seq-len", "64", "--lr", "2e-3", "--seed", "3", "--threads", "1", "--dead-tokens", "4096",
                "--log-every", "10", "--eval-every", "150", "--checkpoint-every", "50", "--val-windows", "32",
                "-o", out] + list(extra)

    def test_learns_and_writes_the_sae(self):
        records = read_metrics(self.straight)
        train = [r for r in records if "nmse" in r]
        val = [r for r in records if "val_fvu" in r]
        self.assertEqual([r["step"] for r in train], list(range(10, STEPS + 1, 10)))
        self.assertEqual([r["step"] for r in val], [150, 300])
        for r in train:
            for key in ("nmse", "fvu", "aux_loss", "dead_fraction", "loss", "tokens"):
                self.assertIn(key, r)
            self.assertAlmostEqual(r["loss"], r["nmse"] + r["aux_loss"] / 32, delta=1e-6)  # fp32 sums
        first, last = train[0], train[-1]
        print(f"\nfvu {first['fvu']:.3f} -> {last['fvu']:.3f}, nmse {first['nmse']:.3f} -> {last['nmse']:.3f}, "
              f"val_fvu {val[-1]['val_fvu']:.3f}, dead {last['dead_fraction']:.3f}")
        self.assertLess(last["fvu"], 0.25)
        self.assertLess(last["nmse"], 0.5 * first["nmse"])
        self.assertLess(val[-1]["val_fvu"], 0.25)
        self.assertLess(val[-1]["val_fvu"], val[0]["val_fvu"])
        self.assertLess(last["dead_fraction"], 0.5)
        self.assertEqual(last["tokens"], STEPS * 8 * 64)

        with open(os.path.join(self.straight, "sae.json")) as f:
            info = json.load(f)
        teacher_weights = os.path.join(self.teacher, "checkpoints", "step_00000060", "model.safetensors")
        self.assertEqual(info, {"d": 64, "n_latents": 256, "k": 8, "layer": 1,
                                "teacher_sha256": sha256(teacher_weights),
                                "sha256": sha256(os.path.join(self.straight, "sae.safetensors"))})
        # Loads back: evaluating the written SAE on the same windows gives the last validation figures.
        result = run([app("cocomix-sae"), "eval", "--sae", self.straight, "--teacher", self.teacher,
                      "--data", self.val_file, "--seq-len", "64", "--windows", "32", "--threads", "1"])
        evaluation = json.loads(result.stdout)
        self.assertEqual(evaluation["windows"], 32)
        self.assertAlmostEqual(evaluation["fvu"], val[-1]["val_fvu"], delta=1e-5)
        self.assertAlmostEqual(evaluation["nmse"], val[-1]["val_nmse"], delta=1e-5)
        self.assertNotIn("warn", result.stderr)

    def test_resume_is_exact(self):
        out = os.path.join(self.root, "resumed")
        run(self.sae_command(out, STEPS // 2))
        self.assertTrue(os.path.exists(os.path.join(out, "checkpoints", "step_00000150", "COMPLETE")))
        run(self.sae_command(out, STEPS, "--resume"))
        self.assertTrue(filecmp.cmp(os.path.join(self.straight, "sae.safetensors"),
                                    os.path.join(out, "sae.safetensors"), shallow=False))
        drop = ("tokens_per_second",)  # wall clock
        strip = lambda records: [{k: v for k, v in r.items() if k not in drop} for r in records]  # noqa: E731
        self.assertEqual(strip(read_metrics(out)), strip(read_metrics(self.straight)))

    # ---- bad input ----------------------------------------------------------
    def expect_error(self, args, code, *fragments):
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertTrue(lines and lines[-1].startswith("error: "), result.stderr)
        self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[-1])

    def bad_run(self, **changes):
        args = self.sae_command(os.path.join(self.root, "bad"), 5)
        for flag, value in changes.items():
            flag = "-o" if flag == "o" else "--" + flag.replace("_", "-")
            args[args.index(flag) + 1] = value
        return args

    def test_bad_input(self):
        missing = os.path.join(self.root, "no_teacher")
        self.expect_error(self.bad_run(teacher=missing), 1, missing)
        self.expect_error(self.bad_run(layer="3"), 2, "--layer", "3", "[1, 2]")
        self.expect_error(self.bad_run(k="300"), 2, "--k", "300", "--latents 256")
        self.expect_error(self.bad_run(latents="0"), 2, "--latents")
        bad_tokens = os.path.join(self.root, "odd.bin")
        with open(bad_tokens, "wb") as f:
            f.write(b"\x01\x02\x03")
        self.expect_error(self.bad_run(data=bad_tokens), 1, bad_tokens)
        blocker = os.path.join(self.root, "a_file")
        with open(blocker, "w") as f:
            f.write("x")
        self.expect_error(self.bad_run(o=os.path.join(blocker, "out")), 1, blocker)
        self.expect_error([app("cocomix-sae"), "train", "--teacher", self.teacher], 2, "required")
        self.expect_error([app("cocomix-sae")], 2)
        # A finished run is not overwritten without --resume; --resume needs a checkpoint.
        self.expect_error(self.sae_command(self.straight, STEPS), 2, "already holds checkpoints", "--resume")
        empty = os.path.join(self.root, "empty_out")
        self.expect_error(self.sae_command(empty, STEPS, "--resume"), 2, "no complete checkpoint")
        # Resuming with another SAE shape is refused, naming the field.
        changed = self.sae_command(self.straight, STEPS, "--resume")
        changed[changed.index("--k") + 1] = "4"
        self.expect_error(changed, 2, "config.json", "k", "8", "4")
        # An SAE of another width than the teacher's.
        other = os.path.join(self.root, "narrow_sae")
        os.makedirs(other, exist_ok=True)
        save_file({"pre_bias": torch.zeros(32), "encoder.weight": torch.zeros(16, 32), "latent_bias": torch.zeros(16),
                   "decoder.weight": torch.zeros(32, 16)}, os.path.join(other, "sae.safetensors"))
        with open(os.path.join(other, "sae.json"), "w") as f:
            json.dump({"d": 32, "n_latents": 16, "k": 4, "layer": 1,
                       "sha256": sha256(os.path.join(other, "sae.safetensors"))}, f)
        self.expect_error([app("cocomix-sae"), "eval", "--sae", other, "--teacher", self.teacher,
                           "--data", self.val_file], 2, "d 32", "n_embd 64")

if __name__ == "__main__":
    unittest.main(verbosity=2)
