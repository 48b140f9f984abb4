"""The Python readers of cocomix checkpoints (cocomix_tools.checkpoint and
cocomix_tools.model.GPT2) check every file they read against the SHA-256 its
save recorded in COMPLETE, as the C++ loader does: a checkpoint made by
cocomix-train loads; one flipped byte in its weights, its config or its trainer
state is one error naming the file and both digests; a checkpoint whose
COMPLETE is the older "step N" form loads with one warning; one without
COMPLETE is incomplete."""
import hashlib
import json
import os
import shutil
import unittest
import warnings

from cocomix_testlib import make_corpus, run, app, temp_dir, write_config
from cocomix_tools.checkpoint import checkpoint_file, parameter_count, trained_steps
from cocomix_tools.files import InputError
from cocomix_tools.model import GPT2


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class PythonCheckpointDigestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        train, val = make_corpus(os.path.join(cls.root, "data"), documents=40)
        config = write_config(os.path.join(cls.root, "run.json"), train, val,
                              train={"max_steps": 4, "checkpoint_every": 4}, eval={"every": 0})
        cls.run_dir = os.path.join(cls.root, "run")
        run([app("cocomix-train"), "--config", config, "--out", cls.run_dir])
        cls.checkpoint = os.path.join(cls.run_dir, "checkpoints", "step_00000004")

    def copy(self, name):
        """A copy of the run, and the path of its checkpoint."""
        run_dir = os.path.join(self.root, name)
        shutil.copytree(self.run_dir, run_dir)
        return run_dir, os.path.join(run_dir, "checkpoints", "step_00000004")

    def test_an_intact_checkpoint_loads(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = GPT2(self.run_dir)
            self.assertEqual(model.checkpoint, self.checkpoint)
            self.assertEqual(model.sizes["n_embd"], 64)
            self.assertEqual(trained_steps(self.run_dir), 4)
            self.assertGreater(parameter_count(self.run_dir), 0)
        self.assertEqual([str(w.message) for w in caught], [])

    def test_a_flipped_byte_is_named(self):
        readers = {"model.safetensors": [GPT2, parameter_count], "config.json": [GPT2],
                   "trainer_state.json": [trained_steps]}
        for name, calls in readers.items():
            run_dir, checkpoint = self.copy("flipped_" + name)
            with open(os.path.join(checkpoint, "COMPLETE")) as f:
                recorded = json.load(f)["sha256"][name]
            path = os.path.join(checkpoint, name)
            with open(path, "r+b") as f:
                f.seek(-3, os.SEEK_END)
                byte = f.read(1)
                f.seek(-3, os.SEEK_END)
                f.write(bytes([byte[0] ^ 0x01]))
            expected = f"{path}: corrupt: its sha256 is {sha256(path)}, the save recorded {recorded}"
            for call in calls:
                with self.assertRaises(InputError) as error:
                    call(run_dir)
                self.assertEqual(str(error.exception), expected, call)

    def test_the_older_complete_warns_once(self):
        run_dir, checkpoint = self.copy("older")
        with open(os.path.join(checkpoint, "COMPLETE"), "w") as f:
            f.write("step 4\n")
        with open(os.path.join(checkpoint, "model.safetensors"), "r+b") as f:  # not checked: nothing recorded
            f.seek(-1, os.SEEK_END)
            f.write(b"\x00")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            GPT2(run_dir)  # reads config.json and model.safetensors
            self.assertEqual(trained_steps(run_dir), 4)
        self.assertEqual([str(w.message) for w in caught],
                         [f"{checkpoint}: written without file digests (an older checkpoint): loaded without "
                          "verifying it"])

    def test_missing_or_unreadable_complete(self):
        _, checkpoint = self.copy("incomplete")
        os.remove(os.path.join(checkpoint, "COMPLETE"))
        with self.assertRaises(InputError) as error:
            GPT2(checkpoint)
        self.assertEqual(str(error.exception), os.path.join(checkpoint, "COMPLETE") +
                         ": missing: the checkpoint is incomplete (its save was interrupted); use an earlier one")
        with open(os.path.join(checkpoint, "COMPLETE"), "w") as f:
            f.write('{"step": 4}')
        with self.assertRaises(InputError) as error:
            checkpoint_file(checkpoint, "config.json")
        self.assertIn(os.path.join(checkpoint, "COMPLETE") + ": unreadable (", str(error.exception))
        self.assertTrue(str(error.exception).endswith("the checkpoint cannot be verified"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
