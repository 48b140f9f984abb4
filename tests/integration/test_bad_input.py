"""Bad input of every kind: each gets one
'error: ...' line naming the file and the field, exit 2 (usage/config) or 1
(runtime), no crash, and nothing already on disk is overwritten. Bad sharded
corpora (directories, manifests, shards, globs, mixtures) stop the run before
its first step."""
import hashlib
import json
import os
import shutil
import struct
import unittest

from cocomix_testlib import SOURCE_DIR, app, make_corpus, run, temp_dir, write_config


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
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
