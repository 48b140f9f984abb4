"""cocomix-inspect weights on a tiny CoCoMix checkpoint (random SAE, a few steps):
the W_comp row norms, their summary, the shares below thresholds and the
rankings against torch on model.safetensors; the histogram PNG decodes at its
stated size with bars and threshold markers; a concepts file of
`cocomix-sae explain`'s schema puts snippets and densities beside the rankings.
Bad inputs (an NTP checkpoint, a missing, mismatched or malformed concepts file)
exit 2 with one line naming the checkpoint, file or flag, and write nothing."""
import json
import os
import unittest

import numpy as np
import torch
from safetensors.torch import load_file

from cocomix_testlib import app, run, temp_dir, train_cocomix_student

STEPS = 6
C = 96


class InspectWeightsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.teacher, cls.sae, cls.student, _ = train_cocomix_student(cls.root, steps=STEPS)
        cls.checkpoint = os.path.join(cls.student, "checkpoints", "step_%08d" % STEPS)
        weight = load_file(os.path.join(cls.checkpoint, "model.safetensors"))["concept.compressor.weight"]
        cls.norms = weight.double().norm(dim=1)  # the reference: [C], row i = concept i (Conv1D [in, out])
        # Thresholds inside the spread of the norms, so that the shares are neither 0 nor 1.
        cls.thresholds = [float("%.6g" % q) for q in np.quantile(cls.norms.numpy(), [0.25, 0.6])]

    def inspect(self, *extra, check=True):
        return run([app("cocomix-inspect"), "weights", "--checkpoint", self.student] + list(extra), check=check)

    def explanations(self, n_latents=C):
        return {"n_latents": n_latents, "latents": [
            {"id": i, "density": i / 1000, "mean_activation": 1.0, "max_activation": 2.0 + i,
             "top": [{"activation": 2.0 + i, "index": 10 * i, "before": "before\n" + str(i), "token": f"tok{i}",
                      "after": " after"}]} for i in range(n_latents)]}

    def write_json(self, name, document):
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            json.dump(document, f)
        return path

    def test_norms_summary_shares_and_rankings_match_torch(self):
        out_json, out_dir = os.path.join(self.root, "weights.json"), os.path.join(self.root, "plots")
        result = self.inspect("--json", out_json, "-o", out_dir, "--show", "5",
                              "--thresholds", ",".join(str(t) for t in self.thresholds))
        with open(out_json) as f:
            report = json.load(f)
        norms = self.norms
        self.assertEqual((report["n_concepts"], report["d"], report["mode"]), (C, 64, "cocomix"))
        np.testing.assert_allclose(report["norms"], norms.numpy(), rtol=1e-12)
        for key, value in (("min", norms.min()), ("max", norms.max()), ("mean", norms.mean()),
                           ("median", np.median(norms.numpy()))):
            self.assertAlmostEqual(report[key], float(value), places=12, msg=key)
        for entry, threshold in zip(report["thresholds"], self.thresholds):
            below = int((norms < threshold).sum())
            self.assertEqual((entry["threshold"], entry["below"]), (threshold, below))
            self.assertAlmostEqual(entry["share"], below / C, places=15)
            self.assertTrue(0 < below < C)
        order = torch.sort(norms, descending=True, stable=True).indices  # ties: the smaller id first
        self.assertEqual([e["concept"] for e in report["strongest"]], order[:5].tolist())
        self.assertEqual([e["concept"] for e in report["weakest"]],
                         torch.sort(norms, stable=True).indices[:5].tolist())
        # The table: the summary and the strongest concept on stdout.
        self.assertIn("min %.6f" % norms.min(), result.stdout)
        self.assertRegex(result.stdout, r"\n\s+1\s+%d\s+%.6f\n" % (order[0], norms[order[0]]))

        from PIL import Image
        png = os.path.join(out_dir, "weight_norms.png")
        with Image.open(png) as image:
            self.assertEqual((image.format, image.size, image.mode), ("PNG", (800, 520), "RGB"))
            colours = {colour for _, colour in image.getcolors(maxcolors=1 << 16)}
        self.assertIn((70, 110, 190), colours)  # bars
        self.assertIn((210, 40, 40), colours)   # threshold markers

    def test_concepts_file_shows_snippets_and_densities(self):
        concepts = self.write_json("latents.json", self.explanations())
        out_json = os.path.join(self.root, "explained.json")
        result = self.inspect("--concepts", concepts, "--json", out_json, "--show", "3")
        with open(out_json) as f:
            report = json.load(f)
        strongest = int(torch.sort(self.norms, descending=True, stable=True).indices[0])
        self.assertEqual(report["strongest"][0]["concept"], strongest)
        self.assertAlmostEqual(report["strongest"][0]["density"], strongest / 1000)
        self.assertEqual(report["strongest"][0]["top"][0]["token"], f"tok{strongest}")
        self.assertIn("before\\n%d[tok%d] after" % (strongest, strongest), result.stdout)  # one line per concept
        self.assertIn("%.5f" % (strongest / 1000), result.stdout)

    def assert_usage_error(self, args, *needles):
        out_json, out_dir = os.path.join(self.root, "bad.json"), os.path.join(self.root, "bad_plots")
        result = run([app("cocomix-inspect"), "weights"] + args + ["--json", out_json, "-o", out_dir], check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertFalse(os.path.exists(out_json))
        self.assertFalse(os.path.exists(out_dir))

    def test_bad_inputs_exit_2_with_one_line_and_write_nothing(self):
        self.assert_usage_error(["--checkpoint", self.teacher], "checkpoints/step_00000008", 'mode "ntp"',
                                "no concept head")
        missing = os.path.join(self.root, "no_such_latents.json")
        self.assert_usage_error(["--checkpoint", self.student, "--concepts", missing], "--concepts", missing,
                                "no such file")
        mismatched = self.write_json("latents_95.json", self.explanations(95))
        self.assert_usage_error(["--checkpoint", self.student, "--concepts", mismatched], "--concepts", mismatched,
                                "n_latents 95 differs from the concept head's C = 96")
        document = self.explanations()
        del document["latents"][3]["density"]
        malformed = self.write_json("latents_malformed.json", document)
        self.assert_usage_error(["--checkpoint", self.student, "--concepts", malformed], malformed, "density")
        self.assert_usage_error(["--checkpoint", self.student, "--thresholds", "0.1,-1"], "--thresholds")


if __name__ == "__main__":
    unittest.main()
