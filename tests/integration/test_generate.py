"""cocomix-generate end to end: greedy ids on a Hugging Face GPT-2 imported with
cocomix-convert equal transformers' generate on the same directory; text in and
out through the byte tokenizer of a trained CoCoMix checkpoint, the same tokens
with and without the KV cache, seeded sampling that repeats, the JSON output;
bad input gets one line and exit 2."""
import json
import os
import unittest

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from cocomix_testlib import SHARED_DATA, app, make_corpus, run, temp_dir, train_teacher, write_config, write_sae

TOKENIZER = os.path.join(SHARED_DATA, "gpt2_tokenizer")


def generate(*args, check=True):
    return run([app("cocomix-generate")] + list(args), check=check)


def generated(path):
    with open(path) as f:
        return json.load(f)


class GenerateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        # A random GPT-2 with GPT-2's vocabulary; a wide init keeps the greedy choices far from ties.
        torch.manual_seed(0)
        cls.hf_dir = os.path.join(cls.root, "hf")
        config = GPT2Config(vocab_size=50257, n_positions=64, n_embd=32, n_layer=2, n_head=4, initializer_range=0.3)
        GPT2LMHeadModel(config).eval().save_pretrained(cls.hf_dir, safe_serialization=True)
        cls.imported = os.path.join(cls.root, "imported")
        run([app("cocomix-convert"), "import", "--hf", cls.hf_dir, "--out", cls.imported])
        # A CoCoMix student on the byte-level synthetic corpus (vocabulary 257).
        train, val = make_corpus(os.path.join(cls.root, "data"), documents=60)
        teacher = train_teacher(cls.root, train, val, train={"max_steps": 4, "checkpoint_every": 0})
        sae = write_sae(os.path.join(cls.root, "sae"), d=64, layer=1)
        concept = {"mode": "cocomix", "teacher_path": teacher, "sae_path": sae, "n_concepts": 96,
                   "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 0.1}
        config_path = write_config(os.path.join(cls.root, "cocomix.json"), train, val, concept=concept,
                                   train={"max_steps": 6, "checkpoint_every": 0}, eval={"every": 0})
        cls.student = os.path.join(cls.root, "student")
        run([app("cocomix-train"), "--config", config_path, "--out", cls.student])

    def test_greedy_ids_equal_transformers_generate(self):
        out = os.path.join(self.root, "hf_greedy.json")
        generate("--checkpoint", self.imported, "--tokenizer", TOKENIZER, "--prompt", "The quick brown fox",
                 "--max-new-tokens", "24", "--greedy", "--threads", "1", "--json", out)
        result = generated(out)["results"][0]
        model = GPT2LMHeadModel.from_pretrained(self.hf_dir).eval()
        prompt = torch.tensor([result["prompt_ids"]])
        with torch.no_grad():
            expected = model.generate(prompt, max_new_tokens=24, do_sample=False, eos_token_id=50256,
                                      pad_token_id=50256, attention_mask=torch.ones_like(prompt))
        self.assertEqual(result["tokens"], expected[0, prompt.size(1):].tolist())
        self.assertEqual(result["prompt"], "The quick brown fox")

    def test_text_through_the_byte_tokenizer_with_and_without_the_cache(self):
        cached, recomputed = os.path.join(self.root, "cached.json"), os.path.join(self.root, "recomputed.json")
        generate("--checkpoint", self.student, "--prompt", "the cat", "--max-new-tokens", "30", "--json", cached)
        generate("--checkpoint", self.student, "--prompt", "the cat", "--max-new-tokens", "30", "--no-cache",
                 "--json", recomputed)
        a, b = generated(cached), generated(recomputed)
        self.assertEqual(a["mode"], "cocomix")
        self.assertEqual(a["results"][0]["tokens"], b["results"][0]["tokens"])
        result = a["results"][0]
        self.assertEqual(result["prompt_ids"], list(b"the cat"))
        self.assertIn(result["stop"], ("max_new_tokens", "end_of_text"))
        completion = bytes(t for t in result["tokens"] if t < 256).decode("utf-8", errors="replace")
        self.assertEqual(result["completion"].replace("<|endoftext|>", ""), completion)

    def test_seeded_sampling_repeats_for_every_prompt(self):
        prompts = os.path.join(self.root, "prompts.jsonl")
        with open(prompts, "w") as f:
            f.write(json.dumps({"prompt": "a"}) + "\n\n" + json.dumps({"prompt": "the dog"}) + "\n")
        runs = []
        for name in ("first", "second"):
            out = os.path.join(self.root, f"sampled_{name}.json")
            generate("--checkpoint", self.student, "--prompts", prompts, "--temperature", "1.2", "--top-k", "20",
                     "--top-p", "0.9", "--seed", "7", "--max-new-tokens", "16", "--json", out)
            runs.append(generated(out)["results"])
        self.assertEqual(len(runs[0]), 2)
        self.assertEqual(runs[0], runs[1])

    def test_bad_input_gets_one_line_and_exit_2(self):
        empty = os.path.join(self.root, "empty.jsonl")
        open(empty, "w").close()
        cases = [
            ([], "--prompt, --prompts or --prompt-ids"),
            (["--prompts", empty], "no prompts"),
            (["--prompt", "x", "--temperature", "1", "--top-p", "1.5"], "--top-p"),
            (["--prompt-ids", "1,x"], "--prompt-ids"),
            (["--prompt-ids", ",".join(["1"] * 65)], "n_positions"),
        ]
        for args, message in cases:
            result = generate("--checkpoint", self.student, *args, check=False)
            self.assertEqual(result.returncode, 2, (args, result.stderr))
            lines = result.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertIn(message, lines[0])


if __name__ == "__main__":
    unittest.main()
