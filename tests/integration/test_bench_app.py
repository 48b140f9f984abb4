"""cocomix-bench's report (bench/run_benchmarks.py and bench/concept_step.py read
it): the apps run on tcmalloc, the parameter and FLOP counts equal the hand-worked
GPT-2 and concept-head sizes, and the step's breakdown is consistent. No timing is
asserted beyond "measured" (> 0): speed is for the benchmarks, not the tests."""
import json
import os
import unittest

from cocomix_testlib import app, make_corpus, run, temp_dir, train_teacher, write_config, write_sae

V, P, D, L, T = 257, 64, 64, 2, 64  # write_config's model; T = data.seq_len
C = 96                                # write_sae's latents


def gpt_parameters(d):
    """wte V·d, wpe P·d, per block ln_1/ln_2 4d + c_attn 3d²+3d + c_proj d²+d + c_fc 4d²+4d +
    mlp c_proj 4d²+d = 12d² + 13d, ln_f 2d; the head is tied to wte."""
    return (V + P) * d + L * (12 * d * d + 13 * d) + 2 * d


class BenchAppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=40)
        cls.config = write_config(os.path.join(cls.root, "ntp.json"), cls.train, cls.val,
                                  train={"precision": "fp32", "threads": 1})

    def bench(self, *settings):
        result = run([app("cocomix-bench"), "--config", self.config, "--steps", "1", "--warmup", "0",
                      *[item for setting in settings for item in ("--set", setting)]])
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_ntp_report(self):
        report = self.bench()
        self.assertEqual(report["allocator"], "tcmalloc")
        self.assertEqual(report["mode"], "ntp")
        self.assertEqual(report["trainable_parameters"], gpt_parameters(D))
        self.assertEqual(report["parameters"], gpt_parameters(D))
        # 6N per token plus the attention matmuls QK^T and AV: 2 x 2 x T·d per layer, x 3 for backward.
        self.assertEqual(report["flops_per_token"], 6 * gpt_parameters(D) + 12 * L * D * T)
        self.assertAlmostEqual(report["tokens_per_second"], 4 * T / report["step_seconds"], delta=1e-6)
        self.assertGreater(report["optimizer_seconds"], 0)
        self.assertLess(report["optimizer_seconds"], report["step_seconds"])
        for key in ("labeler_seconds", "teacher_lower_seconds", "sae_encode_seconds"):
            self.assertEqual(report[key], 0)

    def test_cocomix_report_breaks_the_labels_down(self):
        teacher = train_teacher(self.root, self.train, self.val, train={"max_steps": 4, "checkpoint_every": 0})
        sae = write_sae(os.path.join(self.root, "sae"), d=D, layer=1, n_latents=C)
        report = self.bench("concept.mode=cocomix", f"concept.teacher_path={teacher}", f"concept.sae_path={sae}",
                            f"concept.n_concepts={C}", "concept.insert_layer=1", "concept.k_pred=8")
        # The student plus the concept head: pre_bias d, predictor d·C + C, compressor C·d + d.
        self.assertEqual(report["trainable_parameters"], gpt_parameters(D) + 2 * D * C + C + 2 * D)
        self.assertEqual(report["parameters"], gpt_parameters(D))
        self.assertGreater(report["teacher_lower_seconds"], 0)
        self.assertGreater(report["sae_encode_seconds"], 0)
        self.assertGreater(report["labeler_seconds"], 0)

    def test_bad_flag_is_one_line_and_exit_2(self):
        result = run([app("cocomix-bench"), "--config", self.config, "--steps", "0"], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("--steps", result.stderr)


if __name__ == "__main__":
    unittest.main()
