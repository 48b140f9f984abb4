"""Writes that fail as a full or failing disk makes them fail (ENOSPC while
writing, EIO at fsync), injected into the unmodified apps by the LD_PRELOAD shim
tests/fault/io_fault_shim.cpp: a checkpoint save, a label-cache build, a
tokenizer's output and an SAE's save each stop with one error line naming the
file, leave what was there before intact and loadable, and the same command run
again without the fault ends with the bytes of a run that never failed. And a
run that saves every step, killed (SIGKILL) at a random moment of each of its
20 saves and resumed, never leaves a complete checkpoint that differs from the
uninterrupted run's."""
import filecmp
import os
import random
import subprocess
import time
import unittest

from cocomix_testlib import app, make_corpus, read_metrics, run, temp_dir, train_teacher, write_config, write_sae

SHIM = os.environ.get("COCOMIX_FAULT_SHIM", "")


def with_fault(path_part, error="ENOSPC", after=0, at="write"):
    """The environment that makes writes to files whose path contains PATH_PART fail."""
    env = dict(os.environ, LD_PRELOAD=SHIM, COCOMIX_FAULT_PATH=path_part, COCOMIX_FAULT_ERRNO=error,
               COCOMIX_FAULT_AFTER=str(after), COCOMIX_FAULT_AT=at)
    return env


def same_files(test, a, b, names):
    for name in names:
        test.assertTrue(filecmp.cmp(os.path.join(a, name), os.path.join(b, name), shallow=False), name)


@unittest.skipUnless(os.path.isfile(SHIM), "COCOMIX_FAULT_SHIM is not built (run through ctest)")
class IoFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=80)
        cls.config = write_config(os.path.join(cls.root, "ntp.json"), cls.train, cls.val,
                                  train={"max_steps": 4, "checkpoint_every": 2}, eval={"every": 0})
        cls.straight = os.path.join(cls.root, "straight")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.straight])

    def failed(self, args, env, *fragments):
        """Runs ARGS under the fault: exit 1 and a last line 'error: ...' holding each fragment."""
        result = run(args, check=False, env=env)
        self.assertEqual(result.returncode, 1, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("error: "), result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, last)
        return last

    def test_checkpoint_save(self):
        for error, at, message in [("ENOSPC", "write", "write failed"), ("EIO", "fsync", "Input/output error")]:
            out = os.path.join(self.root, "run_" + error)
            command = [app("cocomix-train"), "--config", self.config, "--out", out]
            self.failed(command, with_fault("step_00000004", error, at=at), ".step_00000004.tmp/", message)
            checkpoints = os.path.join(out, "checkpoints")
            self.assertEqual(sorted(os.listdir(checkpoints)), ["step_00000002"], error)  # nothing half-written
            # The checkpoint before the failed save is whole and verifies.
            run([app("cocomix-eval"), "--checkpoint", os.path.join(checkpoints, "step_00000002"), "--val", self.val])
            run(command + ["--resume"])
            same_files(self, self.straight, out, ["checkpoints/step_00000004/model.safetensors",
                                                  "checkpoints/step_00000004/optimizer.safetensors"])
            losses = lambda run_dir: {r["step"]: r["loss"] for r in read_metrics(run_dir) if "loss" in r}
            self.assertEqual(losses(out), losses(self.straight), error)

    def test_tokenizer_output(self):
        clean = os.path.join(self.root, "tokens_clean")
        command = [app("cocomix-tokenize"), "--synthetic", "--documents", "80", "--seed", "4", "-o"]
        run(command + [clean])
        out = os.path.join(self.root, "tokens")
        self.failed(command + [out], with_fault("train.bin", after=1000), "train.bin", "write failed")
        self.assertFalse(os.path.exists(os.path.join(out, "train.bin")))  # never a partial file under its name
        run(command + [out])
        same_files(self, clean, out, ["train.bin", "val.bin"])

    def test_label_cache_build(self):
        os.makedirs(os.path.join(self.root, "labels"))
        teacher = train_teacher(os.path.join(self.root, "labels"), self.train, self.val,
                                train={"max_steps": 4, "checkpoint_every": 0, "precision": "fp32"})
        sae = write_sae(os.path.join(self.root, "labels", "sae"), d=64, layer=1)
        concept = {"mode": "cocomix", "teacher_path": teacher, "sae_path": sae, "n_concepts": 96,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4}
        config = write_config(os.path.join(self.root, "labels", "cocomix.json"), self.train, self.val,
                              data={"sampling": "fixed"}, concept=concept)
        clean = os.path.join(self.root, "labels", "clean.labels")
        run([app("cocomix-sae"), "label", "--config", config, "-o", clean])
        cache = os.path.join(self.root, "labels", "train.labels")
        command = [app("cocomix-sae"), "label", "--config", config, "-o", cache]
        self.failed(command, with_fault("train.labels", after=5000), "train.labels", "write failed")
        self.assertFalse(os.path.exists(cache))
        run(command)
        self.assertTrue(filecmp.cmp(clean, cache, shallow=False))

    def test_sae_save(self):
        os.makedirs(os.path.join(self.root, "sae_run"))
        teacher = train_teacher(os.path.join(self.root, "sae_run"), self.train, self.val,
                                train={"max_steps": 4, "checkpoint_every": 0, "precision": "fp32"})
        command = [app("cocomix-sae"), "train", "--teacher", teacher, "--layer", "1", "--latents", "64", "--k", "8",
                   "--data", self.train, "--steps", "6", "--batch", "4", "--seq-len", "64", "--seed", "3",
                   "--threads", "1", "--log-every", "3", "-o"]
        clean = os.path.join(self.root, "sae_run", "clean")
        run(command + [clean])
        out = os.path.join(self.root, "sae_run", "faulty")
        self.failed(command + [out], with_fault("sae.safetensors", after=100), "sae.safetensors")
        self.assertFalse(os.path.exists(os.path.join(out, "sae.json")))  # no SAE that names missing weights
        run(command + [out, "--resume"])
        same_files(self, clean, out, ["sae.safetensors", "sae.json"])


class KilledSavesTest(unittest.TestCase):
    def test_sigkill_at_random_moments_of_saves(self):
        steps = 20
        root = temp_dir()
        train, val = make_corpus(os.path.join(root, "data"), documents=80)
        config = write_config(os.path.join(root, "every_step.json"), train, val,
                              train={"max_steps": steps, "checkpoint_every": 1, "keep_checkpoints": steps},
                              eval={"every": 0})
        straight = os.path.join(root, "straight")
        run([app("cocomix-train"), "--config", config, "--out", straight])
        out = os.path.join(root, "killed")
        chance = random.Random(7)
        kills = 0
        for attempt in range(100):
            checkpoints = os.path.join(out, "checkpoints")
            complete = [name for name in (os.listdir(checkpoints) if os.path.isdir(checkpoints) else [])
                        if os.path.exists(os.path.join(checkpoints, name, "COMPLETE"))]
            resume = ["--resume"] if complete else []
            before = set(os.listdir(checkpoints)) if os.path.isdir(checkpoints) else set()
            process = subprocess.Popen([app("cocomix-train"), "--config", config, "--out", out] + resume,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            # Killed a random 0-20 ms after the next save starts (its temporary directory appears): inside
            # the writing of the files, the renames, COMPLETE, or the pruning.
            delay = chance.uniform(0, 0.02)
            while process.poll() is None:
                if os.path.isdir(checkpoints) and set(os.listdir(checkpoints)) - before:
                    time.sleep(delay)
                    if process.poll() is None:
                        process.kill()
                        kills += 1
                    break
                time.sleep(0.0005)
            _, stderr = process.communicate(timeout=120)
            self.assertIn(process.returncode, (0, -9), stderr)
            # Every complete checkpoint holds the uninterrupted run's bytes of its step.
            for name in os.listdir(checkpoints) if os.path.isdir(checkpoints) else []:
                if not os.path.exists(os.path.join(checkpoints, name, "COMPLETE")):
                    continue
                same_files(self, os.path.join(straight, "checkpoints", name), os.path.join(checkpoints, name),
                           ["model.safetensors", "optimizer.safetensors"])
            if process.returncode == 0:
                break
        self.assertEqual(process.returncode, 0, "the run never finished")
        self.assertGreaterEqual(kills, steps - 2)  # nearly every save was interrupted once
        same_files(self, os.path.join(straight, "checkpoints", "step_%08d" % steps),
                   os.path.join(out, "checkpoints", "step_%08d" % steps), ["model.safetensors"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
