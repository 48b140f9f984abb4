"""CoCoMix through cocomix-train with the teacher in the loop: a tiny NTP teacher
trained here, a random SAE on its layer 1, then a CoCoMix student. The run logs
both loss parts, a SIGKILL after a checkpoint resumes to bitwise the same losses
and weights, cocomix-eval reads the checkpoint (concept path inside), and every
baseline mode trains. Bad teacher/SAE pairings fail at start with one line.
Direct hidden-state prediction (no SAE) the same way: its loss parts, exact
resume, evaluation and export without the teacher, bad fields at start."""
import filecmp
import json
import os
import shutil
import subprocess
import unittest

from cocomix_testlib import app, make_corpus, read_metrics, run, temp_dir, train_teacher, wait_for_checkpoint, write_config, write_sae

MAX_STEPS = 12
C = 96  # write_sae's default n_latents


class CoCoMixTrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"))
        cls.teacher = train_teacher(cls.root, cls.train, cls.val, train={"max_steps": 8, "checkpoint_every": 0})
        cls.sae = write_sae(os.path.join(cls.root, "sae"), d=64, layer=1)
        cls.concept = {"mode": "cocomix", "teacher_path": cls.teacher, "sae_path": cls.sae, "n_concepts": C,
                       "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 0.1}
        cls.config = write_config(os.path.join(cls.root, "cocomix.json"), cls.train, cls.val,
                                  train={"max_steps": MAX_STEPS, "checkpoint_every": 4}, eval={"every": 6},
                                  concept=cls.concept)
        cls.straight = os.path.join(cls.root, "straight")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.straight])

    def losses(self, out):
        return [(r["step"], r.get("loss"), r.get("concept_loss"), r.get("val_loss")) for r in read_metrics(out)]

    def test_logs_both_parts_and_learns(self):
        records = [r for r in read_metrics(self.straight) if "loss" in r]
        self.assertEqual(len(records), MAX_STEPS)
        for r in records:
            self.assertAlmostEqual(r["loss"], r["ntp_loss"] + 0.1 * r["concept_loss"], places=5)
        self.assertLess(records[-1]["loss"], records[0]["loss"])
        self.assertLess(records[-1]["concept_loss"], records[0]["concept_loss"])

    def test_sigkill_after_checkpoint_resumes_exactly(self):
        out = os.path.join(self.root, "killed")
        process = subprocess.Popen([app("cocomix-train"), "--config", self.config, "--out", out],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_checkpoint([process], out, 4)
        process.kill()
        process.communicate(timeout=60)
        run([app("cocomix-train"), "--config", self.config, "--out", out, "--resume"])
        self.assertEqual(self.losses(out)[-MAX_STEPS:], self.losses(self.straight)[-MAX_STEPS:])
        final = "checkpoints/step_%08d/model.safetensors" % MAX_STEPS
        self.assertTrue(filecmp.cmp(os.path.join(self.straight, final), os.path.join(out, final), shallow=False))

    def test_activation_checkpointing_changes_no_bit(self):
        """Recomputing every block, or every other one, in the backward pass (dropout 0.1 and bf16 autocast
        here) gives bitwise the same losses and weights as keeping the activations."""
        final = "checkpoints/step_%08d/model.safetensors" % MAX_STEPS
        for every in (1, 2):
            out = os.path.join(self.root, f"activation_checkpointing_{every}")
            run([app("cocomix-train"), "--config", self.config, "--out", out,
                 "--set", f"train.activation_checkpointing={every}"])
            self.assertEqual(self.losses(out), self.losses(self.straight))
            self.assertTrue(filecmp.cmp(os.path.join(self.straight, final), os.path.join(out, final), shallow=False))

    def test_eval_reads_the_cocomix_checkpoint(self):
        result = os.path.join(self.root, "eval.json")
        run([app("cocomix-eval"), "--checkpoint", self.straight, "--val", self.val, "--json", result])
        with open(result) as f:
            evaluated = json.load(f)
        last_val = [r["val_loss"] for r in read_metrics(self.straight) if "val_loss" in r][-1]
        self.assertGreater(evaluated["val_loss"], 0)
        self.assertLess(abs(evaluated["val_loss"] - last_val), 0.5)  # the trainer validates on a subset

    def test_every_baseline_mode_trains(self):
        for mode in ("intervention", "concept_loss_only", "insertion_only", "kd", "pause", "pause_kd"):
            out = os.path.join(self.root, "mode_" + mode)
            run([app("cocomix-train"), "--config", self.config, "--out", out, "--set", "concept.mode=" + mode,
                 "--set", "train.max_steps=3", "--set", "train.checkpoint_every=0",
                 "--set", "optim.warmup_steps=1"])
            records = [r for r in read_metrics(out) if "loss" in r]
            self.assertEqual(len(records), 3, mode)
            self.assertEqual("kd_loss" in records[-1], mode in ("kd", "pause_kd"), mode)
            self.assertEqual("concept_loss" in records[-1], mode in ("intervention", "concept_loss_only"), mode)

    def hidden_prediction_config(self, teacher=None):
        concept = {"mode": "hidden_prediction", "teacher_path": teacher or self.teacher, "teacher_layer": 1,
                   "teacher_n_embd": 64, "hidden_mlp_width": 32, "hidden_loss": "cosine", "insert_layer": 1,
                   "weight": 0.1}
        return write_config(os.path.join(self.root, "hidden.json"), self.train, self.val,
                            train={"max_steps": MAX_STEPS, "checkpoint_every": 4}, eval={"every": 6}, concept=concept)

    def test_hidden_prediction_trains_resumes_exactly_and_evaluates_without_the_teacher(self):
        teacher = shutil.copytree(self.teacher, os.path.join(self.root, "hidden_teacher"))  # moved away below
        config = self.hidden_prediction_config(teacher)
        straight, killed = os.path.join(self.root, "hidden_straight"), os.path.join(self.root, "hidden_killed")
        run([app("cocomix-train"), "--config", config, "--out", straight])
        records = [r for r in read_metrics(straight) if "loss" in r]
        self.assertEqual(len(records), MAX_STEPS)
        for r in records:
            self.assertNotIn("concept_loss", r)
            self.assertAlmostEqual(r["loss"], r["ntp_loss"] + 0.1 * r["hidden_loss"], places=5)
            self.assertTrue(0 <= r["hidden_loss"] <= 2)  # 1 - cos
        self.assertLess(records[-1]["hidden_loss"], records[0]["hidden_loss"])

        process = subprocess.Popen([app("cocomix-train"), "--config", config, "--out", killed],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_checkpoint([process], killed, 4)
        process.kill()
        process.communicate(timeout=60)
        run([app("cocomix-train"), "--config", config, "--out", killed, "--resume"])
        losses = lambda out: [(r["step"], r.get("loss"), r.get("hidden_loss"), r.get("val_loss"))
                              for r in read_metrics(out)][-MAX_STEPS:]
        self.assertEqual(losses(killed), losses(straight))
        final = "checkpoints/step_%08d/model.safetensors" % MAX_STEPS
        self.assertTrue(filecmp.cmp(os.path.join(straight, final), os.path.join(killed, final), shallow=False))

        # The forward needs only the MLP and the compressor: with its teacher moved away the run evaluates
        # and exports.
        os.rename(teacher, teacher + "_moved")
        checkpoint = os.path.join(straight, "checkpoints", "step_%08d" % MAX_STEPS)
        result = os.path.join(self.root, "hidden_eval.json")
        run([app("cocomix-eval"), "--checkpoint", checkpoint, "--val", self.val, "--json", result])
        with open(result) as f:
            evaluated = json.load(f)
        last_val = [r["val_loss"] for r in read_metrics(straight) if "val_loss" in r][-1]
        self.assertLess(abs(evaluated["val_loss"] - last_val), 0.5)  # the trainer validates on a subset
        hf = os.path.join(self.root, "hidden_hf")
        run([app("cocomix-convert"), "export", "--checkpoint", checkpoint, "--out", hf])
        with open(os.path.join(hf, "cocomix_concept.json")) as f:
            info = json.load(f)
        self.assertEqual(info["mode"], "hidden_prediction")
        self.assertEqual(info["teacher_layer"], 1)
        self.assertEqual(sorted(info["tensors"]), ["hidden_prediction." + name for name in (
            "c_fc.bias", "c_fc.weight", "c_proj.bias", "c_proj.weight", "compressor.bias", "compressor.weight")])

    def test_hidden_prediction_bad_fields_fail_at_start(self):
        config = self.hidden_prediction_config()
        cases = {"concept.teacher_layer=3": "concept.teacher_layer: 3 is beyond the teacher's 2 blocks",
                 "concept.teacher_layer=0": "concept.teacher_layer: mode \"hidden_prediction\" needs",
                 "concept.teacher_n_embd=48": "concept.teacher_n_embd: 48 differs from the teacher's n_embd = 64",
                 "concept.hidden_loss=huber": "concept.hidden_loss: must be \"l1\", \"l2\" or \"cosine\"",
                 ("concept.sae_path=" + self.sae): "concept.sae_path: mode \"hidden_prediction\" uses no SAE"}
        for assignment, message in cases.items():
            bad = os.path.join(self.root, "hidden_bad")
            result = run([app("cocomix-train"), "--config", config, "--out", bad, "--set", assignment], check=False)
            self.assertEqual(result.returncode, 2, assignment + result.stderr)
            self.assertIn(message, result.stderr, assignment)
            self.assertIn("hidden.json", result.stderr, assignment)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertFalse(os.path.exists(os.path.join(bad, "checkpoints")), assignment)

    def test_mismatched_sae_fails_at_start(self):
        wide = write_sae(os.path.join(self.root, "sae_wide"), d=48, layer=1)
        deep = write_sae(os.path.join(self.root, "sae_deep"), d=64, layer=5)
        cases = {("concept.sae_path=" + wide): "differs from the teacher's n_embd",
                 ("concept.sae_path=" + deep): "beyond the teacher's",
                 "concept.n_concepts=128": "differs from the SAE's n_latents",
                 "concept.k_attr=9": "exceeds the SAE's k",
                 "concept.insert_layer=2": "concept.insert_layer"}
        for assignment, message in cases.items():
            result = run([app("cocomix-train"), "--config", self.config, "--out", os.path.join(self.root, "bad"),
                          "--set", assignment], check=False)
            self.assertEqual(result.returncode, 2, assignment + result.stderr)
            self.assertIn(message, result.stderr, assignment)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.root, "bad", "checkpoints")), assignment)


if __name__ == "__main__":
    unittest.main(verbosity=2)
