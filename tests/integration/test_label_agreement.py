"""bench/label_agreement.py: its comparison of two labellings against counts worked
out by hand, and a run on a tiny teacher whose fp32 and bf16 label caches cover
the same positions."""
import json
import os
import subprocess
import sys
import unittest

import numpy as np

from cocomix_testlib import SOURCE_DIR, make_corpus, temp_dir, train_teacher, write_config, write_sae
from cocomix_tools.corpus import read_token_file

sys.path.insert(0, os.path.join(SOURCE_DIR, "bench"))
from label_agreement import agreement  # noqa: E402


class LabelAgreementTest(unittest.TestCase):
    def test_agreement_counts(self):
        reference = np.array([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [1, 2, 3, 4]]])  # [1, 4 positions, K 4]
        other = np.array([[[4, 3, 2, 1],     # the same set, another order: identical, top-1 differs
                           [5, 6, 7, 9],     # 3 of 4 shared, top-1 agrees
                           [13, 14, 15, 16],  # nothing shared
                           [1, 2, 3, 4]]])   # the same labels in the same order
        figures = agreement(reference, other)
        self.assertEqual(figures["positions"], 4)
        self.assertEqual(figures["identical_sets"], 2 / 4)
        self.assertEqual(figures["mean_overlap"], (4 + 3 + 0 + 4) / (4 * 4))
        self.assertEqual(figures["top1_agreement"], 2 / 4)
        with self.assertRaises(ValueError):
            agreement(reference, other[:, :3])

    def test_run_on_a_tiny_teacher(self):
        root = temp_dir()
        train, val = make_corpus(os.path.join(root, "data"), documents=40)
        teacher = train_teacher(root, train, val, train={"max_steps": 4, "checkpoint_every": 0, "precision": "fp32"})
        sae = write_sae(os.path.join(root, "sae"), d=64, layer=1)
        concept = {"mode": "cocomix", "teacher_path": teacher, "sae_path": sae, "n_concepts": 96, "insert_layer": 1,
                   "k_pred": 8, "k_attr": 4}
        config = write_config(os.path.join(root, "cocomix.json"), train, val, concept=concept)
        result = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "label_agreement.py"),
                                 "--config", config, "--data", val, "--out", os.path.join(root, "labels")],
                                capture_output=True, text=True, check=True)
        figures = json.loads(result.stdout)
        tokens = len(read_token_file(val))
        self.assertEqual(figures["positions"], (tokens - 1) // 64 * 64)
        self.assertEqual(figures["k_attr"], 4)
        for key in ("identical_sets", "mean_overlap", "top1_agreement"):
            self.assertGreater(figures[key], 0)
            self.assertLessEqual(figures[key], 1)
        self.assertGreaterEqual(figures["mean_overlap"], figures["identical_sets"])


if __name__ == "__main__":
    unittest.main()
