"""Teacher and student must share the tokenizer, not just the vocabulary size:
a GPT-2 corpus made by cocomix-tokenize from OpenAI's
encoder.json + vocab.bpe (its manifest.json records them) against Hugging Face
teacher directories. The same tokenizer in HF's layout (vocab.json re-serialised,
merges.txt) is recognised; another tokenizer of the same layout is refused with
one line naming both files; a teacher without tokenizer files trains with one
warning; a cocomix checkpoint teacher is known by its training data's manifest."""
import json
import os
import shutil
import unittest

from transformers import GPT2Config, GPT2LMHeadModel

from cocomix_testlib import SHARED_DATA, app, make_corpus, run, temp_dir, train_teacher, write_config, write_sae

TOKENIZER = os.path.join(SHARED_DATA, "gpt2_tokenizer")
SHAPE = {"vocab_size": 50257, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 2}


class TokenizerIdentityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        corpus = os.path.join(cls.root, "gpt2_corpus")
        run([app("cocomix-tokenize"), "--tokenizer", TOKENIZER, "--blocks", "--val-documents", "20", "-o", corpus,
             os.path.join(SHARED_DATA, "text_tinyshakespeare", "input.txt")])
        cls.manifest = os.path.join(corpus, "manifest.json")
        cls.train = os.path.join(corpus, "train_000000.bin")
        # A tiny Hugging Face GPT-2 with no tokenizer files, then copies with them.
        cls.bare = os.path.join(cls.root, "teacher_bare")
        GPT2LMHeadModel(GPT2Config(**SHAPE)).save_pretrained(cls.bare, safe_serialization=True)
        with open(os.path.join(TOKENIZER, "encoder.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(TOKENIZER, "vocab.bpe"), encoding="utf-8") as f:
            merges = f.read()
        cls.same = cls.teacher_with(vocab, merges, "teacher_same")
        # Another valid GPT-2-style tokenizer: the last merge dropped, <|endoftext|> renumbered.
        last_token = max((i, t) for t, i in vocab.items() if t != "<|endoftext|>")[1]
        other = {t: i for t, i in vocab.items() if t != last_token}
        other["<|endoftext|>"] = vocab[last_token]
        cls.other = cls.teacher_with(other, merges.rstrip("\n").rsplit("\n", 1)[0] + "\n", "teacher_other")
        cls.sae = write_sae(os.path.join(cls.root, "sae"), d=32, layer=1)

    @classmethod
    def teacher_with(cls, vocab, merges, name):
        directory = os.path.join(cls.root, name)
        shutil.copytree(cls.bare, directory)
        with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)  # other bytes than encoder.json, the same table
        with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
            f.write(merges)
        return directory

    def train_with(self, teacher, name, train_path=None, shape=SHAPE):
        config = write_config(os.path.join(self.root, name + ".json"), train_path or self.train, "",
                              model=dict(shape), train={"max_steps": 1, "checkpoint_every": 0},
                              optim={"warmup_steps": 0},
                              concept={"mode": "cocomix", "teacher_path": teacher, "sae_path": self.sae,
                                       "n_concepts": 96, "insert_layer": 1, "k_pred": 8, "k_attr": 4})
        return run([app("cocomix-train"), "--config", config, "--out", os.path.join(self.root, name)], check=False)

    def test_the_same_tokenizer_in_hugging_face_layout_is_recognised(self):
        result = self.train_with(self.same, "same")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("cannot tell", result.stderr)

    def test_another_tokenizer_is_refused_naming_both_files(self):
        result = self.train_with(self.other, "other")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn(os.path.join(self.other, "vocab.json"), result.stderr)
        self.assertIn(self.manifest, result.stderr)
        self.assertIn("teacher and student must share the tokenizer", result.stderr)

    def test_a_teacher_without_tokenizer_files_trains_with_one_warning(self):
        result = self.train_with(self.bare, "bare")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.count("cannot tell whether the teacher"), 1, result.stderr)

    def test_a_checkpoint_teacher_is_known_by_its_data_manifest(self):
        train, val = make_corpus(os.path.join(self.root, "bytes_corpus"), documents=40)
        teacher = train_teacher(self.root, train, val, model={"vocab_size": 257, "n_positions": 64, "n_embd": 32,
                                                              "n_layer": 2, "n_head": 2},
                                train={"max_steps": 2, "checkpoint_every": 0}, optim={"warmup_steps": 0})
        result = self.train_with(teacher, "checkpoint_teacher")  # bytes teacher, GPT-2 student data
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn(os.path.join(os.path.dirname(train), "manifest.json") + ": bytes 257", result.stderr)
        self.assertIn(self.manifest, result.stderr)
        # The same data on both sides: no error, no warning.
        same = self.train_with(teacher, "checkpoint_same", train_path=train,
                          shape={"vocab_size": 257, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 2})
        self.assertEqual(same.returncode, 0, same.stderr)
        self.assertNotIn("cannot tell", same.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
