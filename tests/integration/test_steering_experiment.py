"""scripts/steering_experiment.py (cocomix_tools.steering) end to end on a tiny fixed
setup: the latent it steers is the one whose document feature has the best
AUROC for the chosen topic (recomputed here by counting pairs), its neutral
prompts show no topic, every verdict is the generator's word lists applied to
the text (recomputed here with a plain word split), every share is the mean of
its verdicts, the table and the plot are written; bad input is one line and
exit 1."""
import json
import os
import re
import subprocess
import sys
import unittest

import numpy as np
import torch

from cocomix_testlib import BIN, SOURCE_DIR, app, run, temp_dir, tiny_teacher_and_sae, write_config
from cocomix_tools import alignment as ca
from cocomix_tools import steering
from cocomix_tools.model import GPT2, Sae

SCRIPT = os.path.join(SOURCE_DIR, "scripts", "steering_experiment.py")
PYTHON = os.environ.get("COCOMIX_PYTHON", sys.executable)
LATENTS = 128
DOCUMENTS = 24


def experiment(*args):
    return subprocess.run([PYTHON, SCRIPT] + list(args), capture_output=True, text=True, timeout=600)


def shows_by_words(text, phrases):
    """The verdict recomputed: a one-word phrase among the text's words, a longer one as a substring."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return any((p in words) if " " not in p else (p in text.lower()) for p in phrases)


def pairwise_auroc(scores, labels):
    positives, negatives = scores[labels], scores[~labels]
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    return wins / (len(positives) * len(negatives))


class SteeringExperimentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.root = temp_dir()
        train, val, cls.teacher, cls.sae = tiny_teacher_and_sae(cls.root, LATENTS)
        cls.corpus = os.path.join(cls.root, "data")
        concept = {"mode": "cocomix", "teacher_path": cls.teacher, "sae_path": cls.sae, "n_concepts": LATENTS,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 1.0}
        config = write_config(os.path.join(cls.root, "student.json"), train, val, concept=concept,
                              train={"max_steps": 6, "checkpoint_every": 0}, eval={"every": 0})
        cls.student = os.path.join(cls.root, "student")
        run([app("cocomix-train"), "--config", config, "--out", cls.student])
        cls.out = os.path.join(cls.root, "steer")
        cls.result = experiment("--corpus", cls.corpus, "--teacher", cls.teacher, "--sae", cls.sae, "--student",
                                cls.student, "--bin", BIN, "--factors=-10,0,10", "--seeds", "2",
                                "--max-new-tokens", "24", "--documents", str(DOCUMENTS), "-o", cls.out)
        with open(os.path.join(cls.out, "steering.json")) as f:
            cls.steering = json.load(f)
        with open(os.path.join(cls.corpus, "vocabulary.json")) as f:
            cls.vocabulary = json.load(f)

    def test_runs_and_writes_the_table_and_the_plot(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn("| factor | student | teacher |", self.result.stdout)
        with open(os.path.join(self.out, "steering.md")) as f:
            self.assertEqual(f.read(), self.result.stdout)
        with open(os.path.join(self.out, "steering.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        settings = [(r["model"], r["factor"]) for r in self.steering["rows"]]
        self.assertEqual(settings, [(m, f) for m in ("student", "teacher") for f in (None, -10.0, 0.0, 10.0)])

    def test_the_latent_has_the_best_auroc_for_its_topic(self):
        choice = self.steering["choice"]
        docs = ca.read_val_documents(self.corpus, DOCUMENTS)
        values, labels = ca.labels_of(docs, "topic")
        features = ca.sae_features(GPT2(self.teacher), Sae(self.sae), docs, 16)
        best = {}
        for v, value in enumerate(values):
            if 0 < labels[:, v].sum() < len(docs):
                aurocs = [pairwise_auroc(features[:, j], labels[:, v]) for j in range(LATENTS)]
                best[value] = (int(np.argmax(aurocs)), max(aurocs))
        self.assertEqual(choice["value"], max(best, key=lambda v: best[v][1]))
        self.assertEqual(choice["latent"], best[choice["value"]][0])
        self.assertAlmostEqual(choice["auroc"], best[choice["value"]][1], places=9)

    def test_prompts_show_no_topic_and_verdicts_follow_the_word_lists(self):
        every_topic = [w for topic in self.vocabulary["topics"] for w in steering.topic_words(self.vocabulary, topic)]
        for prompt in self.steering["prompts"]:
            self.assertFalse(shows_by_words(prompt, every_topic), prompt)
        targets = steering.topic_words(self.vocabulary, self.steering["choice"]["value"])
        generations = self.steering["generations"]
        self.assertEqual(len(generations), 2 * 4 * 2 * len(self.steering["prompts"]))
        for g in generations:
            self.assertEqual(g["shows"], shows_by_words(g["completion"], targets), g["completion"])
        for row in self.steering["rows"]:
            verdicts = [g["shows"] for g in generations if (g["model"], g["factor"]) == (row["model"], row["factor"])]
            self.assertEqual(row["generations"], len(verdicts))
            self.assertAlmostEqual(row["share"], sum(verdicts) / len(verdicts), places=12)

    def test_word_matching(self):
        self.assertTrue(steering.shows("She baked a pie.", ["pie"]))
        self.assertFalse(steering.shows("She ate pieces.", ["pie"]))
        self.assertTrue(steering.shows("They met At The Harbour today", ["at the harbour"]))
        self.assertFalse(steering.shows("", ["pie"]))

    def test_bad_input_is_one_line(self):
        bare = os.path.join(self.root, "bare_corpus")
        os.makedirs(bare, exist_ok=True)
        base = ["--teacher", self.teacher, "--sae", self.sae, "--student", self.student, "--bin", BIN]
        for args, message in ((["--corpus", bare, "-o", os.path.join(self.root, "x")], "vocabulary.json: missing"),
                              (["--corpus", self.corpus, "--value", "knitting", "-o", os.path.join(self.root, "y")],
                               "--value: 'knitting' is not a topic"),
                              (["--corpus", self.corpus, "--latent", str(LATENTS), "-o", os.path.join(self.root, "z")],
                               f"--latent: {LATENTS} is outside the SAE's [0, {LATENTS})")):
            result = experiment(*base, *args)
            self.assertEqual(result.returncode, 1, result.stderr)
            lines = result.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertIn(message, lines[0])


if __name__ == "__main__":
    unittest.main()
