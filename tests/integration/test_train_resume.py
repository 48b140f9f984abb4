"""Exact resume: a run stopped by SIGTERM, and one killed with SIGKILL after a
checkpoint, each resumed to the end, must log bitwise the same training and
validation losses as the straight run and end with identical weights."""
import filecmp
import os
import signal
import subprocess
import time
import unittest

from cocomix_testlib import app, make_corpus, read_metrics, run, temp_dir, write_config

MAX_STEPS = 24


def losses(run_dir):
    records = read_metrics(run_dir)
    train = {r["step"]: r["loss"] for r in records if "loss" in r}
    val = {r["step"]: r["val_loss"] for r in records if "val_loss" in r}
    return train, val


def start_training(config, out):
    return subprocess.Popen([app("cocomix-train"), "--config", config, "--out", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, process, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError("training ended before the condition held:\n" + process.stderr.read())
        time.sleep(0.05)
    raise AssertionError("timed out")


def logged_steps(out):
    path = os.path.join(out, "metrics.jsonl")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for line in f if '"loss"' in line)


class TrainResumeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        train, val = make_corpus(os.path.join(cls.root, "data"))
        cls.config = write_config(os.path.join(cls.root, "config.json"), train, val)
        cls.straight = os.path.join(cls.root, "straight")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.straight])
        cls.reference = losses(cls.straight)

    def assert_same_run(self, out):
        train, val = losses(out)
        self.assertEqual(sorted(train), list(range(1, MAX_STEPS + 1)))
        self.assertEqual(train, self.reference[0])  # exact float equality, parsed from the JSON text
        self.assertEqual(val, self.reference[1])
        final = "checkpoints/step_%08d/model.safetensors" % MAX_STEPS
        self.assertTrue(filecmp.cmp(os.path.join(self.straight, final), os.path.join(out, final), shallow=False))

    def test_straight_run_learns(self):
        train, val = self.reference
        self.assertEqual(len(train), MAX_STEPS)
        self.assertLess(train[MAX_STEPS], train[1])
        self.assertEqual(sorted(val), [8, 16, 24])

    def test_sigterm_then_resume(self):
        out = os.path.join(self.root, "sigterm")
        process = start_training(self.config, out)
        wait_for(lambda: logged_steps(out) >= 10, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(process.returncode, 0, stderr)
        stopped = max(r["step"] for r in read_metrics(out) if "loss" in r)
        self.assertLess(stopped, MAX_STEPS)
        self.assertTrue(os.path.exists(os.path.join(out, "checkpoints/step_%08d/COMPLETE" % stopped)))
        run([app("cocomix-train"), "--out", out, "--resume"])
        self.assert_same_run(out)

    def test_sigkill_after_checkpoint_then_resume(self):
        out = os.path.join(self.root, "sigkill")
        process = start_training(self.config, out)
        marker = os.path.join(out, "checkpoints/step_00000008/COMPLETE")
        wait_for(lambda: os.path.exists(marker), process)
        process.kill()
        process.communicate(timeout=60)
        run([app("cocomix-train"), "--config", self.config, "--out", out, "--resume"])
        self.assert_same_run(out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
