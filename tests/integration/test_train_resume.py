"""Exact resume: a run stopped by SIGTERM, and one killed with SIGKILL after a
checkpoint, each resumed to the end, must log bitwise the same training and
validation losses as the straight run and end with identical weights; the same
for the shipped configs/tiny.json with every default it sets (peak FLOP/s
measured at start, all cores). A resumed run stopped before its first step
leaves the checkpoint it loaded as it was."""
import filecmp
import os
import signal
import subprocess
import time
import unittest

from cocomix_testlib import SOURCE_DIR, app, make_corpus, read_metrics, run, temp_dir, wait_for_checkpoint, write_config

MAX_STEPS = 24


def losses(run_dir):
    records = read_metrics(run_dir)
    train = {r["step"]: r["loss"] for r in records if "loss" in r}
    val = {r["step"]: r["val_loss"] for r in records if "val_loss" in r}
    return train, val


def start_training_command(command):
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_training(config, out):
    return start_training_command([app("cocomix-train"), "--config", config, "--out", out])


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


class ShippedConfigResumeTest(unittest.TestCase):
    """configs/tiny.json as a user runs it, on a small corpus, 40 steps."""
    STEPS = 40

    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        train, val = make_corpus(os.path.join(cls.root, "data"), documents=200)
        cls.command = [app("cocomix-train"), "--config", os.path.join(SOURCE_DIR, "configs", "tiny.json"),
                       "--set", "data.train_path=" + train, "--set", "data.val_path=" + val,
                       "--set", f"train.max_steps={cls.STEPS}", "--set", "train.checkpoint_every=5",
                       "--set", "eval.max_batches=2"]
        cls.straight = os.path.join(cls.root, "straight")
        run(cls.command + ["--out", cls.straight])

    def killed_after_checkpoint(self, name, step):
        """A run into ROOT/NAME killed with SIGKILL once its checkpoint of STEP is complete."""
        out = os.path.join(self.root, name)
        process = start_training_command(self.command + ["--out", out])
        wait_for_checkpoint([process], out, step)
        process.kill()
        process.communicate(timeout=60)
        return out

    def test_sigkill_after_checkpoint_then_resume(self):
        out = self.killed_after_checkpoint("sigkill", 20)
        run(self.command + ["--out", out, "--resume"])
        self.assertEqual(losses(out), losses(self.straight))
        final = "checkpoints/step_%08d/model.safetensors" % self.STEPS
        self.assertTrue(filecmp.cmp(os.path.join(self.straight, final), os.path.join(out, final), shallow=False))

    def test_resume_passes_over_a_corrupt_newest_checkpoint(self):
        # A bit flipped in the newest checkpoint's weights (bad disk, half copy): --resume names the file,
        # takes the checkpoint before it, and ends where the straight run ended, to the bit.
        out = self.killed_after_checkpoint("corrupt_newest", 20)
        checkpoints = os.path.join(out, "checkpoints")
        newest = max(name for name in os.listdir(checkpoints)
                     if os.path.exists(os.path.join(checkpoints, name, "COMPLETE")))
        weights = os.path.join(checkpoints, newest, "model.safetensors")
        with open(weights, "r+b") as f:
            f.seek(-5, os.SEEK_END)
            byte = f.read(1)
            f.seek(-5, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x04]))
        result = run(self.command + ["--out", out, "--resume"])
        self.assertIn(weights + ": corrupt: its sha256 is ", result.stderr)
        self.assertIn("; resuming from the checkpoint before it", result.stderr)
        self.assertEqual(losses(out), losses(self.straight))
        final = "checkpoints/step_%08d/model.safetensors" % self.STEPS
        self.assertTrue(filecmp.cmp(os.path.join(self.straight, final), os.path.join(out, final), shallow=False))

    def test_stop_before_the_first_resumed_step_rewrites_nothing(self):
        out = self.killed_after_checkpoint("stopped_at_start", 10)
        newest = max(name for name in os.listdir(os.path.join(out, "checkpoints"))
                     if os.path.exists(os.path.join(out, "checkpoints", name, "COMPLETE")))
        checkpoint = os.path.join(out, "checkpoints", newest)
        before = {name: os.stat(os.path.join(checkpoint, name)).st_mtime_ns for name in os.listdir(checkpoint)}
        # SIGTERM while the resumed run measures the peak FLOP/s, before its first step.
        process = start_training_command(self.command + ["--out", out, "--resume"])
        for line in process.stderr:
            if "resumed from" in line:
                process.send_signal(signal.SIGTERM)
                break
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(process.returncode, 0, stderr)
        self.assertIn("stopped by signal 15 at step %d" % int(newest[len("step_"):]), stderr)
        self.assertNotIn("checkpoint ", stderr)
        after = {name: os.stat(os.path.join(checkpoint, name)).st_mtime_ns for name in os.listdir(checkpoint)}
        self.assertEqual(after, before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
