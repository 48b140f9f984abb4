"""cocomix_tools.alignment (scripts/concept_alignment.py) against independent references: on a tiny synthetic
corpus, a teacher trained by cocomix-train, its SAE by cocomix-sae train and a
CoCoMix student, the package's Python forward (cocomix_tools.model) must give cocomix-eval's validation
loss and cocomix-sae eval's FVU (1e-4 relative); the student's predicted concepts
must be the top-k_pred of logits recomputed here from transformers' hidden_states[L_s]
of the cocomix-convert export and the exported head tensors. The AUROC is checked
on a hand-worked example (ties 1/2), the selection on a planted latent, and the
CLI's JSON, determinism and bad-input errors end to end."""
import contextlib
import io
import json
import os
import sys
import unittest

import numpy as np
import torch
from safetensors.torch import load_file

from cocomix_testlib import SOURCE_DIR, app, run, temp_dir, tiny_teacher_and_sae, write_config, write_sae
from cocomix_tools import alignment as ca
from cocomix_tools.corpus import read_token_file
from cocomix_tools.model import GPT2, ConceptHead, Sae

SCRIPT = os.path.join(SOURCE_DIR, "scripts", "concept_alignment.py")
PYTHON = os.environ.get("COCOMIX_PYTHON", sys.executable)
LATENTS = 128
WINDOWS = 6


class ConceptAlignmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.root = temp_dir()
        cls.train_file, cls.val_file, cls.teacher, cls.sae = tiny_teacher_and_sae(cls.root, LATENTS)
        cls.data = os.path.dirname(cls.train_file)
        concept = {"mode": "cocomix", "teacher_path": cls.teacher, "sae_path": cls.sae, "n_concepts": LATENTS,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 0.1}
        config = write_config(os.path.join(cls.root, "student.json"), cls.train_file, cls.val_file,
                              train={"max_steps": 6, "checkpoint_every": 0}, eval={"every": 0}, concept=concept)
        cls.student = os.path.join(cls.root, "student")
        run([app("cocomix-train"), "--config", config, "--out", cls.student])
        cls.tokens = read_token_file(cls.val_file)

    # ---- scoring pieces against hand-worked values -------------------------------------
    def test_auroc_hand_worked(self):
        # positives 0.35, 0.8, 0.4 against negatives 0.1, 0.4: 1 + 0 + 1 + 1 + 1 + 1/2 = 4.5 of 6 pairs.
        self.assertAlmostEqual(ca.auroc([0.1, 0.4, 0.35, 0.8, 0.4], [0, 0, 1, 1, 1]), 0.75, places=12)
        self.assertAlmostEqual(ca.auroc([2.0, 2.0, 2.0, 2.0], [1, 0, 1, 0]), 0.5, places=12)
        self.assertAlmostEqual(ca.auroc([3.0, 1.0, 2.0], [0, 1, 1]), 0.0, places=12)
        np.testing.assert_array_equal(ca.average_ranks(np.array([[0.4], [0.1], [0.4], [0.7], [0.4]])).ravel(),
                                      [3.0, 1.0, 3.0, 5.0, 3.0])
        self.assertTrue(np.isnan(ca.auroc([0.1, 0.2], [1, 1])))

    def test_planted_latent_is_found(self):
        rng = np.random.default_rng(0)
        documents = []
        for i in range(60):
            entities = [{"gender": "female" if i % 3 else "male", "profession": ["baker", "pilot"][i % 2],
                         "city": "Oslo", "colour": "red"}, {"gender": "male", "profession": "nurse",
                                                            "city": "Lima", "colour": "teal"}]
            documents.append((i, None, {"topic": ["music", "sailing", "cooking"][(i * 7) % 3],
                                        "register": "formal" if rng.random() < 0.5 else "casual",
                                        "sentiment": "positive" if i % 4 < 2 else "negative", "entities": entities}))
        features = rng.random((60, 40)) * 0.1
        formal = np.array([d[2]["register"] == "formal" for d in documents])
        features[:, 17] = formal * 0.5  # latent 17 fires exactly on formal documents
        result = ca.score_features(features, documents)
        entry = result["register"]["values"]["formal"]
        self.assertEqual(entry["auroc"], 1.0)
        self.assertEqual(entry["latents"], [17, 17])
        self.assertEqual(result["register"]["probe_acc"], 1.0)
        # Constant labels (city "Lima" in every document) are not scored.
        self.assertIsNone(result["city"]["values"]["Lima"]["auroc"])
        # Unplanted variables stay near chance.
        self.assertLess(abs(result["sentiment"]["best_latent_auroc"] - 0.5), 0.3)

    # ---- the Python forward against the C++ apps ---------------------------------------
    def test_teacher_loss_and_sae_fvu_match_the_apps(self):
        teacher, sae = GPT2(self.teacher), Sae(self.sae)
        checks = ca.check_with_apps(ca_bin(), self.teacher, teacher, self.sae, sae, self.val_file, self.tokens, WINDOWS)
        for name, (cpp, python) in checks.items():
            self.assertLess(abs(cpp - python), 1e-4 * abs(cpp), name)
        # The figures are of a trained model, not trivially equal: a random SAE has another FVU.
        self.assertLess(checks["sae_fvu"][0], 0.9)
        self.assertLess(checks["teacher_val_loss"][0], 5.0)
        random_sae = write_sae(os.path.join(self.root, "random_sae"), d=64, layer=1, n_latents=LATENTS)
        other = ca.sae_fvu(teacher, Sae(random_sae), self.tokens, 64, WINDOWS)
        self.assertGreater(abs(other - checks["sae_fvu"][0]), 0.05)

    def test_student_concepts_match_a_direct_recomputation(self):
        from transformers import GPT2LMHeadModel
        hf = os.path.join(self.root, "student_hf")
        if not os.path.exists(hf):
            run([app("cocomix-convert"), "export", "--checkpoint", self.student, "--out", hf])
        model = GPT2LMHeadModel.from_pretrained(hf).eval()
        head = load_file(os.path.join(hf, "cocomix_concept.safetensors"))
        inputs = torch.from_numpy(self.tokens[:2 * 64].astype(np.int64)).view(2, 64)
        with torch.no_grad():
            hf_out = model(inputs, output_hidden_states=True)
            h = hf_out.hidden_states[1]  # input of block L_s = 1
            x = (h - h.mean(-1, keepdim=True)) / (h.std(-1, keepdim=True) + 1e-5)
            expected = ((x - head["concept.pre_bias"]) @ head["concept.predictor.weight"]
                        + head["concept.predictor.bias"])
            student = GPT2(self.student)
            top, logits = ca.student_top_concepts(student, ConceptHead(student), inputs)
            # The reference GPT-2 blocks are transformers' (plain forward, no insertion).
            torch.testing.assert_close(student.hidden_after(inputs, 1), h, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(student.logits(inputs), hf_out.logits, rtol=1e-5, atol=1e-5)
        self.assertEqual(tuple(logits.shape), (2, 64, LATENTS))
        self.assertEqual(tuple(top.shape), (2, 64, 8))
        torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)
        expected_top = expected.topk(8, dim=-1).indices
        self.assertTrue(torch.equal(top.sort(-1).values, expected_top.sort(-1).values))

    # ---- the CLI ----------------------------------------------------------------------
    def test_cli_json_and_determinism(self):
        out = os.path.join(self.root, "alignment.json")
        result = run([PYTHON, SCRIPT, "--corpus", self.data, "--teacher", self.teacher, "--sae", self.sae,
                      "--student", self.student, "--documents", "30", "--threads", "1", "--json", out,
                      "--check-with-apps", ca_bin(), "--check-windows", "2"])
        self.assertIn("| register |", result.stdout)
        self.assertIn("check sae_fvu", result.stderr)
        with open(out) as f:
            written = json.load(f)
        self.assertEqual(written["documents"], 30)
        self.assertEqual((written["sae_layer"], written["sae_k"], written["n_latents"]), (1, 8, LATENTS))
        self.assertEqual((written["k_pred"], written["insert_layer"]), (8, 1))
        for section in ("sae", "student"):
            self.assertEqual(set(written[section]), set(ca.MULTICLASS + ca.MULTILABEL))
            for variable, entry in written[section].items():
                for key in ("best_latent_auroc", "best_latent_auroc_shuffled", "probe_acc", "probe_auroc", "majority"):
                    self.assertTrue(0.0 <= entry[key] <= 1.0, (section, variable, key))
        # --max-doc-tokens cuts every document.
        self.assertTrue(all(d[1].size == 100 for d in ca.read_val_documents(self.data, 10, max_tokens=100)))
        # Same figures in-process (another process, same thread count).
        again = ca.analyse(self.data, self.teacher, self.sae, self.student, documents=30)
        self.assertEqual(again["sae"], written["sae"])
        self.assertEqual(again["student"], written["student"])

    def test_bad_input(self):
        def expect_error(fragments, *args):  # main() in-process: the CLI's code path without a torch import each
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                code = ca.main(["--corpus", self.data, "--teacher", self.teacher, "--sae", self.sae, *args])
            self.assertEqual(code, 1, stderr.getvalue())
            lines = stderr.getvalue().strip().splitlines()
            self.assertEqual(len(lines), 1, stderr.getvalue())
            self.assertTrue(lines[0].startswith("error: "), stderr.getvalue())
            for fragment in fragments:
                self.assertIn(fragment, lines[0])
        narrow = write_sae(os.path.join(self.root, "narrow_sae"), d=32, layer=1)
        expect_error(["sae.json", "d 32", "n_embd 64"], "--sae", narrow)
        expect_error(["model.safetensors", "concept.pre_bias", "no concept head"], "--student", self.teacher)
        missing = os.path.join(self.root, "nowhere")
        expect_error([missing, "checkpoint"], "--student", missing)
        no_val = os.path.join(self.root, "no_val")
        run([app("cocomix-tokenize"), "--synthetic", "--documents", "3", "--val-fraction", "0", "-o", no_val])
        expect_error(["documents.jsonl", "0 validation documents"], "--corpus", no_val)
        broken = os.path.join(self.root, "broken_sae")
        os.makedirs(broken, exist_ok=True)
        with open(os.path.join(broken, "sae.json"), "w") as f:
            json.dump({"d": 64, "n_latents": 0, "k": 8, "layer": 1}, f)
        expect_error(["sae.json", "n_latents"], "--sae", broken)


def ca_bin():
    return os.path.dirname(app("cocomix-eval"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
