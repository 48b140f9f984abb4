"""cocomix-generate end to end: greedy ids on a Hugging Face GPT-2 imported with
cocomix-convert equal transformers' generate on the same directory; text in and
out through the byte tokenizer of a trained CoCoMix checkpoint, the same tokens
with and without the KV cache, seeded sampling that repeats, the JSON output;
--explain's concepts equal the concept head computed in Python from the
checkpoint's tensors; --steer-sae's greedy ids equal a Python teacher with the
SAE edit in its residual stream; student steering that cannot change ẑ leaves
the text as it is and a strong one changes it; bad input gets one line and exit
2 and writes nothing."""
import json
import os
import unittest

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from cocomix_testlib import SHARED_DATA, app, make_corpus, run, temp_dir, train_teacher, write_config, write_sae
from cocomix_tools.model import GPT2, ConceptHead, Sae, sae_decode

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
        cls.teacher = teacher = train_teacher(cls.root, train, val, train={"max_steps": 4, "checkpoint_every": 0})
        cls.sae = sae = write_sae(os.path.join(cls.root, "sae"), d=64, layer=1)
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
        # Decoded together (left-padded) or one at a time: the same tokens.
        alone = os.path.join(self.root, "sampled_alone.json")
        generate("--checkpoint", self.student, "--prompts", prompts, "--temperature", "1.2", "--top-k", "20",
                 "--top-p", "0.9", "--seed", "7", "--max-new-tokens", "16", "--batch-size", "1", "--json", alone)
        self.assertEqual(generated(alone)["results"], runs[0])

    def test_bad_input_gets_one_line_and_exit_2(self):
        empty = os.path.join(self.root, "empty.jsonl")
        open(empty, "w").close()
        cases = [
            ([], "--prompt, --prompts or --prompt-ids"),
            (["--prompts", empty], "no prompts"),
            (["--prompt", "x", "--temperature", "1", "--top-p", "1.5"], "--top-p"),
            (["--prompt-ids", "1,x"], "--prompt-ids"),
            (["--prompt-ids", ",".join(["1"] * 65)], "--prompt-ids: the prompt has 65 tokens, more than the "
                                                     "model's context of 64"),
            (["--prompt", "x", "--steer", "96=2"], "--steer: concept 96 is outside [0, 96)"),
            (["--prompt", "x", "--steer", "3=250"], "--steer: factor 250"),
            (["--prompt", "x", "--steer", "3"], "--steer: \"3\" is not ID=FACTOR"),
            (["--prompt", "x", "--steer", "3=1", "--steer", "3=2"], "--steer: concept 3 is given twice"),
            (["--prompt", "x", "--concepts", empty], "--concepts: needs --explain"),
            (["--prompt", "x", "--explain", "--concepts", empty], empty + ": not JSON"),
            (["--prompt", "x", "--steer-sae", "1=2"], "--steer-sae"),
        ]
        wrong_width = write_sae(os.path.join(self.root, "sae32"), d=32, layer=1)
        teacher_cases = [
            (["--prompt", "x", "--steer", "1=2"], "--steer: "),
            (["--prompt", "x", "--explain"], "--explain: "),
            (["--prompt", "x", "--sae", wrong_width, "--steer-sae", "1=2"],
             f"--sae {wrong_width}/sae.json: SAE width d 32 differs from the teacher's n_embd 64"),
            (["--prompt", "x", "--sae", self.sae, "--steer-sae", "96=2"], "--steer-sae: concept 96 is outside"),
        ]
        out = os.path.join(self.root, "never_written.json")
        for checkpoint, checkpoint_cases in ((self.student, cases), (self.teacher, teacher_cases)):
            for args, message in checkpoint_cases:
                result = generate("--checkpoint", checkpoint, *args, "--json", out, check=False)
                self.assertEqual(result.returncode, 2, (args, result.stderr))
                lines = result.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                self.assertIn(message, lines[0])
                self.assertFalse(os.path.exists(out), args)
                self.assertEqual(result.stdout, "", args)

    def test_explain_gives_the_concept_heads_top_k_at_every_token_read(self):
        out = os.path.join(self.root, "explained.json")
        result = generate("--checkpoint", self.student, "--prompt", "the cat sat", "--max-new-tokens", "12",
                          "--explain", "--json", out)
        self.assertIn("predicted concepts (id:logit)", result.stdout)
        generation = generated(out)["results"][0]
        read = generation["prompt_ids"] + generation["tokens"][:-1]
        rows = generation["concepts"]
        self.assertEqual([row["token_id"] for row in rows], read)
        self.assertEqual([row["position"] for row in rows], list(range(len(read))))
        # The head reads the residual entering block L_s, which no concept vector has reached yet.
        student = GPT2(self.student)
        head = ConceptHead(student)
        with torch.no_grad():
            h = student.hidden_after(torch.tensor([read]), head.insert_layer)[0]
            values, ids = head.logits(h).topk(head.k_pred, dim=-1)
        self.assertEqual([row["ids"] for row in rows], ids.tolist())
        self.assertLess(max(abs(a - b) for row, expected in zip(rows, values.tolist())
                            for a, b in zip(row["values"], expected)), 1e-4)

    def test_explain_labels_concepts_with_the_dashboards_snippets(self):
        dashboard = os.path.join(self.root, "dashboard")
        run([app("cocomix-sae"), "explain", "--sae", self.sae, "--teacher", self.teacher, "--data",
             os.path.join(self.root, "data", "val.bin"), "--max-tokens", "2000", "--threads", "1", "-o", dashboard])
        latents = generated(os.path.join(dashboard, "latents.json"))["latents"]
        out = os.path.join(self.root, "explained_with_snippets.json")
        table = generate("--checkpoint", self.student, "--prompt", "the cat", "--max-new-tokens", "4", "--explain",
                         "--concepts", os.path.join(dashboard, "latents.json"), "--json", out).stdout
        listed = {int(line.split()[0]): line.split(None, 2) for line in table.split("concepts (density, top context):")[1]
                  .strip().splitlines()}
        predicted = {i for row in generated(out)["results"][0]["concepts"] for i in row["ids"]}
        self.assertEqual(set(listed), predicted)
        for i, (_, density, snippet) in listed.items():
            self.assertEqual(density, f"{latents[i]['density']:.4f}")
            if latents[i]["top"]:
                self.assertIn("[" + latents[i]["top"][0]["token"].replace("\n", "\\n") + "]", snippet)

    def test_student_steering(self):
        plain, unchanged, steered = (os.path.join(self.root, f"{name}.json") for name in ("plain", "zero", "steer"))
        # Sampled, so that any change of the next-token distribution shows in the text; 64 draws, as a
        # student trained 6 steps moves its distribution only a little.
        prompt = ["--checkpoint", self.student, "--prompt", "the dog", "--max-new-tokens", "64", "--explain",
                  "--temperature", "1", "--seed", "3"]
        generate(*prompt, "--json", plain)
        rows = generated(plain)["results"][0]["concepts"]
        kept = [i for row in rows for i in row["ids"]]
        never_kept = min(set(range(96)) - set(kept))
        most_kept = max(set(kept), key=kept.count)
        # Factor 0 on a concept TopK never kept adds 0 x its row of W_comp: the same text.
        generate(*prompt, "--steer", f"{never_kept}=0", "--json", unchanged)
        # A strong push on the concept predicted most often changes it.
        generate(*prompt, "--steer", f"{most_kept}=-10", "--steer", f"{never_kept}=10", "--json", steered)
        a, b, c = generated(plain), generated(unchanged), generated(steered)
        self.assertEqual(a["results"][0]["tokens"], b["results"][0]["tokens"])
        self.assertNotEqual(a["results"][0]["tokens"], c["results"][0]["tokens"])
        self.assertEqual(c["steer"], [{"id": most_kept, "factor": -10.0}, {"id": never_kept, "factor": 10.0}])
        # The reported concepts are the prediction before steering: the prompt's rows are unchanged.
        prompt_rows = len(a["results"][0]["prompt_ids"])
        self.assertEqual(a["results"][0]["concepts"][:prompt_rows], c["results"][0]["concepts"][:prompt_rows])

    def test_sae_steering_of_the_teacher_equals_a_python_residual_edit(self):
        out = os.path.join(self.root, "sae_steered.json")
        sae = Sae(self.sae)
        teacher = GPT2(self.teacher)
        prompt = list(b"the cat")
        with torch.no_grad():
            h = teacher.hidden_after(torch.tensor([prompt]), sae.layer)[0]
            z, kept, _, _, _ = sae.encode(h)
        steer = {int(kept[0, 0]): 8.0, int(z.sum(0).argmin()): -3.0}  # one kept latent, one never kept
        self.assertFalse((kept == list(steer)[1]).any())
        generate("--checkpoint", self.teacher, "--prompt-ids", ",".join(map(str, prompt)), "--max-new-tokens", "10",
                 "--sae", self.sae, *[f"--steer-sae={i}={f}" for i, f in steer.items()], "--json", out)
        result = generated(out)

        def edit(h):  # h [T, d]: the rule of model/concept_steering.h, then h + (ĥ' - ĥ)
            z, kept, _, _, sigma = sae.encode(h)
            edge = z.gather(-1, kept).min(-1).values  # the smallest kept value (ReLU'd)
            steered = z.clone()
            for i, factor in steer.items():
                is_kept = (kept == i).any(-1)
                steered[:, i] = torch.where(is_kept, z[:, i] * factor, edge * factor)
            return h + (sae_decode(steered, sae.t) - sae_decode(z, sae.t)) * sigma

        tokens = list(prompt)
        with torch.no_grad():
            for _ in range(10):
                h = teacher.hidden_after(torch.tensor([tokens]), sae.layer)
                h = edit(h[0]).unsqueeze(0)
                for i in range(sae.layer, teacher.sizes["n_layer"]):
                    h = teacher.block(h, i)
                logits = teacher._ln(h, "transformer.ln_f") @ teacher.t("transformer.wte.weight").T
                tokens.append(int(logits[0, -1].argmax()))
                if tokens[-1] == 256:
                    break
        self.assertEqual(result["results"][0]["tokens"], tokens[len(prompt):])
        self.assertEqual(result["steer_sae"]["latents"], [{"id": i, "factor": f} for i, f in steer.items()])
        plain = generate("--checkpoint", self.teacher, "--prompt-ids", ",".join(map(str, prompt)),
                         "--max-new-tokens", "10").stdout
        self.assertNotEqual(plain.strip(), json.dumps(tokens[len(prompt):]).replace(" ", ""))


if __name__ == "__main__":
    unittest.main()
