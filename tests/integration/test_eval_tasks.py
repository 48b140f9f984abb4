"""cocomix-eval's zero-shot tasks on a small GPT-2-vocabulary model trained here
(cocomix-train on the shared tiktoken tinyshakespeare tokens): every task with
--limit, the JSON shape and counts, the markdown table, --val in the same run,
results independent of the batch size, bf16; and every bad input
(a row that is not JSON, a missing field, a label out of range, an empty file, a
label file of another length, an unknown task, a checkpoint of another
vocabulary): one line naming file:line, non-zero exit."""
import json
import os
import shutil
import unittest

from cocomix_testlib import SHARED_DATA, app, make_corpus, run, temp_dir, train_teacher, write_config

TASKS = ["lambada_openai", "wikitext", "hellaswag", "piqa", "arc_easy", "arc_challenge", "social_iqa", "winogrande"]
LIMIT = 4


def eval_args(checkpoint, *extra):
    return [app("cocomix-eval"), "--checkpoint", checkpoint, "--data-dir", SHARED_DATA, *extra]


class EvalTasksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        tokens = os.path.join(SHARED_DATA, "gpt2_tokenizer_tests")
        cls.train_bin = os.path.join(tokens, "tiktoken_gpt2_tinyshakespeare_train.bin")
        cls.val_bin = os.path.join(tokens, "tiktoken_gpt2_tinyshakespeare_val.bin")
        config = write_config(os.path.join(cls.root, "gpt2.json"), cls.train_bin, cls.val_bin,
                              model={"vocab_size": 50257, "n_positions": 64, "n_embd": 32, "n_layer": 2,
                                     "n_head": 2, "dropout": 0.0},
                              train={"max_steps": 12, "checkpoint_every": 12, "precision": "fp32"})
        cls.model = os.path.join(cls.root, "gpt2_run")
        run([app("cocomix-train"), "--config", config, "--out", cls.model])
        cls.result = cls.evaluate("all", "--tasks", ",".join(TASKS), "--limit", str(LIMIT), "--batch-size", "8",
                                  "--val", cls.val_bin, "--max-windows", "4")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def evaluate(cls, name, *extra, checkpoint=None):
        out = os.path.join(cls.root, name + ".json")
        markdown = os.path.join(cls.root, name + ".md")
        result = run(eval_args(checkpoint or cls.model, "--json", out, "--markdown", markdown, *extra))
        with open(out) as f:
            parsed = json.load(f)
        assert json.loads(result.stdout) == parsed
        with open(markdown) as f:
            parsed["_markdown"] = f.read()
        parsed["_stderr"] = result.stderr
        return parsed

    def test_every_task_reports_its_metrics_and_counts(self):
        tasks = self.result["tasks"]
        self.assertEqual(sorted(tasks), sorted(TASKS))
        expected = {"lambada_openai": ["perplexity", "acc"],
                    "wikitext": ["word_perplexity", "byte_perplexity", "bits_per_byte"],
                    "social_iqa": ["acc"], "winogrande": ["acc"]}
        for name, metrics in tasks.items():
            self.assertEqual(metrics["examples"], LIMIT, name)
            for metric in expected.get(name, ["acc", "acc_norm"]):
                self.assertIn(metric, metrics, name)
                self.assertIn(metric + "_stderr", metrics, name)
                if metric.startswith("acc"):
                    self.assertTrue(0 <= metrics[metric] <= 1, name)
                    self.assertIsNotNone(metrics[metric + "_stderr"], name)
                else:
                    self.assertGreater(metrics[metric], 0, name)
                    self.assertIsNone(metrics[metric + "_stderr"], name)  # the harness bootstraps or has none
        self.assertGreater(tasks["wikitext"]["requests"], LIMIT)  # documents of many 64-token windows
        self.assertEqual(tasks["hellaswag"]["requests"], 4 * LIMIT)
        self.assertGreater(self.result["val_ppl"], 1.0)  # --val in the same run
        self.assertIn("| hellaswag | acc_norm |", self.result["_markdown"])
        self.assertIn("| task | metric | value | stderr | examples |", self.result["_stderr"])

    def test_batch_size_changes_no_number_and_bf16_stays_close(self):
        tasks = ("--tasks", "piqa,wikitext,lambada_openai", "--limit", "2")
        one = self.evaluate("batch1", *tasks, "--batch-size", "1")
        seven = self.evaluate("batch7", *tasks, "--batch-size", "7")
        for name in one["tasks"]:
            for key, value in one["tasks"][name].items():
                if key in ("seconds", "examples_per_second") or value is None:
                    continue
                self.assertAlmostEqual(value, seven["tasks"][name][key], delta=1e-6 * max(1.0, abs(value)),
                                       msg=f"{name} {key}")
        bf16 = self.evaluate("bf16", *tasks, "--precision", "bf16")
        self.assertEqual(bf16["precision"], "bf16")
        fp32 = one["tasks"]["wikitext"]["bits_per_byte"]
        self.assertAlmostEqual(bf16["tasks"]["wikitext"]["bits_per_byte"], fp32, delta=0.05 * fp32)

    # ---- bad input: one line naming FILE:LINE, non-zero exit -------------------------------------------
    def expect_error(self, args, code, *fragments):
        result = run(args, check=False)
        self.assertEqual(result.returncode, code, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertNotIn("Traceback", result.stderr)

    def write(self, name, text):
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def piqa_rows(self, count=3):
        with open(os.path.join(SHARED_DATA, "eval_piqa", "valid.jsonl")) as f:
            return [next(f) for _ in range(count)]

    def piqa(self, data, labels):
        return eval_args(self.model, "--tasks", "piqa", "--task-file", "piqa=" + data, "--labels-file",
                         "piqa=" + labels)

    def test_row_that_is_not_json(self):
        rows = self.piqa_rows()
        rows[1] = '{"goal": "cut", "sol1": \n'
        data = self.write("notjson.jsonl", "".join(rows))
        self.expect_error(self.piqa(data, self.write("l1.lst", "0\n1\n0\n")), 1, data + ":2:", "not valid JSON")

    def test_row_missing_a_field(self):
        rows = self.piqa_rows()
        rows[2] = json.dumps({"goal": "x", "sol1": "y"}) + "\n"
        data = self.write("missing.jsonl", "".join(rows))
        self.expect_error(self.piqa(data, self.write("l2.lst", "0\n1\n0\n")), 1, data + ":3:", '"sol2"')

    def test_label_out_of_range(self):
        data = self.write("ok.jsonl", "".join(self.piqa_rows()))
        labels = self.write("l3.lst", "0\n2\n1\n")
        self.expect_error(self.piqa(data, labels), 1, labels + ":2:", "out of range")
        wino = self.write("wino.jsonl", json.dumps({"qID": "q", "sentence": "A _ b.", "option1": "x", "option2": "y",
                                                    "answer": "3"}) + "\n")
        self.expect_error(eval_args(self.model, "--tasks", "winogrande", "--task-file", "winogrande=" + wino), 1,
                          wino + ":1:", "out of range")
        hella = self.write("hella.txt", "ctx\n4\na\nb\nc\nd\n")
        self.expect_error(eval_args(self.model, "--tasks", "hellaswag", "--task-file", "hellaswag=" + hella), 1,
                          hella + ":2:", "out of range")
        arc = self.write("arc.jsonl", json.dumps({"id": "1", "question": "q?", "choices": {"text": ["a", "b"],
                                                  "label": ["A", "B"]}, "answerKey": "E"}) + "\n")
        self.expect_error(eval_args(self.model, "--tasks", "arc_easy", "--task-file", "arc_easy=" + arc), 1,
                          arc + ":1:", "out of range")

    def test_empty_file(self):
        empty = self.write("empty.jsonl", "")
        self.expect_error(eval_args(self.model, "--tasks", "lambada_openai", "--task-file",
                                    "lambada_openai=" + empty), 1, empty, "empty file")
        data = self.write("ok2.jsonl", "".join(self.piqa_rows()))
        empty_labels = self.write("empty.lst", "")
        self.expect_error(self.piqa(data, empty_labels), 1, empty_labels, "empty file")

    def test_label_file_of_another_length(self):
        data = self.write("ok3.jsonl", "".join(self.piqa_rows()))
        labels = self.write("short.lst", "0\n1\n")
        self.expect_error(self.piqa(data, labels), 1, labels + ":3:", "2 label lines", data, "3 rows")

    def test_unknown_task(self):
        self.expect_error(eval_args(self.model, "--tasks", "piqa,mmlu"), 2, 'unknown task "mmlu"', "winogrande")

    def test_checkpoint_of_another_vocabulary(self):
        train, val = make_corpus(os.path.join(self.root, "bytes"))
        os.makedirs(os.path.join(self.root, "bytes_model"))
        byte_model = train_teacher(os.path.join(self.root, "bytes_model"), train, val)
        self.expect_error(eval_args(byte_model, "--tasks", "piqa"), 1, "config.json", "model.vocab_size 257", "50257")

    def test_missing_data_dir_and_nothing_to_do(self):
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.model, "--tasks", "piqa"], 2, "--data-dir")
        self.expect_error([app("cocomix-eval"), "--checkpoint", self.model], 2, "--val", "--tasks")


if __name__ == "__main__":
    unittest.main()
