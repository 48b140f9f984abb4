"""Bad input of every kind: each gets one
'error: ...' line naming the file and the field, exit 2 (usage/config) or 1
(runtime), no crash, and nothing already on disk is overwritten. Bad sharded
corpora (directories, manifests, shards, globs, mixtures) stop the run before
its first step. BadInputTest: cocomix-train's configs, corpora and checkpoints;
OtherAppsBadInputTest: counts and missing inputs of the other apps;
AppsBadInputTest: every app on a teacher, SAE, student and label cache, with
the pairs that do not belong together. docs/reliability.md lists every case."""
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import unittest

from cocomix_testlib import (SHARED_DATA, SOURCE_DIR, app, make_corpus, run, temp_dir, train_teacher, write_config,
                             write_sae)

# What a crash leaves on stderr: an uncaught exception, a signal, a Python traceback.
CRASH_SIGNS = ("terminate called", "Segmentation fault", "Aborted", "core dumped", "Traceback", "what():")


def digest(path):
    """sha256 of a file, or of a directory's relative names and file bytes; None when PATH is absent."""
    if not os.path.lexists(path):
        return None
    h = hashlib.sha256()
    if os.path.isdir(path):
        for directory, folders, files in sorted(os.walk(path)):
            folders.sort()
            for name in sorted(files):
                file = os.path.join(directory, name)
                h.update(os.path.relpath(file, path).encode() + b"\0")
                with open(file, "rb") as f:
                    h.update(f.read())
    else:
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def expect_one_error(test, args, code, *fragments, keep=(), one_line=True):
    """Runs ARGS: exit CODE (never a signal), no crash on stderr, exactly one 'error: ' line, the last,
    holding every fragment; with ONE_LINE nothing else on stderr (else only the app's log lines before
    it); every path in KEEP (files or directories) byte for byte as before. Returns the error line."""
    before = {path: digest(path) for path in keep}
    result = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=300)
    test.assertGreaterEqual(result.returncode, 0, f"killed by signal {-result.returncode}: {result.stderr}")
    test.assertEqual(result.returncode, code, result.stderr)
    for sign in CRASH_SIGNS:
        test.assertNotIn(sign, result.stderr)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    test.assertEqual(len(errors), 1, result.stderr)
    test.assertEqual(lines[-1], errors[0], result.stderr)
    if one_line:
        test.assertEqual(len(lines), 1, result.stderr)
    for fragment in fragments:
        test.assertIn(fragment, errors[0])
    for path in keep:
        test.assertEqual(digest(path), before[path], f"{path} changed")
    return errors[0]


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train_file, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=120)
        cls.config = write_config(os.path.join(cls.root, "good.json"), cls.train_file, cls.val,
                                  train={"max_steps": 4, "checkpoint_every": 2})
        cls.trained = os.path.join(cls.root, "trained")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.trained])

    def expect_error(self, args, code, *fragments, one_line=True):
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertTrue(lines, "no error message")
        self.assertTrue(lines[-1].startswith("error: "), lines[-1])
        if one_line:
            self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[-1])
        return lines[-1]

    def train(self, *extra, config=None, out=None):
        return [app("cocomix-train"), "--config", config or self.config,
                "--out", out or os.path.join(self.root, "scratch")] + list(extra)

    def bad_config(self, name, mutate):
        with open(self.config) as f:
            config = json.load(f)
        mutate(config)
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    # ---- config -----------------------------------------------------------
    def test_unknown_key(self):
        path = self.bad_config("unknown.json", lambda c: c["optim"].update(learning_rate=1))
        self.expect_error(self.train(config=path), 2, path, "optim.learning_rate", "unknown key")

    def test_wrong_type(self):
        path = self.bad_config("type.json", lambda c: c["model"].update(n_layer="two"))
        self.expect_error(self.train(config=path), 2, path, "model.n_layer", "expected an integer")

    def test_zero_and_negative_sizes(self):
        self.expect_error(self.train("--set", "train.batch_size=0"), 2, "train.batch_size", "must be positive")
        self.expect_error(self.train("--set", "model.n_embd=-64"), 2, "model.n_embd", "must be positive")
        self.expect_error(self.train("--set", "train.activation_checkpointing=-1"), 2,
                          "train.activation_checkpointing", "must be 0 (none), 1 (every block) or N")

    def test_heads_not_dividing_width(self):
        self.expect_error(self.train("--set", "model.n_head=5"), 2, "model.n_head", "do not divide model.n_embd = 64")

    def test_invalid_json_and_missing_config(self):
        path = os.path.join(self.root, "broken.json")
        with open(path, "w") as f:
            f.write('{"model": {"n_embd": 64,,}}')
        self.expect_error(self.train(config=path), 2, path, "invalid JSON")
        self.expect_error(self.train(config=os.path.join(self.root, "absent.json")), 2, "absent.json", "cannot open")

    def test_bad_flags(self):
        self.expect_error([app("cocomix-train"), "--no-such-flag"], 2, "--no-such-flag")
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.trained], 2, "--val")

    # ---- token files --------------------------------------------------------
    def token_file(self, name, data):
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def header(self, magic=20240520, version=1, count=0):
        return struct.pack("<256i", magic, version, count, *([0] * 253))

    def test_bad_magic(self):
        path = self.token_file("magic.bin", self.header(magic=123) + b"\0\0" * 100)
        self.expect_error(self.train("--set", f"data.train_path={path}", "--set", "data.format=llmc"), 1, path, "magic")

    def test_truncated_and_size_mismatch(self):
        path = self.token_file("short.bin", self.header(count=1000) + b"\1\0" * 10)
        self.expect_error(self.train("--set", f"data.train_path={path}"), 1, path, "1000 tokens")
        path = self.token_file("header.bin", struct.pack("<3i", 20240520, 1, 5))
        self.expect_error(self.train("--set", f"data.train_path={path}"), 1, path)

    def test_empty_file(self):
        path = self.token_file("empty.bin", b"")
        self.expect_error(self.train("--set", f"data.train_path={path}"), 1, path, "empty")

    def test_token_id_beyond_vocab(self):
        ids = struct.pack("<1000H", *([300] * 1000))
        path = self.token_file("oov.bin", self.header(count=1000) + ids)
        out = os.path.join(self.root, "oov")
        self.expect_error(self.train("--set", f"data.train_path={path}", out=out), 1, path, "300", "vocab_size 257",
                          one_line=False)

    # ---- sharded corpora ----------------------------------------------------
    def shard(self, path, tokens, width=16):
        """An llm.c shard of TOKENS: uint16 (magic 20240520, version 1) or uint32 (20240801, version 7)."""
        magic, version, code = (20240520, 1, "H") if width == 16 else (20240801, 7, "I")
        with open(path, "wb") as f:
            f.write(struct.pack("<256i", magic, version, len(tokens), *([0] * 253)))
            f.write(struct.pack(f"<{len(tokens)}{code}", *tokens))
        return path

    def corpus_dir(self, name, shard_tokens=(600, 600, 600), tokenizer="bytes", manifest=True, width=16):
        """ROOT/NAME laid out as cocomix-tokenize writes it: train_00000i.bin of SHARD_TOKENS[i]
        tokens each (byte ids), and a manifest.json listing them, recording TOKENIZER."""
        directory = os.path.join(self.root, name)
        os.makedirs(directory)
        shards = []
        for i, count in enumerate(shard_tokens):
            file = f"train_{i:06d}.bin"
            self.shard(os.path.join(directory, file), [(7 * i + j) % 256 for j in range(count)], width)
            shards.append({"file": file, "tokens": count})
        if manifest:
            with open(os.path.join(directory, "manifest.json"), "w") as f:
                json.dump({"tokenizer": tokenizer, "vocab_size": 257, "end_of_text": 256, "format": "llmc",
                           "splits": {"train": {"shards": shards, "tokens": sum(shard_tokens)},
                                      "val": {"shards": [], "tokens": 0}}}, f)
        return directory

    def expect_no_training(self, args, code, *fragments):
        """One error line holding FRAGMENTS, exit CODE, and the run directory gets no step:
        no checkpoints, no metrics."""
        out = args[args.index("--out") + 1]
        line = self.expect_error(args, code, *fragments)
        self.assertFalse(os.path.exists(os.path.join(out, "checkpoints")), line)
        self.assertFalse(os.path.exists(os.path.join(out, "metrics.jsonl")), line)
        return line

    def train_on(self, name, spec, *extra):
        return self.train("--set", f"data.train_path={spec}", *extra, out=os.path.join(self.root, "run_" + name))

    def mixture_config(self, name, sources):
        """The good config training on data.train_sources = SOURCES [(path, weight, name)]."""
        def mutate(config):
            config["data"]["train_path"] = ""
            config["data"]["train_sources"] = [{"path": p, "weight": w, "name": n} for p, w, n in sources]
        return self.bad_config(name + ".json", mutate)

    def test_directory_without_manifest(self):
        directory = self.corpus_dir("no_manifest", manifest=False)
        self.expect_no_training(self.train_on("no_manifest", directory), 1, directory, "without manifest.json")
        empty = os.path.join(self.root, "empty_dir")
        os.makedirs(empty)
        self.expect_no_training(self.train_on("empty_dir", empty), 1, empty, "without manifest.json")
        # The other apps that read corpora say the same.
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.trained, "--val", empty], 1, empty,
                          "without manifest.json")

    def test_directory_without_shards(self):
        directory = self.corpus_dir("no_shards", shard_tokens=())
        self.expect_no_training(self.train_on("no_shards", directory), 1,
                                os.path.join(directory, "manifest.json"), "splits.train", "no shards")
        # A directory's val split for data.val_path: this one has none either.
        good = self.corpus_dir("no_val_shards")
        self.expect_no_training(self.train_on("no_val_shards", good, "--set", f"data.val_path={good}"), 1,
                                os.path.join(good, "manifest.json"), "splits.val", "no shards")

    def test_manifest_names_a_missing_shard(self):
        directory = self.corpus_dir("missing_shard")
        missing = os.path.join(directory, "train_000001.bin")
        os.remove(missing)
        self.expect_no_training(self.train_on("missing_shard", directory), 1, missing, "missing", "manifest.json")

    def test_truncated_shard(self):
        # A shard cut short: its size no longer matches its own header.
        directory = self.corpus_dir("cut_shard")
        cut = os.path.join(directory, "train_000002.bin")
        os.truncate(cut, os.path.getsize(cut) - 100)
        self.expect_no_training(self.train_on("cut_shard", directory), 1, cut, "600 tokens")
        # A whole shard that holds fewer tokens than the manifest lists for it.
        directory = self.corpus_dir("short_shard")
        short = os.path.join(directory, "train_000001.bin")
        self.shard(short, [1] * 500)
        self.expect_no_training(self.train_on("short_shard", directory), 1, short, "holds 500 tokens",
                                "manifest.json says 600", "truncated")

    def test_shards_of_different_token_widths(self):
        directory = self.corpus_dir("mixed_widths")
        wide = self.shard(os.path.join(directory, "train_000003.bin"), [5] * 600, width=32)
        self.expect_no_training(self.train_on("mixed_widths_glob", os.path.join(directory, "train_*.bin")), 1,
                                wide, "32-bit tokens", "16-bit tokens")
        # The same across the sources of a mixture.
        wide_dir = self.corpus_dir("wide", width=32)
        config = self.mixture_config("mixed_widths", [(self.train_file, 1, "narrow"), (wide_dir, 1, "wide")])
        self.expect_no_training(self.train(config=config, out=os.path.join(self.root, "run_mixed_widths")), 1,
                                wide_dir, "32-bit tokens", self.train_file, "16-bit tokens")

    def test_shards_of_different_tokenizers(self):
        bytes_dir = self.corpus_dir("tok_bytes")
        gpt2_dir = self.corpus_dir("tok_gpt2", tokenizer="gpt2")
        glob = os.path.join(self.root, "tok_*", "train_*.bin")
        self.expect_no_training(self.train_on("tokenizers_glob", glob), 1, os.path.join(gpt2_dir, "train_000000.bin"),
                                '"gpt2"', '"bytes"')
        config = self.mixture_config("tokenizers", [(bytes_dir, 1, "bytes"), (gpt2_dir, 1, "gpt2")])
        self.expect_no_training(self.train(config=config, out=os.path.join(self.root, "run_tokenizers")), 1,
                                gpt2_dir, '"gpt2"', bytes_dir, '"bytes"')

    def test_zero_and_negative_weights(self):
        directory = self.corpus_dir("weighted")
        for weight in (0, -1):
            config = self.mixture_config(f"weight_{weight}", [(directory, 1, "a"), (self.train_file, weight, "b")])
            self.expect_no_training(self.train(config=config, out=os.path.join(self.root, f"run_weight_{weight}")),
                                    2, config, "data.train_sources[1].weight", "must be positive")

    def test_source_shorter_than_one_window(self):
        # seq_len 64: a window is 65 tokens; 64 tokens hold none.
        short = self.shard(os.path.join(self.root, "short.bin"), [1] * 64)
        self.expect_no_training(self.train_on("short_source", short), 1, short, "64 tokens", "seq_len + 1 = 65")
        # Shards of 64 tokens each: none holds a window, whatever they hold together.
        directory = self.corpus_dir("short_shards", shard_tokens=(64, 64, 64))
        self.expect_no_training(self.train_on("short_shards", directory), 1, directory, "3 shards hold 0 windows")
        config = self.mixture_config("short_mixture", [(self.train_file, 1, "long"), (short, 1, "short")])
        self.expect_no_training(self.train(config=config, out=os.path.join(self.root, "run_short_mixture")), 1,
                                short, "64 tokens")

    def test_empty_glob(self):
        glob = os.path.join(self.root, "nothing_here", "train_*.bin")
        self.expect_no_training(self.train_on("empty_glob", glob), 1, glob, "matches no file")
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.trained, "--val", glob], 1, glob,
                          "matches no file")

    # ---- training that diverges ---------------------------------------------
    def test_nonfinite_steps_are_skipped_then_stop_the_run(self):
        out = os.path.join(self.root, "diverged")
        line = self.expect_error(self.train("--set", "optim.lr=1e30", "--set", "optim.min_lr=0", "--set",
                                            "optim.warmup_steps=0", "--set", "train.max_nonfinite_steps=3",
                                            "--set", "train.max_steps=20", out=out),
                                 1, "3 non-finite steps in a row", "train.max_nonfinite_steps", one_line=False)
        records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        skipped = [r["skipped_steps"] for r in records if "skipped_steps" in r]
        self.assertEqual(skipped[-1], 2, line)  # the third skip stops the run before it is logged
        self.assertIsNone(records[-1]["loss"])  # non-finite values are logged as null

    # ---- checkpoints and output ---------------------------------------------
    def copy_run(self, name):
        out = os.path.join(self.root, name)
        shutil.copytree(self.trained, out)
        return out

    def test_checkpoint_missing_file(self):
        out = self.copy_run("missing")
        step = os.path.join(out, "checkpoints", "step_00000004")
        os.remove(os.path.join(step, "model.safetensors"))
        self.expect_error([app("cocomix-eval"), "--checkpoint", step, "--val", self.val], 1, "model.safetensors")
        out = self.copy_run("missing_optimizer")
        missing = os.path.join(out, "checkpoints", "step_00000004", "optimizer.safetensors")
        os.remove(missing)
        # Evaluation needs only the model: it still works without the optimizer state.
        step = os.path.join(out, "checkpoints", "step_00000004")
        result = run([app("cocomix-eval"), "--checkpoint", step, "--val", self.val])
        self.assertGreater(json.loads(result.stdout)["val_ppl"], 1.0)
        # --resume passes over the damaged checkpoint to the one before it, saying which file was wrong.
        result = run(self.train("--resume", out=out))
        self.assertIn(missing + ": missing from the checkpoint; resuming from the checkpoint before it", result.stderr)
        self.assertIn("step_00000002", result.stderr)
        # With every checkpoint damaged there is nothing to resume from.
        out = self.copy_run("all_damaged")
        for name in os.listdir(os.path.join(out, "checkpoints")):
            os.remove(os.path.join(out, "checkpoints", name, "config.json"))
        self.expect_error(self.train("--resume", out=out), 2, "every complete checkpoint is corrupt", one_line=False)

    def flip_byte(self, path, offset_from_end=9):
        with open(path, "r+b") as f:
            f.seek(-offset_from_end, os.SEEK_END)
            byte = f.read(1)
            f.seek(-offset_from_end, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x01]))

    def test_checkpoint_with_a_flipped_byte(self):
        out = self.copy_run("flipped")
        step = os.path.join(out, "checkpoints", "step_00000004")
        for name in ("model.safetensors", "config.json", "trainer_state.json"):
            shutil.copy(os.path.join(self.trained, "checkpoints", "step_00000004", name), os.path.join(step, name))
            self.flip_byte(os.path.join(step, name))
            self.expect_error([app("cocomix-eval"), "--checkpoint", step, "--val", self.val], 1,
                              os.path.join(step, name) + ": corrupt: its sha256 is ", "the save recorded")
            shutil.copy(os.path.join(self.trained, "checkpoints", "step_00000004", name), os.path.join(step, name))

    def test_cuda_asked_for_without_a_gpu(self):
        import torch
        if torch.cuda.is_available():
            self.skipTest("this machine has a GPU")
        step = os.path.join(self.trained, "checkpoints", "step_00000004")
        self.expect_error([app("cocomix-eval"), "--checkpoint", step, "--val", self.val, "--device", "cuda"], 2,
                          "--device", "no CUDA device")
        self.expect_error([app("cocomix-bench"), "--config", self.config, "--set", "train.device=cuda"], 2,
                          self.config, "train.device", "no CUDA device")
        self.expect_error(self.train("--set", "train.device=cuda"), 2, "train.device", "no CUDA device")

    def test_checkpoint_mismatched_shapes(self):
        out = self.copy_run("shapes")
        step = os.path.join(out, "checkpoints", "step_00000004")
        with open(os.path.join(step, "config.json")) as f:
            config = json.load(f)
        config["model"]["n_embd"] = 128
        with open(os.path.join(step, "config.json"), "w") as f:
            json.dump(config, f)
        # The edit recorded in COMPLETE as if the save had written it: a checkpoint that verifies, yet
        # whose config does not fit its weights.
        with open(os.path.join(step, "COMPLETE")) as f:
            complete = json.load(f)
        with open(os.path.join(step, "config.json"), "rb") as f:
            complete["sha256"]["config.json"] = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(step, "COMPLETE"), "w") as f:
            json.dump(complete, f)
        self.expect_error([app("cocomix-eval"), "--checkpoint", step, "--val", self.val], 1,
                          "model.safetensors", "transformer.wte.weight", "does not match")

    def test_unwritable_output_directory(self):
        blocker = os.path.join(self.root, "a_file")
        open(blocker, "w").close()
        self.expect_error(self.train(out=os.path.join(blocker, "run")), 1, "a_file")

    def test_resume_without_checkpoint(self):
        self.expect_error(self.train("--resume", out=os.path.join(self.root, "fresh")), 2, "no complete checkpoint")

    def test_existing_run_is_not_overwritten(self):
        out = self.copy_run("kept")
        before = sorted(os.listdir(os.path.join(out, "checkpoints")))
        self.expect_error(self.train(out=out), 2, "already holds checkpoints", "--resume")
        self.assertEqual(sorted(os.listdir(os.path.join(out, "checkpoints"))), before)


class OtherAppsBadInputTest(unittest.TestCase):
    """The same promise for the apps other than cocomix-train: one 'error: ...' line naming the flag or
    file, exit 2 for usage and 1 for a file that is wrong, nothing written."""

    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.truncated = os.path.join(cls.root, "truncated.json")
        with open(cls.truncated, "w") as f:
            f.write('{"model": ')
        cls.empty_dir = os.path.join(cls.root, "empty_dir")
        os.makedirs(cls.empty_dir)
        cls.tiny = os.path.join(SOURCE_DIR, "configs", "tiny.json")

    def expect_error(self, args, code, *fragments):
        expect_one_error(self, args, code, *fragments)

    def test_counts_out_of_range_say_what_is_wanted(self):
        self.expect_error([app("cocomix-bench"), "--config", self.tiny, "--steps", "0"], 2,
                          "--steps", "must be >= 1, got 0")
        self.expect_error([app("cocomix-bench"), "--config", self.tiny, "--warmup", "-1"], 2,
                          "--warmup", "must be >= 0, got -1")
        self.expect_error([app("cocomix-bench"), "--plan", "--config", self.tiny, "--world-size", "two"], 2,
                          "--world-size", 'expected a whole number, got "two"')
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.empty_dir, "--val", "x", "--batch-size", "0"],
                          2, "--batch-size", "must be >= 1, got 0")
        self.expect_error([app("cocomix-sae"), "eval", "--sae", self.empty_dir, "--teacher", self.empty_dir,
                           "--data", "x", "--seq-len", "0"], 2, "--seq-len", "must be >= 1, got 0")
        self.expect_error([app("cocomix-sae"), "label", "--config", self.truncated, "--sync-every", "-1"], 2,
                          "--sync-every", "must be >= 0, got -1")
        self.expect_error([app("cocomix-tokenize"), "--synthetic", "--documents", "10", "--val-fraction", "1.5",
                           "-o", os.path.join(self.root, "never")], 2, "--val-fraction", "1.5")
        self.assertFalse(os.path.exists(os.path.join(self.root, "never")))

    def test_missing_and_garbage_inputs(self):
        self.expect_error([app("cocomix-bench"), "--config", self.truncated], 2, self.truncated, "invalid JSON")
        self.expect_error([app("cocomix-sae"), "label", "--config", self.truncated], 2, self.truncated,
                          "invalid JSON")
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.empty_dir, "--val", "x"], 1, self.empty_dir,
                          "no complete checkpoint")
        self.expect_error([app("cocomix-convert"), "export", "--checkpoint", self.empty_dir, "--out",
                           os.path.join(self.root, "hf")], 1, self.empty_dir, "no complete checkpoint")
        self.expect_error([app("cocomix-generate"), "--checkpoint", self.empty_dir, "--prompt", "hi"], 1,
                          self.empty_dir, "no complete checkpoint")
        self.expect_error([app("cocomix-sae"), "eval", "--sae", self.empty_dir, "--teacher", self.empty_dir,
                           "--data", "x"], 2, os.path.join(self.empty_dir, "sae.json"))
        self.expect_error([app("cocomix-tokenize"), "-o", os.path.join(self.root, "tokens"),
                           os.path.join(self.root, "no_such.txt")], 2, "no_such.txt")
        self.assertFalse(os.path.exists(os.path.join(self.root, "hf")))


class AppsBadInputTest(unittest.TestCase):
    """Every app's bad flags and files, mismatched pairs above all, on one set of small fixtures: a
    30-document byte corpus, an NTP teacher (2 steps), a random SAE on its layer 1 (C = 96, k = 8), a
    CoCoMix student (2 steps) and the label cache of its config. Each case: one 'error: ' line naming
    the file or flag and the field, exit 2 (usage, config, a mismatched pair) or 1 (a file wrong at run
    time), and the outputs already on disk unchanged."""

    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"), documents=30)
        cls.teacher = train_teacher(cls.root, cls.train, cls.val, train={"max_steps": 2, "checkpoint_every": 0},
                                    eval={"every": 0}, optim={"warmup_steps": 1})
        cls.sae = write_sae(os.path.join(cls.root, "sae"), d=64, layer=1)
        # Mismatched SAEs: the wrong width, more latents than the student's C, other weights, another teacher's.
        cls.narrow_sae = write_sae(os.path.join(cls.root, "sae_d32"), d=32, layer=1)
        cls.wide_sae = write_sae(os.path.join(cls.root, "sae_c128"), d=64, layer=1, n_latents=128)
        cls.other_sae = write_sae(os.path.join(cls.root, "sae_seed5"), d=64, layer=1, seed=5)
        cls.foreign_sae = os.path.join(cls.root, "sae_foreign")
        shutil.copytree(cls.sae, cls.foreign_sae)
        cls.edit_json(os.path.join(cls.foreign_sae, "sae.json"), lambda j: j.update(teacher_sha256="ab" * 32))
        concept = {"mode": "cocomix", "teacher_path": cls.teacher, "sae_path": cls.sae, "n_concepts": 96,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 0.1}
        cls.config = write_config(os.path.join(cls.root, "cocomix.json"), cls.train, cls.val,
                                  data={"sampling": "fixed"}, train={"max_steps": 2, "checkpoint_every": 0},
                                  eval={"every": 0}, optim={"warmup_steps": 1}, concept=concept)
        cls.student = os.path.join(cls.root, "student")
        run([app("cocomix-train"), "--config", cls.config, "--out", cls.student])
        cls.labels = os.path.join(cls.root, "train.labels")
        run([app("cocomix-sae"), "label", "--config", cls.config, "-o", cls.labels])
        cls.blocker = os.path.join(cls.root, "a_file")  # an output "directory" that is a file
        with open(cls.blocker, "w") as f:
            f.write("not a directory\n")

    @staticmethod
    def edit_json(path, mutate):
        with open(path) as f:
            document = json.load(f)
        mutate(document)
        with open(path, "w") as f:
            json.dump(document, f)

    def expect_error(self, args, code, *fragments, keep=(), one_line=True):
        return expect_one_error(self, args, code, *fragments, keep=tuple(keep) + (self.blocker,), one_line=one_line)

    def write(self, name, data):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def existing_output(self, name, data="kept\n"):
        """An output file already on disk, which a failing command must leave as it is."""
        return self.write(os.path.join("outputs", name), data)

    def sae_copy(self, name, edit_info=None, weights=None):
        """A copy of the good SAE with sae.json edited by EDIT_INFO (a function, or text replacing the file)
        and sae.safetensors replaced by WEIGHTS (bytes)."""
        directory = os.path.join(self.root, name)
        shutil.copytree(self.sae, directory)
        info = os.path.join(directory, "sae.json")
        if isinstance(edit_info, str):
            self.write(os.path.relpath(info, self.root), edit_info)
        elif edit_info is not None:
            self.edit_json(info, edit_info)
        if weights is not None:
            self.write(os.path.relpath(os.path.join(directory, "sae.safetensors"), self.root), weights)
        return directory

    def cocomix_config(self, name, **concept):
        """The student's config with concept fields replaced."""
        path = os.path.join(self.root, name)
        shutil.copy(self.config, path)
        self.edit_json(path, lambda c: c["concept"].update(concept))
        return path

    # ---- cocomix-eval ---------------------------------------------------------
    def evaluate(self, *extra, checkpoint=None, val=None):
        return [app("cocomix-eval"), "--checkpoint", checkpoint or self.student, "--val", val or self.val] + list(extra)

    def test_eval_flags_out_of_range(self):
        out = self.existing_output("eval.json")
        self.expect_error(self.evaluate("--seq-len", "100", "--json", out), 2, "--seq-len", "100",
                          "n_positions 64", keep=[out])
        self.expect_error(self.evaluate("--format", "u32", "--json", out), 2, "--format", "u32", keep=[out])
        self.expect_error(self.evaluate("--tasks", "piqa", "--task-file", "piqa"), 2, "--task-file", '"piqa"',
                          "TASK=PATH")
        self.expect_error(self.evaluate(checkpoint=self.blocker), 1, self.blocker, "not a directory")

    def test_eval_token_ids_beyond_the_checkpoints_vocabulary(self):
        path = self.write("ids_300.u16", struct.pack("<3000H", *([300] * 3000)))
        self.expect_error(self.evaluate("--format", "u16", val=path), 1, path,
                          "token id 300", "vocab_size 257")

    def test_eval_concepts_with_a_mismatched_teacher_or_sae(self):
        config = os.path.join(self.student, "checkpoints", "step_00000002", "config.json")
        out = self.existing_output("concepts.json")
        self.expect_error(self.evaluate("--concepts", checkpoint=self.teacher), 2, "--concepts", 'mode "ntp"',
                          "no concept head")
        self.expect_error(self.evaluate("--concepts", "--sae", self.narrow_sae, "--json", out), 2, config,
                          "concept.sae_path", os.path.join(self.narrow_sae, "sae.json"), "d = 32", "n_embd = 64",
                          keep=[out])
        self.expect_error(self.evaluate("--concepts", "--sae", self.wide_sae), 2, config, "concept.n_concepts",
                          "96", "n_latents 128")
        self.expect_error(self.evaluate("--concepts", "--teacher", self.student), 1, self.student,
                          '"cocomix" checkpoint', "not a plain GPT")

    def test_eval_checkpoint_config_that_is_not_a_config(self):
        # A checkpoint whose config.json has a field of the wrong type, its digest recorded as if the save
        # had written it: a damaged checkpoint, exit 1.
        run_dir = os.path.join(self.root, "wrong_type")
        shutil.copytree(self.teacher, run_dir)
        step = os.path.join(run_dir, "checkpoints", "step_00000002")
        config = os.path.join(step, "config.json")
        self.edit_json(config, lambda c: c["model"].update(n_layer="two"))
        with open(config, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        self.edit_json(os.path.join(step, "COMPLETE"), lambda c: c["sha256"].update({"config.json": sha}))
        self.expect_error(self.evaluate(checkpoint=run_dir), 1, config, "model.n_layer", "expected an integer")

    def test_eval_unwritable_json(self):
        self.expect_error(self.evaluate("--max-windows", "1", "--json", os.path.join(self.blocker, "eval.json")), 1,
                          os.path.join(self.blocker, "eval.json"))

    # ---- cocomix-sae eval / train / explain --------------------------------------
    def sae_eval(self, sae, *extra, teacher=None, data=None):
        return [app("cocomix-sae"), "eval", "--sae", sae, "--teacher", teacher or self.teacher,
                "--data", data or self.val] + list(extra)

    def test_sae_eval_sae_that_does_not_fit_the_teacher(self):
        out = self.existing_output("sae_eval.json")
        self.expect_error(self.sae_eval(self.narrow_sae, "--json", out), 2,
                          os.path.join(self.narrow_sae, "sae.json"), "d 32", "n_embd 64", keep=[out])
        deep = self.sae_copy("sae_layer5", lambda j: j.update(layer=5))
        self.expect_error(self.sae_eval(deep), 2, os.path.join(deep, "sae.json"), "layer 5", "n_layer 2")
        self.expect_error(self.sae_eval(self.sae, teacher=self.student), 1, self.student, "not a plain GPT")
        self.expect_error(self.sae_eval(self.sae, "--seq-len", "65"), 2, "--seq-len", "65", "n_positions 64")

    def test_sae_eval_sae_of_another_teacher_is_a_warning(self):
        """sae eval measures any pairing that fits: another teacher's SAE is scored, with one warning."""
        result = run(self.sae_eval(self.foreign_sae, "--windows", "1"), check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        warnings = [line for line in result.stderr.splitlines() if "teacher_sha256" in line]
        self.assertEqual(len(warnings), 1, result.stderr)
        self.assertIn(os.path.join(self.foreign_sae, "sae.json") + ": teacher_sha256 " + "ab" * 32 +
                      " is not the sha256 of " + self.teacher + "'s weights (", warnings[0])
        self.assertTrue(warnings[0].endswith("): the SAE encodes another model"), warnings[0])

    def test_sae_eval_damaged_sae_files(self):
        broken = self.sae_copy("sae_broken_json", '{"d": 64,')
        self.expect_error(self.sae_eval(broken), 1, os.path.join(broken, "sae.json"), "not valid JSON")
        no_k = self.sae_copy("sae_no_k", lambda j: j.pop("k"))
        self.expect_error(self.sae_eval(no_k), 1, os.path.join(no_k, "sae.json"), "k: missing")
        typed = self.sae_copy("sae_typed", lambda j: j.update(d="sixty"))
        self.expect_error(self.sae_eval(typed), 1, os.path.join(typed, "sae.json"), "d:", '"sixty"')
        with open(os.path.join(self.sae, "sae.safetensors"), "rb") as f:
            cut = self.sae_copy("sae_cut", weights=f.read()[:500])
        self.expect_error(self.sae_eval(cut), 1, os.path.join(cut, "sae.safetensors"), "corrupt", "sha256")

    def test_sae_eval_bad_data_and_outputs(self):
        empty = self.write("empty.bin", b"")
        self.expect_error(self.sae_eval(self.sae, data=empty), 1, empty, "empty")
        self.expect_error(self.sae_eval(self.sae, "--format", "u32"), 2, "--format", "u32")
        self.expect_error(self.sae_eval(self.sae, "--windows", "1", "--json", os.path.join(self.blocker, "o.json")),
                          1, os.path.join(self.blocker, "o.json"))

    def sae_train(self, *extra, teacher=None, data=None):
        return [app("cocomix-sae"), "train", "--teacher", teacher or self.teacher, "--layer", "1", "--latents", "32",
                "--k", "4", "--data", data or self.train, "--threads", "1",
                "-o", os.path.join(self.root, "sae_never")] + list(extra)

    def test_sae_train_impossible_settings(self):
        self.expect_error(self.sae_train("--lr", "nan"), 2, "--lr", "nan")
        self.expect_error(self.sae_train("--k-aux", "-1"), 2, "--k-aux", "-1")
        self.expect_error(self.sae_train("--seq-len", "100"), 2, "--seq-len", "100", "n_positions 64")
        self.expect_error(self.sae_train("--format", "x"), 2, "--format")
        data_dir = os.path.dirname(self.train)
        self.expect_error(self.sae_train(teacher=data_dir), 1, data_dir, "no complete checkpoint")
        # Made only once the teacher and the data are known good (the unittest loader runs this test
        # before test_sae_train_token_ids_beyond_the_teachers_vocabulary, which gets that far).
        self.assertFalse(os.path.exists(os.path.join(self.root, "sae_never")))

    def test_sae_train_token_ids_beyond_the_teachers_vocabulary(self):
        path = self.write("ids_300_train.u16", struct.pack("<3000H", *([300] * 3000)))
        self.expect_error(self.sae_train("--steps", "1", "--format", "u16", data=path), 1, path, "token id 300",
                          "vocab_size 257", one_line=False)

    def explain(self, sae, out, *extra):
        return [app("cocomix-sae"), "explain", "--sae", sae, "--teacher", self.teacher, "--data", self.val,
                "-o", out] + list(extra)

    def test_sae_explain(self):
        previous = self.write("explained/latents.json", '{"n_latents": 96, "latents": []}\n')
        out = os.path.dirname(previous)
        self.expect_error(self.explain(self.narrow_sae, out), 2, os.path.join(self.narrow_sae, "sae.json"), "d 32",
                          "n_embd 64", keep=[out])
        self.expect_error(self.explain(self.sae, out, "--threads", "-1"), 2, "--threads", "-1", keep=[out])
        self.expect_error(self.explain(self.sae, out, "--top", "0"), 2, "--top", "0", keep=[out])
        self.expect_error(self.explain(self.sae, os.path.join(self.blocker, "x")), 1, self.blocker)
        missing = os.path.join(self.root, "no_tokenizer")
        self.expect_error(self.explain(self.sae, out, "--tokenizer", missing), 1, missing, keep=[out])

    # ---- cocomix-sae label ----------------------------------------------------
    def label(self, config, *extra):
        return [app("cocomix-sae"), "label", "--config", config] + list(extra)

    def test_label_configs_that_cannot_label(self):
        with open(self.config) as f:
            ntp = self.write("ntp.json", json.dumps({k: v for k, v in json.load(f).items() if k != "concept"}))
        self.expect_error(self.label(ntp, "-o", os.path.join(self.root, "never.labels")), 2, ntp, "concept.mode",
                          '"ntp"')
        self.expect_error(self.label(self.config), 2, "--out", self.config, "concept.label_cache")
        narrow = self.cocomix_config("narrow.json", sae_path=self.narrow_sae)
        self.expect_error(self.label(narrow, "-o", os.path.join(self.root, "never.labels")), 2, narrow,
                          "concept.sae_path", "d = 32", "n_embd = 64")
        self.expect_error(self.label(self.config, "--set", "concept.k_attr=9", "-o",
                                     os.path.join(self.root, "never.labels")), 2, "concept.k_attr", "9", "k = 8")
        foreign = self.cocomix_config("foreign.json", sae_path=self.foreign_sae)
        self.expect_error(self.label(foreign, "-o", os.path.join(self.root, "never.labels")), 2, foreign,
                          "concept.sae_path", "teacher_sha256", "another model")
        self.expect_error(self.label(self.config, "-o", os.path.join(self.blocker, "labels")), 1,
                          os.path.join(self.blocker, "labels"))
        self.assertFalse(os.path.exists(os.path.join(self.root, "never.labels")))

    def test_label_never_overwrites_a_cache(self):
        # A cache of another SAE at --out: refused naming the field, the file as it was.
        other = self.cocomix_config("other_sae.json", sae_path=self.other_sae)
        self.expect_error(self.label(other, "-o", self.labels), 2, self.labels, "sae_sha256", "not overwritten",
                          keep=[self.labels])
        garbage = self.existing_output("garbage.labels", "garbage")
        self.expect_error(self.label(self.config, "-o", garbage), 1, garbage, "truncated",
                          "not overwritten", keep=[garbage])
        text = self.existing_output("text.labels", "not a label cache, but long enough to hold a header\n")
        self.expect_error(self.label(self.config, "-o", text), 1, text, "not a concept-label cache",
                          "not overwritten", keep=[text])
        # This config's own cache: left as it is.
        before = digest(self.labels)
        result = run(self.label(self.config, "-o", self.labels))
        self.assertIn("left as it is", result.stderr)
        self.assertEqual(digest(self.labels), before)

    def test_training_and_bench_refuse_a_cache_of_another_run(self):
        other = self.cocomix_config("cache_other_sae.json", sae_path=self.other_sae, label_cache=self.labels)
        out = os.path.join(self.root, "never_trained")
        self.expect_error([app("cocomix-train"), "--config", other, "--out", out], 2, self.labels, "sae_sha256")
        self.assertFalse(os.path.exists(os.path.join(out, "checkpoints")))
        self.expect_error([app("cocomix-bench"), "--config", self.config, "--set", "concept.label_cache=" + self.labels,
                           "--set", "concept.k_attr=2", "--steps", "1", "--warmup", "0"], 2, self.labels, "k_attr")
        garbage = self.write("bench_garbage.labels", "garbage")
        self.expect_error([app("cocomix-bench"), "--config", self.config, "--set", "concept.label_cache=" + garbage,
                           "--steps", "1", "--warmup", "0"], 1, garbage, "truncated")

    # ---- cocomix-bench ----------------------------------------------------------
    def test_bench_configs_and_data(self):
        directory = os.path.join(self.root, "data")
        self.expect_error([app("cocomix-bench"), "--config", directory], 2, directory, "a directory")
        self.expect_error([app("cocomix-bench"), "--config", self.config, "--set", 'optim.lr="fast"'], 2,
                          self.config, "optim.lr", "expected a number")
        self.expect_error([app("cocomix-bench"), "--plan", "--config", self.config, "--set",
                           "concept.sae_path=" + self.narrow_sae], 2, self.config, "concept.sae_path", "d = 32",
                          "n_embd = 64")
        missing = os.path.join(self.root, "no_such_corpus.bin")
        self.expect_error([app("cocomix-bench"), "data", "--config", self.config, "--data", missing], 1, missing)

    # ---- cocomix-tokenize -------------------------------------------------------
    def tokenize(self, out, *args, tokenizer=None):
        return ([app("cocomix-tokenize"), "--tokenizer", tokenizer or os.path.join(SHARED_DATA, "gpt2_tokenizer"),
                 "-o", out] + list(args))

    def test_tokenize_flags_and_outputs(self):
        text = self.write("doc.txt", "hello world\n")
        never = os.path.join(self.root, "never_tokenized")
        self.expect_error(self.tokenize(never, "--threads", "-3", text), 2, "--threads", "-3")
        self.expect_error(self.tokenize(never, "--val-documents", "-2", text), 2, "--val-documents", "-2")
        self.expect_error([app("cocomix-tokenize"), "--synthetic", "--documents", "5", "--raw", text, "-o", never], 2,
                          "--raw", "--synthetic")
        self.assertFalse(os.path.exists(never))
        self.expect_error([app("cocomix-tokenize"), "--synthetic", "--documents", "5", "-o", self.blocker], 1,
                          self.blocker, "not a directory")
        self.expect_error([app("cocomix-tokenize"), "--raw", text, "-o", os.path.join(self.blocker, "raw.bin")], 1,
                          os.path.join(self.blocker, "raw.bin"))

    @unittest.skipUnless(os.path.isdir(os.path.join(SHARED_DATA, "gpt2_tokenizer")), "no GPT-2 tokenizer files")
    def test_tokenize_damaged_inputs_and_tokenizers(self):
        out = os.path.join(self.root, "tokenized")
        text = self.write("doc.txt", "hello world\n")
        self.expect_error(self.tokenize(out, "--shard-tokens", "0", text), 2, "--shard-tokens", "got 0")
        cut = self.write("cut.jsonl.gz", gzip.compress(b'{"text": "a whole row"}\n' * 50)[:30])
        self.expect_error(self.tokenize(out, cut), 1, cut, "truncated gzip")
        zst = self.write("garbage.jsonl.zst", b"\x28\xb5\x2f\xfd garbage")
        self.expect_error(self.tokenize(out, zst), 1, zst, "corrupt zstd")
        rows = self.write("rows.jsonl", '{"text": "a"}\n{"text": 5}\n')
        self.expect_error(self.tokenize(out, rows), 1, rows + ":2:", 'field "text"')
        empty_dir = os.path.join(self.root, "no_inputs")
        os.makedirs(empty_dir)
        self.expect_error(self.tokenize(out, empty_dir), 2, empty_dir, "no files")
        no_files = os.path.join(self.root, "tokenizer_empty")
        os.makedirs(no_files)
        self.expect_error(self.tokenize(out, text, tokenizer=no_files), 1, no_files, "no GPT-2 tokenizer files")
        broken = os.path.dirname(self.write("tokenizer_broken/encoder.json", '{"a": '))
        self.write("tokenizer_broken/vocab.bpe", "#version: 0.2\n")
        self.expect_error(self.tokenize(out, text, tokenizer=broken), 1, os.path.join(broken, "encoder.json"),
                          "invalid JSON")

    # ---- cocomix-convert --------------------------------------------------------
    def hf_dir(self, name, weights=True, **config):
        """A Hugging Face GPT-2 directory of the teacher's weights (cocomix saves HF names)."""
        hf = {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 64, "vocab_size": 257}
        hf.update(config)
        directory = os.path.dirname(self.write(os.path.join(name, "config.json"), json.dumps(hf)))
        if weights is not None:
            with open(os.path.join(self.teacher, "checkpoints", "step_00000002", "model.safetensors"), "rb") as f:
                data = f.read()
            self.write(os.path.join(name, "model.safetensors"), data if weights is True else data[:weights])
        return directory

    def test_convert(self):
        out = os.path.join(self.root, "never_imported")
        missing = self.hf_dir("hf_no_weights", weights=None)
        self.expect_error([app("cocomix-convert"), "import", "--hf", missing, "--out", out], 1,
                          os.path.join(missing, "model.safetensors"), "missing")
        cut = self.hf_dir("hf_cut", weights=3000)
        self.expect_error([app("cocomix-convert"), "import", "--hf", cut, "--out", out], 1,
                          os.path.join(cut, "model.safetensors"), "truncated")
        heads = self.hf_dir("hf_heads", n_head=3)
        self.expect_error([app("cocomix-convert"), "import", "--hf", heads, "--out", out], 1,
                          os.path.join(heads, "config.json"), "n_head", "does not divide")
        self.expect_error([app("cocomix-convert"), "import", "--hf", self.teacher, "--out", out], 1,
                          os.path.join(self.teacher, "config.json"), "model_type")
        self.assertFalse(os.path.exists(out))
        good = self.hf_dir("hf_good")
        self.expect_error([app("cocomix-convert"), "import", "--hf", good, "--out", self.teacher], 2, self.teacher,
                          "already holds checkpoints", keep=[self.teacher])
        self.expect_error([app("cocomix-convert"), "export", "--checkpoint", self.student, "--out", self.blocker], 1,
                          self.blocker, "not a directory", one_line=False)

    # ---- cocomix-generate -------------------------------------------------------
    def generate(self, *args, checkpoint=None):
        return [app("cocomix-generate"), "--checkpoint", checkpoint or self.student, "--threads", "1"] + list(args)

    def test_generate_bad_prompts_and_flags(self):
        out = self.existing_output("generated.json")
        prompts = self.write("prompts.jsonl", '{"prompt": "a"}\nnot json\n')
        self.expect_error(self.generate("--prompts", prompts, "--json", out), 2, "--prompts", prompts + ":2",
                          keep=[out])
        seeded = self.write("seeded.jsonl", '{"prompt": "a", "seed": -1}\n')
        self.expect_error(self.generate("--prompts", seeded, "--json", out), 2, seeded + ":1", "seed", keep=[out])
        self.expect_error(self.generate("--prompt-ids", "1,300", "--json", out), 2, "--prompt-ids", "token 300",
                          "[0, 257)", keep=[out])
        self.expect_error(self.generate("--prompt", "a", "--threads", "-1", "--json", out), 2, "--threads", "-1",
                          keep=[out])
        self.expect_error(self.generate("--prompt", "a", "--max-new-tokens", "1", "--json",
                                        os.path.join(self.blocker, "g.json")), 1, os.path.join(self.blocker, "g.json"))
        missing = os.path.join(self.root, "no_tokenizer")
        self.expect_error(self.generate("--prompt", "a", "--tokenizer", missing), 1, missing)

    def test_generate_mismatched_concepts_and_saes(self):
        latents = self.write("latents_32.json", json.dumps({"n_latents": 32, "latents": [
            {"id": i, "density": 0, "mean_activation": 0, "max_activation": 0, "top": []} for i in range(32)]}))
        self.expect_error(self.generate("--prompt", "a", "--explain", "--concepts", latents), 2, "--concepts",
                          latents, "n_latents 32", "C = 96")
        self.expect_error(self.generate("--prompt", "a", "--explain", checkpoint=self.teacher), 2, "--explain",
                          "without a concept head")
        self.expect_error(self.generate("--prompt", "a", "--sae", self.narrow_sae, "--steer-sae", "1=2",
                                        checkpoint=self.teacher), 2,
                          os.path.join(self.narrow_sae, "sae.json"), "d 32", "n_embd 64")
        self.expect_error(self.generate("--prompt", "a", "--sae", self.foreign_sae, "--steer-sae", "1=2",
                                        checkpoint=self.teacher), 2,
                          os.path.join(self.foreign_sae, "sae.json"), "teacher_sha256", "another model")

    # ---- cocomix-inspect --------------------------------------------------------
    def inspect(self, *args, checkpoint=None):
        return [app("cocomix-inspect"), "weights", "--checkpoint", checkpoint or self.student] + list(args)

    def test_inspect(self):
        out = self.existing_output("weights.json")
        self.expect_error(self.inspect("--thresholds", "-0.1", "--json", out), 2, "--thresholds", "-0.1", keep=[out])
        broken = self.write("latents_broken.json", '{"n_latents": ')
        self.expect_error(self.inspect("--concepts", broken, "--json", out), 2, "--concepts", broken, "not JSON",
                          keep=[out])
        latents = self.write("latents_32_inspect.json", json.dumps({"n_latents": 32, "latents": []}))
        self.expect_error(self.inspect("--concepts", latents, "--json", out), 2, latents, keep=[out])
        self.expect_error(self.inspect("-o", self.blocker), 1, self.blocker, "not a directory")
        data_dir = os.path.dirname(self.train)
        self.expect_error(self.inspect(checkpoint=data_dir), 1, data_dir, "no complete checkpoint")

    # ---- cocomix-train: a checkpoint resumed under another config -------------
    def test_train_resume_with_another_architecture(self):
        run_dir = os.path.join(self.root, "resumed")
        shutil.copytree(self.student, run_dir)
        self.expect_error([app("cocomix-train"), "--config", self.config, "--set", "model.n_embd=128", "--out", run_dir,
                           "--resume"], 2, self.config, "model", "differs from the checkpoint's", keep=[run_dir])
        directory = os.path.join(self.root, "data")
        self.expect_error([app("cocomix-train"), "--config", directory], 2, directory, "a directory")


if __name__ == "__main__":
    unittest.main(verbosity=2)
