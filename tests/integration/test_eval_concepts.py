"""cocomix-eval --concepts on a tiny CoCoMix checkpoint (random SAE, a few steps):
the concept loss and the recall of the teacher's labels among the head's kept
concepts against an independent torch reference on the safetensors files
(cocomix_tools.model: the teacher's gradient at L_t, the SAE's attribution
labels, the student's concept logits) on the same validation windows; --teacher
/ --sae override the checkpoint's; bad requests exit 2 with one line."""
import json
import os
import unittest

import numpy as np
import torch
import torch.nn.functional as F

from cocomix_testlib import app, run, temp_dir, train_cocomix_student, write_sae
from cocomix_tools.alignment import validation_windows
from cocomix_tools.corpus import read_token_file
from cocomix_tools.model import GPT2, ConceptHead, Sae

STEPS = 6
SEQ_LEN = 64
WINDOWS = 5


def attribution_labels(teacher, sae, inputs, k_attr):
    """Spec §2: g = dL_teacher/dh at the SAE's layer (mean CE over the B·(T-1) in-window
    predictions), scores (g · W_dec) ⊙ z, the K_attr best latents, ties to the smaller index."""
    h = teacher.hidden_after(inputs, sae.layer).detach().requires_grad_(True)
    top = h
    for i in range(sae.layer, teacher.sizes["n_layer"]):
        top = teacher.block(top, i)
    logits = teacher._ln(top, "transformer.ln_f") @ teacher.t("transformer.wte.weight").T
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), inputs[:, 1:].reshape(-1))
    (g,) = torch.autograd.grad(loss, h)
    z = sae.encode(h.detach().reshape(-1, sae.d))[0]                    # [N, C]
    scores = (g.reshape(-1, sae.d) @ sae.t["decoder.weight"]) * z        # [N, C]
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices[:, :k_attr]


def reference(student_dir, teacher_dir, sae_dir, val_path):
    """(concept loss, label hits, top-1 hits, positions) over the first WINDOWS validation windows."""
    student, teacher, sae = GPT2(student_dir), GPT2(teacher_dir), Sae(sae_dir)
    head = ConceptHead(student)
    k_attr = student.config["concept"]["k_attr"]
    tokens = read_token_file(val_path)
    starts = validation_windows(tokens, SEQ_LEN, WINDOWS)
    inputs = torch.from_numpy(np.stack([tokens[s:s + SEQ_LEN].astype(np.int64) for s in starts]))
    labels = attribution_labels(teacher, sae, inputs, k_attr)          # [N, K_attr]
    with torch.no_grad():
        logits = head.logits(student.hidden_after(inputs, head.insert_layer).reshape(-1, student.sizes["n_embd"]))
    kept = logits.topk(head.k_pred, dim=-1).indices                     # signed TopK, no ReLU
    loss = -torch.log_softmax(logits, -1).gather(-1, labels).mean()
    hits = (labels.unsqueeze(-1) == kept.unsqueeze(-2)).any(-1)         # [N, K_attr]
    return float(loss), int(hits.sum()), int(hits[:, 0].sum()), labels.size(0)


class EvalConceptsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.teacher, cls.sae, cls.student, cls.val = train_cocomix_student(cls.root, steps=STEPS)

    def evaluate(self, *extra, check=True):
        out = os.path.join(self.root, "eval.json")
        if os.path.exists(out):
            os.remove(out)
        result = run([app("cocomix-eval"), "--checkpoint", self.student, "--val", self.val, "--concepts",
                      "--max-windows", str(WINDOWS), "--seq-len", str(SEQ_LEN), "--batch-size", "2",
                      "--json", out] + list(extra), check=check)
        if not check:
            return result, None
        with open(out) as f:
            return result, json.load(f)["concept_quality"]

    def assert_matches_reference(self, quality, teacher, sae):
        loss, label_hits, top1_hits, positions = reference(self.student, teacher, sae, self.val)
        self.assertEqual((quality["positions"], quality["windows"], quality["k_attr"], quality["k_pred"]),
                         (positions, WINDOWS, 4, 8))
        self.assertAlmostEqual(quality["concept_loss"], loss, delta=1e-5 * loss)
        # Labels and kept concepts are rankings of floats computed in another order:
        # a near-tie may flip one of them, so one hit either way is allowed.
        self.assertLessEqual(abs(quality["label_hits"] - label_hits), 1)
        self.assertLessEqual(abs(quality["top1_hits"] - top1_hits), 1)
        self.assertAlmostEqual(quality["label_recall"], quality["label_hits"] / (4 * positions), places=12)
        self.assertAlmostEqual(quality["top1_recall"], quality["top1_hits"] / positions, places=12)
        self.assertGreater(label_hits, 0)

    def test_loss_and_recall_match_the_torch_reference(self):
        _, quality = self.evaluate()
        self.assertEqual((quality["teacher"], quality["sae"], quality["selection"]),
                         (self.teacher, self.sae, "attribution"))
        self.assert_matches_reference(quality, self.teacher, self.sae)

    def test_teacher_and_sae_overrides(self):
        other_sae = write_sae(os.path.join(self.root, "other_sae"), d=64, layer=1, seed=5)
        _, quality = self.evaluate("--teacher", self.teacher, "--sae", other_sae)
        self.assertEqual(quality["sae"], other_sae)
        self.assert_matches_reference(quality, self.teacher, other_sae)

    def assert_usage_error(self, result, *needles):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "eval.json")))

    def test_bad_requests_exit_2_with_one_line(self):
        ntp = run([app("cocomix-eval"), "--checkpoint", self.teacher, "--val", self.val, "--concepts",
                   "--json", os.path.join(self.root, "eval.json")], check=False)
        self.assert_usage_error(ntp, "--concepts", "checkpoints/step_00000008", 'mode "ntp" has no concept head')
        narrow_sae = write_sae(os.path.join(self.root, "narrow_sae"), d=48, layer=1)
        result, _ = self.evaluate("--sae", narrow_sae, check=False)
        self.assert_usage_error(result, os.path.join(narrow_sae, "sae.json"), "d = 48",
                                "differs from the teacher's n_embd = 64")
        result = run([app("cocomix-eval"), "--checkpoint", self.student, "--tasks", "piqa", "--concepts"],
                     check=False)
        self.assert_usage_error(result, "--concepts: needs --val")


if __name__ == "__main__":
    unittest.main()
