"""scripts/gpu_check.py rehearsed on the CPU (--device cpu), as a session without a
GPU checks it before a GPU is lent: the device-parity tests' CPU instances, the
exact-resume and evaluation checks, and a report.json that says so. The bench
check, minutes on a CPU, is left to the rehearsal by hand (docs/benchmarks.md)."""
import json
import os
import subprocess
import sys
import unittest

from cocomix_testlib import BIN, SOURCE_DIR, temp_dir


class GpuCheckRehearsalTest(unittest.TestCase):
    def test_checks_pass_on_the_cpu_and_report(self):
        out = temp_dir()
        result = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "scripts", "gpu_check.py"),
                                 "--root", SOURCE_DIR, "--bin", BIN, "--out", out, "--device", "cpu",
                                 "--checks", "unit,resume,eval"], capture_output=True, text=True, timeout=900)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
        self.assertTrue(report["passed"])
        self.assertEqual(sorted(report["checks"]), ["eval", "resume", "unit"])
        unit = report["checks"]["unit"]
        self.assertGreaterEqual(unit["tests"], 9)
        self.assertEqual(unit["failed"], [])
        self.assertEqual(unit["skipped"], ["Devices/DeviceParity.AnOptimizerStepWaitsForTheDeviceOnce/cpu"])
        resume = report["checks"]["resume"]
        self.assertTrue(resume["final_weights_bitwise"] and resume["losses_bitwise"])
        self.assertEqual([step for step, _, _ in resume["losses"]][-1], 8)
        self.assertEqual(report["checks"]["eval"]["val_loss_relative_difference"], 0.0)  # the CPU against itself


if __name__ == "__main__":
    unittest.main()
