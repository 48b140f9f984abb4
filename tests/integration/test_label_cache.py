"""The concept-label cache (docs/label-cache.md): `cocomix-sae label` labels every
fixed window of a tiny corpus with a tiny teacher + random SAE; training from the
cache gives bitwise the losses and final weights of the same run with the
teacher in the loop (dropout on: loading the teacher must not move the random
stream), resumes exactly after SIGKILL, an interrupted build resumes to the same
bytes, and every kind of mismatched or damaged cache is refused at start-up with
one line naming the cache file and the field."""
import filecmp
import json
import os
import shutil
import struct
import subprocess
import unittest

from cocomix_testlib import app, make_corpus, read_metrics, run, temp_dir, train_teacher, wait_for_checkpoint, write_config, write_sae
from cocomix_tools.corpus import read_token_file

MAX_STEPS = 12
FINAL = "checkpoints/step_%08d/model.safetensors" % MAX_STEPS


def cache_header(path):
    with open(path, "rb") as f:
        magic = f.read(8)
        (length,) = struct.unpack("<Q", f.read(8))
        return magic, json.loads(f.read(length)), 16 + length


class LabelCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=60)
        cls.teacher = train_teacher(cls.root, cls.train, cls.val, train={"max_steps": 4, "checkpoint_every": 0})
        cls.sae = write_sae(os.path.join(cls.root, "sae"), d=64, layer=1)
        cls.cache = os.path.join(cls.root, "data", "train.labels")
        concept = {"mode": "cocomix", "teacher_path": cls.teacher, "sae_path": cls.sae, "n_concepts": 96,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 0.1}
        cls.config = write_config(os.path.join(cls.root, "cocomix.json"), cls.train, cls.val,
                                  data={"sampling": "fixed"}, concept=concept,
                                  train={"max_steps": MAX_STEPS, "checkpoint_every": 3}, eval={"every": 6})
        cls.label = run([app("cocomix-sae"), "label", "--config", cls.config, "-o", cls.cache])
        cls.online = os.path.join(cls.root, "online")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.online])
        cls.cached = os.path.join(cls.root, "cached")
        cls.cached_run = run([app("cocomix-train"), "--config", cls.config, "--out", cls.cached,
                              "--set", "concept.label_cache=" + cls.cache])

    def records(self, out):
        return [(r["step"], r.get("loss"), r.get("ntp_loss"), r.get("concept_loss"), r.get("val_loss"))
                for r in read_metrics(out)]

    def test_header_records_what_made_the_labels(self):
        magic, header, offset = cache_header(self.cache)
        self.assertEqual(magic, b"CCMXLBLS")
        tokens = len(read_token_file(self.train))
        self.assertEqual(header["num_tokens"], tokens)
        self.assertEqual(header["windows"], (tokens - 1) // 64)
        self.assertEqual((header["seq_len"], header["window_stride"], header["k_attr"]), (64, 64, 4))
        self.assertEqual((header["selection"], header["teacher_precision"]), ("attribution", "fp32"))
        self.assertEqual((header["teacher_layer"], header["n_concepts"], header["sae_k"]), (1, 96, 8))
        self.assertEqual(header["id_type"], "uint16")
        self.assertEqual(os.path.getsize(self.cache), offset + header["windows"] * 64 * 4 * 2)
        self.assertFalse(os.path.exists(self.cache + ".partial"))
        self.assertIn("labels: windows %d/%d" % (header["windows"], header["windows"]), self.label.stderr)

    def test_training_from_the_cache_equals_the_online_labeler(self):
        self.assertIn("no teacher in the loop", self.cached_run.stderr)
        online = self.records(self.online)
        self.assertEqual(len([r for r in online if r[1] is not None]), MAX_STEPS)
        self.assertEqual(self.records(self.cached), online)
        self.assertTrue(filecmp.cmp(os.path.join(self.online, FINAL), os.path.join(self.cached, FINAL), shallow=False))

    def test_cached_run_resumes_exactly_after_sigkill(self):
        out = os.path.join(self.root, "killed")
        process = subprocess.Popen([app("cocomix-train"), "--config", self.config, "--out", out,
                                    "--set", "concept.label_cache=" + self.cache],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_checkpoint([process], out, 3)
        process.kill()
        process.communicate(timeout=60)
        run([app("cocomix-train"), "--config", self.config, "--out", out, "--resume",
             "--set", "concept.label_cache=" + self.cache])
        self.assertEqual(self.records(out)[-MAX_STEPS:], self.records(self.cached)[-MAX_STEPS:])
        self.assertTrue(filecmp.cmp(os.path.join(self.cached, FINAL), os.path.join(out, FINAL), shallow=False))

    def test_an_interrupted_build_resumes_to_the_same_bytes(self):
        """A PATH.partial of two whole windows and part of a third keeps the windows PATH.partial.durable
        says were synced (none without it) and ends with the bytes of an uninterrupted build."""
        _, header, offset = cache_header(self.cache)
        with open(self.cache, "rb") as f:
            partial = f.read(offset + 2 * 64 * 4 * 2 + 100)
        for durable, kept in (("2\n", 2), ("1\n", 1), (None, 0)):
            other = os.path.join(self.root, f"resumed_{kept}.labels")
            with open(other + ".partial", "wb") as f:
                f.write(partial)
            if durable:
                with open(other + ".partial.durable", "w") as f:
                    f.write(durable)
            result = run([app("cocomix-sae"), "label", "--config", self.config, "-o", other])
            if kept:
                self.assertIn("resuming after %d of %d windows" % (kept, header["windows"]), result.stderr)
            else:
                self.assertNotIn("resuming", result.stderr)
            self.assertTrue(filecmp.cmp(self.cache, other, shallow=False))
            self.assertEqual(sorted(f for f in os.listdir(self.root) if f.startswith(f"resumed_{kept}.")),
                             [f"resumed_{kept}.labels"])  # no .partial, no .durable

    def refused(self, overrides, message, code=2):
        args = [app("cocomix-train"), "--config", self.config, "--out", os.path.join(self.root, "refused")]
        for assignment in overrides:
            args += ["--set", assignment]
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, str(overrides) + result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn(message, result.stderr, overrides)
        self.assertFalse(os.path.exists(os.path.join(self.root, "refused", "checkpoints")))
        return result.stderr

    def test_mismatched_caches_are_refused_at_start(self):
        use = "concept.label_cache=" + self.cache
        # Another teacher (same size, one byte of its weights changed), another SAE, other data.
        teacher = os.path.join(self.root, "teacher_changed")
        shutil.copytree(self.teacher, teacher)
        step = sorted(d for d in os.listdir(os.path.join(teacher, "checkpoints")) if d.startswith("step_"))[-1]
        weights = os.path.join(teacher, "checkpoints", step, "model.safetensors")
        with open(weights, "r+b") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 1]))
        sae = write_sae(os.path.join(self.root, "sae_other"), d=64, layer=1, seed=5)
        data = os.path.join(self.root, "data_changed")
        shutil.copytree(os.path.dirname(self.train), data)
        with open(os.path.join(data, "train.bin"), "r+b") as f:
            f.seek(2000)
            token = f.read(2)
            f.seek(2000)
            f.write(bytes([token[0] ^ 1, token[1]]))
        cases = [
            (["data.sampling=random"], "data.sampling"),
            (["concept.teacher_path=" + teacher], "teacher_sha256"),
            (["concept.sae_path=" + sae], "sae_sha256"),
            (["data.train_path=" + os.path.join(data, "train.bin")], "shards"),
            (["data.seq_len=32"], "seq_len"),
            (["concept.k_attr=3"], "k_attr"),
            (["concept.selection=attribution_pre"], "selection"),
            (["concept.teacher_precision=bf16"], "teacher_precision"),
        ]
        for overrides, field in cases:
            message = self.refused([use] + overrides, self.cache + ": " + field)
            if field == "shards":  # the changed shard and what changed in it
                self.assertIn(': shard 0 ("train.bin"): sha256 "', message)
            elif field != "data.sampling":
                self.assertIn("the cache was built for", message)

    def test_tf32_and_fp32_teachers_share_a_cache(self):
        # The cache was built at the default teacher_precision, tf32, and records "fp32": TF32 is a CUDA
        # detail, so a run with an fp32 teacher reads the same cache.
        self.assertEqual(cache_header(self.cache)[1]["teacher_precision"], "fp32")
        out = os.path.join(self.root, "fp32_teacher")
        run([app("cocomix-train"), "--config", self.config, "--out", out, "--set", "concept.label_cache=" + self.cache,
             "--set", "concept.teacher_precision=fp32"])
        self.assertEqual(self.records(out), self.records(self.cached))

    def test_damaged_or_missing_caches_are_refused(self):
        _, _, offset = cache_header(self.cache)
        truncated = os.path.join(self.root, "truncated.labels")
        with open(self.cache, "rb") as f, open(truncated, "wb") as g:
            g.write(f.read()[:-2])
        self.refused(["concept.label_cache=" + truncated], truncated + ": ", code=1)
        self.refused(["concept.label_cache=" + self.train], "not a concept-label cache", code=1)
        self.refused(["concept.label_cache=" + os.path.join(self.root, "nothing")], "cannot open", code=1)
        self.refused(["concept.label_cache=" + self.cache, "concept.mode=kd"], "concept.label_cache")


if __name__ == "__main__":
    unittest.main(verbosity=2)
