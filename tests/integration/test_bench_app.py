"""cocomix-bench's report (bench/run_benchmarks.py and bench/concept_step.py read
it): the apps run on tcmalloc, the parameter and FLOP counts equal the hand-worked
GPT-2 and concept-head sizes, and the step's breakdown is consistent. No timing is
asserted beyond "measured" (> 0): speed is for the benchmarks, not the tests."""
import json
import os
import unittest

from cocomix_testlib import SOURCE_DIR, app, make_corpus, run, temp_dir, train_teacher, write_config, write_sae

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
        self.assertEqual(report["allocator"], os.environ.get("COCOMIX_EXPECTED_ALLOCATOR", "tcmalloc"))
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


class BenchPlanTest(unittest.TestCase):
    """cocomix-bench --plan: the memory plan per GPU of the paper configs, arithmetic only (no GPU)."""

    def plan(self, config, *settings, gpu="80"):
        result = run([app("cocomix-bench"), "--plan", "--json", "--config", os.path.join(SOURCE_DIR, "configs", config),
                      "--gpu-memory", gpu, *[item for setting in settings for item in ("--set", setting)]])
        lines = result.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stdout)
        return json.loads(lines[0])

    def check_consistent(self, plan):
        persistent = (plan["weights_bytes"] + plan["gradient_bytes"] + plan["adamw_bytes"] + plan["ddp_bucket_bytes"]
                      + plan["teacher_bytes"] + plan["sae_bytes"])
        self.assertEqual(plan["persistent_bytes"], persistent)
        # fp32 weights, gradients, and AdamW's two moments: 4 + 4 + 8 bytes per trainable parameter.
        self.assertEqual(plan["weights_bytes"], 4 * plan["trainable_parameters"])
        self.assertEqual(plan["gradient_bytes"], 4 * plan["trainable_parameters"])
        self.assertEqual(plan["adamw_bytes"], 8 * plan["trainable_parameters"])
        self.assertEqual(plan["activation_bytes"], sum(part["bytes"] for part in plan["activation_parts"]))
        self.assertEqual(plan["step_peak_bytes"], plan["activation_bytes"]
                         + max(plan["forward_transient_bytes"], plan["backward_transient_bytes"]))
        self.assertEqual(plan["total_bytes"], persistent + plan["batch_bytes"]
                         + max(plan["step_peak_bytes"], plan["labeler_peak_bytes"]))
        self.assertEqual(plan["usable_bytes"], plan["gpu_bytes"] - plan["headroom_bytes"])
        self.assertEqual(plan["fits"], plan["total_bytes"] <= plan["usable_bytes"])

    def check_largest_batch(self, config, plan):
        largest = plan["max_batch_size"]
        self.assertGreater(largest, 0)
        fitting = self.plan(config, f"train.batch_size={largest}")
        self.assertLessEqual(fitting["total_bytes"], fitting["usable_bytes"])
        self.assertTrue(fitting["fits"])
        over = self.plan(config, f"train.batch_size={largest + 1}")
        self.assertGreater(over["total_bytes"], over["usable_bytes"])
        self.assertFalse(over["fits"])
        self.assertEqual(over["max_batch_size"], largest)
        # The suggestion keeps the config's sequences per optimizer step with a micro-batch that fits.
        self.assertLessEqual(plan["suggested_batch_size"], largest)
        self.assertEqual(plan["suggested_batch_size"] * plan["suggested_grad_accum_steps"],
                         plan["sequences_per_rank_step"])

    def test_cocomix_386m(self):
        plan = self.plan("cocomix_386m.json")
        self.check_consistent(plan)
        self.assertEqual((plan["mode"], plan["device"], plan["precision"]), ("cocomix", "cuda", "bf16"))
        # GPT (50,257 + 1,024) x 1,024 + 24 x (12 x 1,024² + 13 x 1,024) + 2 x 1,024 = 354,823,168, plus the
        # concept head: 2 d C + C + 2 d = 67,108,864 + 32,768 + 2,048 (d 1,024, C 32,768).
        self.assertEqual(plan["trainable_parameters"], 354_823_168 + 2 * 1024 * 32768 + 32768 + 2 * 1024)
        # The teacher (GPT-2 small unless models/gpt2 exists) and its SAE run in the loop.
        self.assertGreater(plan["teacher_bytes"], 0)
        self.assertGreater(plan["sae_bytes"], 0)
        self.assertGreater(plan["labeler_peak_bytes"], 0)
        self.assertIn("no T x T matrix", plan["attention"])
        self.check_largest_batch("cocomix_386m.json", plan)
        checkpointed = self.plan("cocomix_386m.json", "train.activation_checkpointing=1")
        self.check_consistent(checkpointed)
        self.assertLess(checkpointed["activation_bytes"], plan["activation_bytes"] / 3)
        self.assertGreater(checkpointed["max_batch_size"], plan["max_batch_size"])
        every_second = self.plan("cocomix_386m.json", "train.activation_checkpointing=2")
        self.assertLess(checkpointed["activation_bytes"], every_second["activation_bytes"])
        self.assertLess(every_second["activation_bytes"], plan["activation_bytes"])

    def test_ntp_1_38b(self):
        plan = self.plan("ntp_1.38b.json")
        self.check_consistent(plan)
        self.assertEqual(plan["mode"], "ntp")
        # (50,257 + 1,024) x 2,096 + 24 x (12 x 2,096² + 13 x 2,096) + 2 x 2,096 = 1,373,389,328.
        self.assertEqual(plan["trainable_parameters"], 1_373_389_328)
        self.assertEqual((plan["teacher_bytes"], plan["sae_bytes"], plan["labeler_peak_bytes"]), (0, 0, 0))
        self.check_largest_batch("ntp_1.38b.json", plan)
        checkpointed = self.plan("ntp_1.38b.json", "train.activation_checkpointing=1")
        self.assertLess(checkpointed["activation_bytes"], plan["activation_bytes"])
        # Eight ranks add the gradient buckets (4 bytes per parameter).
        result = run([app("cocomix-bench"), "--plan", "--json", "--world-size", "8", "--config",
                      os.path.join(SOURCE_DIR, "configs", "ntp_1.38b.json")])
        eight = json.loads(result.stdout)
        self.assertEqual(eight["ddp_bucket_bytes"], 4 * plan["trainable_parameters"])
        self.check_consistent(eight)

    def test_table(self):
        result = run([app("cocomix-bench"), "--plan", "--config", os.path.join(SOURCE_DIR, "configs",
                                                                               "cocomix_386m.json")])
        self.assertIn("largest train.batch_size that fits", result.stdout)
        self.assertIn("activations kept for backward", result.stdout)

    def test_bad_gpu_memory_is_one_line_and_exit_2(self):
        config = os.path.join(SOURCE_DIR, "configs", "ntp_386m.json")
        for value in ("0", "-1", "lots"):
            result = run([app("cocomix-bench"), "--plan", "--config", config, f"--gpu-memory={value}"], check=False)
            self.assertEqual(result.returncode, 2, value)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn("--gpu-memory", result.stderr)
        result = run([app("cocomix-bench"), "--plan", "--config", config, "--set", "train.batch_size=0"], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("train.batch_size", result.stderr)


if __name__ == "__main__":
    unittest.main()
