"""cocomix-tokenize (a GPT-2 corpus of the shared text, and the byte tokenizer's
synthetic corpus), `cocomix-sae train` and `cocomix-sae label`, each SIGKILLed
at random moments while it works and started again with the same command, as a
user would (`--resume` for `sae train` once it has a complete checkpoint), end
with the bytes of a run that was never killed: the sha256 of every file under
the output, hidden and temporary ones included, so that a leftover `.tmp`,
`.partial`, `progress.json` or half-deleted checkpoint fails too. Each start is
killed a seeded random 10-50% of the uninterrupted run's wall time after it
began, so that a resumed run, which has less left to do, is mostly still working
when its kill comes and the kills fall all along the work. What a kill in the
narrow windows after the last output is marked complete leaves (a tokenizer's
progress.json, an SAE run's unpruned checkpoint) is made by hand and must go too."""
import hashlib
import os
import random
import shutil
import subprocess
import time
import unittest

from cocomix_testlib import (SHARED_DATA, app, make_corpus, read_metrics, run, temp_dir, train_teacher, write_config,
                             write_sae)

KILLS = 4


def digests(directory, skip=()):
    """{path relative to DIRECTORY: sha256} of every file under it (hidden ones too), but those named in SKIP."""
    found = {}
    for parent, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(parent, name)
            relative = os.path.relpath(path, directory)
            if relative not in skip:
                with open(path, "rb") as f:
                    found[relative] = hashlib.sha256(f.read()).hexdigest()
    return found


class KilledResumeTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=100)
        cls.teacher = train_teacher(cls.root, cls.train, cls.val,
                                    train={"max_steps": 4, "checkpoint_every": 0, "precision": "fp32"},
                                    eval={"every": 0})

    def timed(self, command):
        """Runs COMMAND to the end -> its wall time in seconds."""
        start = time.monotonic()
        run(command)
        return time.monotonic() - start

    def killed_and_restarted(self, command, wall, seed, resumable=None):
        """Starts command() KILLS times, SIGKILLing each start a seeded random 10-50% of WALL seconds
        after it began, then once more to the end. At least two kills must find the app still working,
        and with RESUMABLE (-> whether the output holds work a restart keeps) one of them must leave
        some: when none of the first KILLS - 1 did, the last waits for the output to hold some."""
        chance = random.Random(seed)
        kills, landed, kept = [], 0, 0
        for start in range(KILLS):
            delay = chance.uniform(0.1, 0.5) * wall
            began = time.monotonic()
            process = subprocess.Popen(command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wait = delay
            if resumable and start == KILLS - 1 and kept == 0:
                # Every kill so far came before the first work a restart keeps (start-up takes a
                # varying share of a short run): this one waits for some, then comes a random
                # 0-10% of WALL later.
                while process.poll() is None and not resumable():
                    time.sleep(0.002)
                wait = chance.uniform(0, 0.1) * wall
                delay = time.monotonic() - began + wait
            try:
                _, stderr = process.communicate(timeout=wait)
                self.assertEqual(process.returncode, 0, stderr)  # it finished before its kill
                kills.append(f"{delay:.2f} s (had finished)")
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                landed += 1
                keeps = bool(resumable and resumable())
                kept += keeps
                kills.append(f"{delay:.2f} s" + (" (work kept)" if keeps else ""))
        run(command())
        print(f"\n{' '.join(os.path.basename(a) for a in command()[:2])}: uninterrupted {wall:.1f} s; "
              "killed after " + ", ".join(kills))
        self.assertGreaterEqual(landed, 2, kills)
        if resumable:
            self.assertGreaterEqual(kept, 1, kills)

    def test_tokenize_corpus(self):
        # About 4.3 million GPT-2 tokens in 45 shards of 100,000: progress.json records each complete shard.
        inputs = [os.path.join(SHARED_DATA, name)
                  for name in ("text_gutenberg_pg", "text_gutenberg_nltk", "text_web", "text_tinyshakespeare")]

        def command(out):
            return [app("cocomix-tokenize"), "--tokenizer", os.path.join(SHARED_DATA, "gpt2_tokenizer"), "--blocks",
                    "--threads", "1", "--shard-tokens", "100000", "-o", out] + inputs

        reference = os.path.join(self.root, "tokens_reference")
        wall = self.timed(command(reference))
        out = os.path.join(self.root, "tokens_killed")
        self.killed_and_restarted(lambda: command(out), wall, seed=11,
                                  resumable=lambda: os.path.exists(os.path.join(out, "progress.json")))
        self.assertEqual(digests(out), digests(reference))  # shards and manifest; no progress.json, no .tmp
        # Killed between writing the manifest and removing progress.json: the next start finds the corpus
        # complete and removes it.
        shutil.copy(os.path.join(out, "manifest.json"), os.path.join(out, "progress.json"))
        self.assertIn("already complete", run(command(out)).stdout)
        self.assertEqual(digests(out), digests(reference))

    def test_tokenize_bytes(self):
        # The byte tokenizer's layout has no resume: a killed run leaves no manifest (it is removed first
        # and written last), and the same command writes every file again.
        def command(out):
            return [app("cocomix-tokenize"), "--synthetic", "--documents", "30000", "--seed", "5", "-o", out]

        reference = os.path.join(self.root, "bytes_reference")
        wall = self.timed(command(reference))
        out = os.path.join(self.root, "bytes_killed")
        self.killed_and_restarted(lambda: command(out), wall, seed=12)
        self.assertEqual(digests(out), digests(reference))

    def test_sae_train(self):
        def command(out):
            args = [app("cocomix-sae"), "train", "--teacher", self.teacher, "--layer", "1", "--latents", "256",
                    "--k", "8", "--data", self.train, "--val", self.val, "--steps", "600", "--batch", "8",
                    "--seq-len", "64", "--seed", "3", "--threads", "1", "--log-every", "10", "--eval-every", "200",
                    "--val-windows", "8", "--checkpoint-every", "25", "-o", out]
            checkpoints = os.path.join(out, "checkpoints")
            complete = os.path.isdir(checkpoints) and any(
                os.path.exists(os.path.join(checkpoints, name, "COMPLETE")) for name in os.listdir(checkpoints))
            return args + (["--resume"] if complete else [])

        # metrics.jsonl is compared without tokens_per_second, the wall-clock rate; every other file byte for byte.
        def same_as_reference(out):
            self.assertEqual(digests(out, skip=["metrics.jsonl"]), digests(reference, skip=["metrics.jsonl"]))
            strip = lambda records: [{k: v for k, v in r.items() if k != "tokens_per_second"}  # noqa: E731
                                     for r in records]
            self.assertEqual(strip(read_metrics(out)), strip(read_metrics(reference)))

        reference = os.path.join(self.root, "sae_reference")
        wall = self.timed(command(reference))
        out = os.path.join(self.root, "sae_killed")
        self.killed_and_restarted(lambda: command(out), wall, seed=13, resumable=lambda: "--resume" in command(out))
        same_as_reference(out)
        # Killed during the last save, after its COMPLETE: before the pruning (one complete checkpoint too
        # many), inside it (a checkpoint without COMPLETE, part deleted), before a replaced same-step
        # checkpoint was removed (.old). The resumed run has nothing left to save, and tidies them itself.
        checkpoints = os.path.join(out, "checkpoints")
        shutil.copytree(os.path.join(checkpoints, "step_00000575"), os.path.join(checkpoints, "step_00000550"))
        os.makedirs(os.path.join(checkpoints, "step_00000525"))
        shutil.copy(os.path.join(checkpoints, "step_00000575", "model.safetensors"),
                    os.path.join(checkpoints, "step_00000525"))
        shutil.copytree(os.path.join(checkpoints, "step_00000600"), os.path.join(checkpoints, ".step_00000600.old"))
        run(command(out))
        same_as_reference(out)

    def test_sae_label(self):
        sae = write_sae(os.path.join(self.root, "label_sae"), d=64, layer=1)
        concept = {"mode": "cocomix", "teacher_path": self.teacher, "sae_path": sae, "n_concepts": 96,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4}
        config = write_config(os.path.join(self.root, "label.json"), self.train, self.val,
                              data={"sampling": "fixed"}, concept=concept)

        def command(out):  # synced after every batch, so that a kill finds windows a restart keeps
            return [app("cocomix-sae"), "label", "--config", config, "-o", os.path.join(out, "train.labels"),
                    "--sync-every", "0"]

        reference = os.path.join(self.root, "labels_reference")
        os.makedirs(reference)
        wall = self.timed(command(reference))
        out = os.path.join(self.root, "labels_killed")
        os.makedirs(out)
        durable = os.path.join(out, "train.labels.partial.durable")
        self.killed_and_restarted(lambda: command(out), wall, seed=14, resumable=lambda: os.path.exists(durable))
        self.assertEqual(digests(out), digests(reference))  # the cache, and no train.labels.partial(.durable)


if __name__ == "__main__":
    unittest.main(verbosity=2)
