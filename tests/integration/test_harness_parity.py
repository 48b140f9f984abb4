"""scripts/harness_parity.sh end to end with a small --limit: a GPT-2-vocabulary
model trained here on real text, exported with cocomix-convert, scored by
lm-evaluation-harness's HFLM (offline, local task files) and by cocomix-eval on
the same documents of all seven tasks; every metric must agree (accuracies
identical, perplexities within 1e-4 relative). Also checks that the comparison
itself reports a changed accuracy or a perplexity off by more than 1e-4."""
import os
import shutil
import subprocess
import sys
import unittest

from cocomix_testlib import SOURCE_DIR, app, temp_dir
from cocomix_tools import harness

LIMIT = 6


class HarnessParityTest(unittest.TestCase):
    def test_compare_flags_mismatches(self):
        expected = {"piqa": {"acc": 0.5, "acc_stderr": 0.2}, "lambada_openai": {"perplexity": 100.0, "acc": 0.25}}
        same = {"piqa": {"acc": 0.5, "acc_stderr": 0.2}, "lambada_openai": {"perplexity": 100.0 * (1 + 5e-5),
                                                                            "acc": 0.25}}
        self.assertTrue(harness.compare(expected, same)[1])
        for task, metric, value in (("piqa", "acc", 0.75), ("lambada_openai", "perplexity", 100.02),
                                    ("lambada_openai", "acc", None)):
            changed = {t: dict(m) for t, m in same.items()}
            if value is None:
                del changed[task][metric]
            else:
                changed[task][metric] = value
            self.assertFalse(harness.compare(expected, changed)[1], (task, metric, value))

    def test_wikitext_documents(self):
        pages = harness.wikitext_pages(os.path.join(harness_parity_data(), "eval_wikitext2", "wiki.test.raw"))
        self.assertEqual(len(pages), 62)  # EleutherAI/wikitext_document_level wikitext-2-raw-v1 test has 62 rows
        self.assertTrue(pages[0]["page"].startswith(" = Robert Boulter = \n"))

    @unittest.skipUnless("--tasks" in subprocess.run([app("cocomix-eval"), "--help"], capture_output=True,
                                                     text=True).stdout,
                         "this cocomix-eval has no zero-shot tasks yet (--tasks)")
    def test_script_agrees_on_every_task(self):
        work = temp_dir()
        try:
            env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
            markdown = os.path.join(work, "table.md")
            result = subprocess.run(
                ["bash", os.path.join(SOURCE_DIR, "scripts", "harness_parity.sh"), "--work", work, "--limit",
                 str(LIMIT), "--steps", "20", "--markdown", markdown],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=1800)
            if result.returncode != 0:
                sys.stderr.write(result.stdout[-20000:] + result.stderr[-20000:])
            self.assertEqual(result.returncode, 0)
            self.assertIn("harness parity: every metric agrees", result.stdout)
            table = open(markdown).read()
            for task in harness.ALL_TASKS:
                self.assertIn(f"| {task} | acc |" if task != "wikitext" else "| wikitext | word_perplexity |", table)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def harness_parity_data():
    return os.environ.get("COCOMIX_SHARED_DATA", os.path.join(SOURCE_DIR, "..", "shared", "data"))


if __name__ == "__main__":
    unittest.main()
