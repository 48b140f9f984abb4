"""The golden runs (golden_runs.py) against tests/golden/golden.json: every
concept.mode trained 20 steps with the teacher in the loop, the label-cache
modes trained from a cache, a 200-step SAE and the cache's bytes must give
bitwise the recorded losses, metrics and file hashes. On a CPU other than the
one the golden numbers were made on, kernels may round differently: the file
hashes are then skipped and the numbers compared to 1e-4 relative."""
import json
import math
import unittest

import golden_runs


class GoldenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(golden_runs.GOLDEN_FILE) as f:
            cls.golden = json.load(f)
        cls.actual = golden_runs.scenario()
        cls.same_cpu = cls.actual["cpu"] == cls.golden["cpu"]
        if not cls.same_cpu:
            print(f"golden numbers from {cls.golden['cpu']!r}, this CPU is {cls.actual['cpu']!r}: "
                  "comparing to 1e-4, without file hashes")

    def assert_run(self, actual, golden, what):
        self.assertEqual(len(actual["records"]), len(golden["records"]), what)
        for a, g in zip(actual["records"], golden["records"]):
            self.assertEqual(sorted(a), sorted(g), f"{what}: fields of step {g.get('step')}")
            for key, value in g.items():
                if self.same_cpu or not isinstance(value, float):
                    self.assertEqual(a[key], value, f"{what}: step {g.get('step')} {key}")
                else:
                    self.assertTrue(math.isclose(a[key], value, rel_tol=1e-4, abs_tol=1e-6),
                                    f"{what}: step {g.get('step')} {key}: {a[key]} vs {value}")
        if self.same_cpu:
            for name in golden:
                if name.endswith(".safetensors"):
                    self.assertEqual(actual[name], golden[name], f"{what}: {name}")

    def test_sae_training(self):
        self.assert_run(self.actual["sae"], self.golden["sae"], "sae")

    def test_label_cache(self):
        if self.same_cpu:
            self.assertEqual(self.actual["label_cache"], self.golden["label_cache"])

    def test_every_mode_with_the_teacher_in_the_loop(self):
        self.assertEqual(sorted(self.actual["online"]), sorted(golden_runs.MODES))
        for mode in golden_runs.MODES:
            self.assert_run(self.actual["online"][mode], self.golden["online"][mode], "online " + mode)

    def test_every_mode_from_the_label_cache(self):
        self.assertEqual(sorted(self.actual["cached"]), sorted(golden_runs.CACHE_MODES))
        for mode in golden_runs.CACHE_MODES:
            self.assert_run(self.actual["cached"][mode], self.golden["cached"][mode], "cached " + mode)


if __name__ == "__main__":
    unittest.main()
