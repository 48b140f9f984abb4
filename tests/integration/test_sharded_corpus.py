"""Training on a sharded corpus as cocomix-tokenize writes it: a directory of
GPT-2 shards (several small train and val shards of a shared book) trains,
and a run killed with SIGKILL after a checkpoint resumes to bitwise the losses
and weights of the straight run, with the default sampling ("random") and the
default peak FLOP/s (measured at start). Validation and cocomix-eval --val DIR
cover the windows of every val shard; a glob of the same shards trains exactly
as the directory does; a 3:1 mixture (data.train_sources) draws its sources
with the shares and epochs the documented choice rule gives, and resumes
bitwise too; resuming after the shard list changed is refused in one line."""
import filecmp
import json
import math
import os
import shutil
import subprocess
import unittest

from cocomix_testlib import SHARED_DATA, app, read_metrics, run, temp_dir, wait_for_checkpoint, write_config
from cocomix_tools.corpus import M64, splitmix64, stream_seed

TOKENIZER = os.path.join(SHARED_DATA, "gpt2_tokenizer")
BOOK = os.path.join(SHARED_DATA, "text_gutenberg_nltk", "shakespeare-macbeth.txt")  # about 31k GPT-2 tokens
POEMS = os.path.join(SHARED_DATA, "text_gutenberg_nltk", "blake-poems.txt")
SHARD_TOKENS = 4000
SEQ_LEN = 32
BATCH = 8
MAX_STEPS = 24
SEED = 7
MIX_STEPS = 40
MIX_WEIGHTS = {"book": 3.0, "poems": 1.0}
POEMS_EXCERPT_CHARS = 4000  # a second source small enough to go through several epochs


def mixture_counts(seed, weights, windows):
    """How many of a rank-0 run's first WINDOWS windows each source gets under the
    rule of data/training_data.h: window c goes to the first source i with
    u_c < (w_0 + ... + w_i) / sum(w), u_c = (splitmix64(key + c) >> 11) / 2^53."""
    key = stream_seed(stream_seed(seed, 1 << 32), 0)
    total = sum(weights)
    bounds = [sum(weights[: i + 1]) / total for i in range(len(weights))]
    bounds[-1] = 1.0
    counts = [0] * len(weights)
    for c in range(windows):
        u = (splitmix64((key + c) & M64) >> 11) * 2.0**-53
        counts[next(i for i, bound in enumerate(bounds) if u < bound)] += 1
    return counts


def write_play_in_scenes(path, lines_per_scene=40):
    """The play as documents for --blocks: a blank line after every LINES_PER_SCENE lines
    (the shared file has no blank lines)."""
    with open(BOOK, encoding="utf-8") as f:
        lines = f.read().splitlines()
    with open(path, "w", encoding="utf-8") as out:
        for i in range(0, len(lines), lines_per_scene):
            out.write("\n".join(lines[i:i + lines_per_scene]) + "\n\n")
    return path


def tokenize_play(root):
    """ROOT/book: the play in GPT-2 shards of SHARD_TOKENS tokens, about a fifth of its scenes in val."""
    corpus = os.path.join(root, "book")
    tokenize(corpus, "--blocks", "--val-fraction", "0.2", write_play_in_scenes(os.path.join(root, "play.txt")))
    return corpus


def tokenize(out, *inputs_and_flags):
    run([app("cocomix-tokenize"), "--tokenizer", TOKENIZER, "--shard-tokens", str(SHARD_TOKENS), "--seed", "1",
         "--threads", "2", "-o", out, *inputs_and_flags])


def manifest_shards(directory, split):
    """[(file name, tokens)] of SPLIT as DIRECTORY/manifest.json lists them."""
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    return [(shard["file"], shard["tokens"]) for shard in manifest["splits"][split]["shards"]]


def write_manifest_shards(directory, split, shards):
    path = os.path.join(directory, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest["splits"][split]["shards"] = [{"file": name, "tokens": tokens} for name, tokens in shards]
    manifest["splits"][split]["tokens"] = sum(tokens for _, tokens in shards)
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)


def tiny_config(path, train_path, val_path, steps=MAX_STEPS, **data):
    """A 2-layer GPT-2-vocabulary model on T = 32 windows, default sampling and
    default log.peak_flops (write_config's fixed value removed)."""
    write_config(path, train_path, val_path,
                 model={"vocab_size": 50257, "n_positions": SEQ_LEN, "n_embd": 32, "n_layer": 2, "n_head": 2,
                        "dropout": 0.1},
                 data={"seq_len": SEQ_LEN, **data},
                 train={"batch_size": BATCH, "max_steps": steps, "seed": SEED, "checkpoint_every": 4},
                 eval={"every": 8, "max_batches": 0, "batch_size": 16})
    with open(path) as f:
        config = json.load(f)
    del config["log"]["peak_flops"]
    assert "sampling" not in config["data"]
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def losses(run_dir):
    records = read_metrics(run_dir)
    return ({r["step"]: r["loss"] for r in records if "loss" in r},
            {r["step"]: r["val_loss"] for r in records if "val_loss" in r})


def final_weights(run_dir, step):
    return os.path.join(run_dir, "checkpoints", "step_%08d" % step, "model.safetensors")


def trainer_state(run_dir, step):
    with open(os.path.join(run_dir, "checkpoints", "step_%08d" % step, "trainer_state.json")) as f:
        return json.load(f)


def train(config, out, *extra):
    return run([app("cocomix-train"), "--config", config, "--out", out, *extra])


def killed_then_resumed(config, out, step):
    """A run killed with SIGKILL once its checkpoint of STEP is complete, then resumed to the end."""
    process = subprocess.Popen([app("cocomix-train"), "--config", config, "--out", out],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_checkpoint([process], out, step)
    finally:
        process.kill()
        process.wait(timeout=60)
    killed_at = max(r["step"] for r in read_metrics(out) if "loss" in r)
    train(config, out, "--resume")
    return killed_at


class ShardedCorpusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.corpus = tokenize_play(cls.root)
        cls.train_shards = manifest_shards(cls.corpus, "train")
        cls.val_shards = manifest_shards(cls.corpus, "val")
        cls.config = tiny_config(os.path.join(cls.root, "dir.json"), cls.corpus, cls.corpus)
        cls.straight = os.path.join(cls.root, "straight")
        train(cls.config, cls.straight)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def test_the_corpus_has_several_small_shards(self):
        self.assertGreaterEqual(len(self.train_shards), 5)
        self.assertGreaterEqual(len(self.val_shards), 2)
        for shards in (self.train_shards, self.val_shards):
            self.assertEqual([tokens for _, tokens in shards[:-1]], [SHARD_TOKENS] * (len(shards) - 1))
            self.assertLessEqual(shards[-1][1], SHARD_TOKENS)

    def test_the_run_reads_every_train_shard_of_the_directory(self):
        source = trainer_state(self.straight, MAX_STEPS)["data"]["sources"][0]
        self.assertEqual([(s["file"], s["tokens"]) for s in source["shards"]], self.train_shards)
        self.assertEqual(source["drawn"], MAX_STEPS * BATCH)

    def test_sigkill_after_checkpoint_then_resume_is_bitwise_equal(self):
        out = os.path.join(self.root, "sigkill")
        killed_at = killed_then_resumed(self.config, out, 8)
        self.assertLess(killed_at, MAX_STEPS)
        train_losses, val_losses = losses(out)
        reference = losses(self.straight)
        self.assertEqual(sorted(train_losses), list(range(1, MAX_STEPS + 1)))
        self.assertEqual(train_losses, reference[0])  # exact float equality, parsed from the JSON text
        self.assertEqual(val_losses, reference[1])
        self.assertTrue(filecmp.cmp(final_weights(self.straight, MAX_STEPS), final_weights(out, MAX_STEPS),
                                    shallow=False))

    def test_validation_and_eval_cover_every_val_shard(self):
        train_losses, val_losses = losses(self.straight)
        self.assertEqual(sorted(val_losses), [8, 16, 24])
        self.assertLess(train_losses[MAX_STEPS], train_losses[1])
        # Windows never cross a shard boundary: shard s of n_s tokens holds (n_s - 1) // T of them.
        windows = sum((tokens - 1) // SEQ_LEN for _, tokens in self.val_shards)
        self.assertLess(windows, sum(tokens for _, tokens in self.val_shards) // SEQ_LEN)  # the bound matters
        result = json.loads(run([app("cocomix-eval"), "--checkpoint", self.straight, "--val", self.corpus,
                                 "--precision", "bf16", "--batch-size", "16"]).stdout)
        self.assertEqual(result["windows"], windows)
        self.assertEqual(result["tokens"], windows * SEQ_LEN)
        self.assertAlmostEqual(result["val_ppl"], math.exp(result["val_loss"]), places=6)
        # The same windows, model and precision as the run's last validation (eval.max_batches 0: all windows).
        self.assertAlmostEqual(result["val_loss"], val_losses[MAX_STEPS], places=5)

    def test_a_glob_of_the_shards_trains_as_the_directory(self):
        config = tiny_config(os.path.join(self.root, "glob.json"), os.path.join(self.corpus, "train_*.bin"),
                             self.corpus)
        out = os.path.join(self.root, "glob")
        train(config, out)
        source = trainer_state(out, MAX_STEPS)["data"]["sources"][0]
        self.assertEqual([(s["file"], s["tokens"]) for s in source["shards"]], self.train_shards)
        # Same shards in the same order, same seed: the same windows, so the same losses.
        self.assertEqual(losses(out), losses(self.straight))

    def refused_resume(self, config, out, *fragments):
        """Resuming OUT for 4 more steps fails with one 'error: ...' line holding FRAGMENTS, writing nothing."""
        checkpoints = sorted(os.listdir(os.path.join(out, "checkpoints")))
        with open(os.path.join(out, "metrics.jsonl")) as f:
            metrics = f.read()
        result = run([app("cocomix-train"), "--config", config, "--out", out, "--resume", "--set",
                      f"train.max_steps={8 + 4}"], check=False)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertEqual(sorted(os.listdir(os.path.join(out, "checkpoints"))), checkpoints)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            self.assertEqual(f.read(), metrics)

    def test_resume_refuses_a_directory_that_lost_a_shard(self):
        corpus = os.path.join(self.root, "shrinking")
        shutil.copytree(self.corpus, corpus)
        config = tiny_config(os.path.join(self.root, "shrinking.json"), corpus, "", steps=8)
        out = os.path.join(self.root, "shrinking_run")
        train(config, out)
        last, _ = self.train_shards[-1]
        os.remove(os.path.join(corpus, last))
        write_manifest_shards(corpus, "train", self.train_shards[:-1])
        n = len(self.train_shards)
        self.refused_resume(config, out, "changed since the checkpoint", f"{n} shards then, {n - 1} now",
                            f'"{last}" is gone', corpus)

    def test_resume_refuses_a_glob_that_matches_a_new_shard(self):
        corpus = os.path.join(self.root, "growing")
        shutil.copytree(self.corpus, corpus)
        config = tiny_config(os.path.join(self.root, "growing.json"), os.path.join(corpus, "train_*.bin"), "",
                             steps=8)
        out = os.path.join(self.root, "growing_run")
        train(config, out)
        shutil.copyfile(os.path.join(corpus, self.train_shards[0][0]), os.path.join(corpus, "train_999999.bin"))
        n = len(self.train_shards)
        self.refused_resume(config, out, "changed since the checkpoint", f"{n} shards then, {n + 1} now",
                            '"train_999999.bin" is new', os.path.join(corpus, "train_*.bin"))


class MixtureTest(unittest.TestCase):
    """data.train_sources: the book's shard directory (weight 3) and one shard of a
    short poems excerpt (weight 1)."""

    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.book = tokenize_play(cls.root)
        excerpt = os.path.join(cls.root, "poems.txt")
        with open(POEMS, encoding="utf-8") as f, open(excerpt, "w", encoding="utf-8") as out:
            out.write(f.read()[:POEMS_EXCERPT_CHARS])
        poems_dir = os.path.join(cls.root, "poems")
        tokenize(poems_dir, "--val-fraction", "0", excerpt)
        (poems_file, cls.poems_tokens), = manifest_shards(poems_dir, "train")
        cls.poems = os.path.join(poems_dir, poems_file)
        sources = [{"path": cls.book, "weight": MIX_WEIGHTS["book"], "name": "book"},
                   {"path": cls.poems, "weight": MIX_WEIGHTS["poems"], "name": "poems"}]
        cls.config = tiny_config(os.path.join(cls.root, "mixture.json"), "", cls.book, steps=MIX_STEPS,
                                 train_sources=sources)
        cls.straight = os.path.join(cls.root, "straight")
        train(cls.config, cls.straight)
        cls.records = [r for r in read_metrics(cls.straight) if "loss" in r]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def test_shares_follow_the_choice_rule(self):
        self.assertEqual([r["step"] for r in self.records], list(range(1, MIX_STEPS + 1)))
        for record in self.records:
            windows = record["step"] * BATCH
            book, poems = mixture_counts(SEED, list(MIX_WEIGHTS.values()), windows)
            self.assertAlmostEqual(record["share/book"], book / windows, places=12, msg=record)
            self.assertAlmostEqual(record["share/poems"], poems / windows, places=12, msg=record)

    def test_shares_are_near_the_weights(self):
        windows = MIX_STEPS * BATCH
        last = self.records[-1]
        for name, weight in MIX_WEIGHTS.items():
            p = weight / sum(MIX_WEIGHTS.values())
            tolerance = 4 * math.sqrt(p * (1 - p) / windows)  # 4 binomial standard deviations: 0.097 here
            self.assertLess(abs(last["share/" + name] - p), tolerance, (name, last["share/" + name]))

    def test_epochs_follow_each_sources_window_count(self):
        # Epoch e of a one-shard source of n tokens holds (n - 1 - o) // T windows for its
        # offset o in [0, T]: between k_min = (n - 1 - T) // T and k_max = (n - 1) // T. After
        # d windows the source is in an epoch E with E * k_min <= d <= (E + 1) * k_max.
        k_max = (self.poems_tokens - 1) // SEQ_LEN
        k_min = (self.poems_tokens - 1 - SEQ_LEN) // SEQ_LEN
        epochs = set()
        for record in self.records:
            drawn = round(record["share/poems"] * record["step"] * BATCH)
            epoch = record["epoch/poems"]
            self.assertLessEqual(epoch * k_min, drawn, record)
            self.assertLessEqual(drawn, (epoch + 1) * k_max, record)
            self.assertEqual(record["epoch/book"], 0, record)  # ~240 of its ~700 windows
            epochs.add(epoch)
        self.assertGreaterEqual(max(epochs), 2)  # the excerpt went through several epochs

    def test_sigkill_after_checkpoint_then_resume_is_bitwise_equal(self):
        out = os.path.join(self.root, "sigkill")
        killed_at = killed_then_resumed(self.config, out, 12)
        self.assertLess(killed_at, MIX_STEPS)
        self.assertEqual(read_metrics_without_timing(out), read_metrics_without_timing(self.straight))
        self.assertTrue(filecmp.cmp(final_weights(self.straight, MIX_STEPS), final_weights(out, MIX_STEPS),
                                    shallow=False))


def read_metrics_without_timing(run_dir):
    """metrics.jsonl less the fields that measure time (tokens_per_second, mfu)."""
    return [{k: v for k, v in r.items() if k not in ("tokens_per_second", "mfu")} for r in read_metrics(run_dir)]


if __name__ == "__main__":
    unittest.main(verbosity=2)
