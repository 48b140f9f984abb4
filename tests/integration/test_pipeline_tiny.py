"""scripts/pipeline_tiny.sh end to end at toy sizes: synthetic corpus, teacher, SAE,
label cache, CoCoMix and the NTP/KD/pause/hidden-state baselines and the paper's
ablations, evaluation, summary.json,
summary.md and the PNG. Checks the parameter matching against the GPT-2 and
concept-head parameter counts worked out by hand, the summary's fields, the
token saving against its curves, the generated samples, and that
a second call reuses every finished stage and reproduces the same summary."""
import json
import math
import os
import shutil
import subprocess
import sys
import unittest

from cocomix_testlib import SOURCE_DIR, temp_dir

VOCAB, SEQ, LAYERS, HEADS, WIDTH, LATENTS, TEACHER_WIDTH = 257, 64, 2, 2, 32, 128, 64
STEPS, BATCH = 6, 4
OPTIONS = ["--documents", "120", "--seq-len", str(SEQ), "--batch", str(BATCH), "--teacher-width", str(TEACHER_WIDTH),
           "--teacher-layers", "2", "--teacher-steps", "10", "--sae-layer", "1", "--latents", str(LATENTS),
           "--sae-k", "8", "--sae-steps", "10", "--student-width", str(WIDTH), "--student-layers", str(LAYERS),
           "--student-heads", str(HEADS), "--student-steps", str(STEPS), "--insert-layer", "1", "--k-pred", "8",
           "--eval-points", "2", "--threads", "2", "--no-alignment", "--samples", "2",
           "--modes", "cocomix,ntp,kd,pause,hidden_prediction"]


def without(options, *flags):
    """`options` without each of `flags` and the value after it."""
    out, skip = [], False
    for option in options:
        if skip:
            skip = False
        elif option in flags:
            skip = True
        else:
            out.append(option)
    return out


def gpt_params(d):
    """wte + wpe, per block ln_1, c_attn, c_proj, ln_2, c_fc, mlp.c_proj (with biases), ln_f."""
    block = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d)
    return (VOCAB + SEQ) * d + LAYERS * block + 2 * d


def concept_head_params(d, c):
    """pre_bias [d], predictor [d, C] + [C], compressor [C, d] + [d]."""
    return d + d * c + c + c * d + d


def hidden_predictor_params(d, d_t):
    """The 2-layer MLP d -> 4d -> d_t (with biases) and the compressor [d_t, d] + [d]."""
    return (d * 4 * d + 4 * d) + (4 * d * d_t + d_t) + (d_t * d + d)


def read_json(path):
    with open(path) as f:
        return json.load(f)


class PipelineTinyTest(unittest.TestCase):
    def run_pipeline(self, work, options=OPTIONS):
        result = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "pipeline_tiny.sh"), "--work", work]
                                + options, capture_output=True, text=True, timeout=1200)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-10000:] + result.stderr[-10000:])
        self.assertEqual(result.returncode, 0)
        return result.stdout

    def test_pipeline(self):
        work = temp_dir()
        try:
            out = self.run_pipeline(work)
            summary = read_json(os.path.join(work, "summary.json"))
            students = summary["students"]
            self.assertEqual([r["mode"] for r in students], ["cocomix", "ntp", "kd", "pause", "hidden_prediction"])
            by_mode = {r["mode"]: r for r in students}
            for r in students:
                self.assertEqual(set(r), {"run", "mode", "params", "tokens", "val_loss", "val_ppl", "wall_seconds",
                                          "curve", "samples"})
                self.assertEqual(r["tokens"], STEPS * BATCH * SEQ)
                self.assertAlmostEqual(r["val_ppl"], math.exp(r["val_loss"]), delta=1e-9 * r["val_ppl"])
                self.assertTrue(0 < r["val_loss"] < math.log(VOCAB) + 1, r)
                # The curve: the trainer's periodic validation at steps 3 and 6 (eval every STEPS / 2).
                self.assertEqual([t for t, _ in r["curve"]], [3 * BATCH * SEQ, 6 * BATCH * SEQ])
                self.assertEqual(len(r["samples"]), 2)
                self.assertTrue(r["samples"][0].startswith("The ") and r["samples"][1].startswith("Yesterday "))
            # The token saving, worked out here from the two curves the summary holds.
            (t1, c1), (t2, c2) = by_mode["cocomix"]["curve"]
            target = by_mode["ntp"]["curve"][-1][1]
            expected = (None if c2 > target else 1 - t1 / t2 if c1 <= target
                        else 1 - (t1 + (t2 - t1) * (c1 - target) / (c1 - c2)) / t2)
            if expected is None:
                self.assertIsNone(summary["token_saving"])
            else:
                self.assertAlmostEqual(summary["token_saving"], expected, places=12)

            cocomix = gpt_params(WIDTH) + concept_head_params(WIDTH, LATENTS)
            self.assertEqual(by_mode["cocomix"]["params"], cocomix)
            # The matched width: a multiple of the head count, no other one closer to CoCoMix's count.
            widths = range(HEADS, 8 * WIDTH, HEADS)
            best = min(widths, key=lambda d: abs(gpt_params(d) - cocomix))
            self.assertEqual(by_mode["ntp"]["params"], gpt_params(best))
            self.assertEqual(by_mode["kd"]["params"], gpt_params(best))
            self.assertEqual(by_mode["pause"]["params"], gpt_params(best) + best)  # + the pause vector
            # Like CoCoMix, the hidden-state baseline keeps the student's width.
            self.assertEqual(by_mode["hidden_prediction"]["params"],
                             gpt_params(WIDTH) + hidden_predictor_params(WIDTH, TEACHER_WIDTH))

            with open(os.path.join(work, "val_loss.png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            with open(os.path.join(work, "summary.md")) as f:
                table = f.read()
            self.assertIn("margin over the NTP student", table)
            self.assertIn("validation fvu", table)
            self.assertIn("Token saving", table)
            self.assertIn(f"- cocomix: {json.dumps(by_mode['cocomix']['samples'][0], ensure_ascii=False)}", table)
            self.assertIn(table.strip().splitlines()[-1], out)

            # The quickstart's closing report prints these figures, after checking them.
            report = subprocess.run([sys.executable, "-m", "cocomix_tools.quickstart", work, "75"],
                                    capture_output=True, text=True, check=True,
                                    env={**os.environ, "PYTHONPATH": os.path.join(SOURCE_DIR, "python")}).stdout
            self.assertIn(f"quickstart done in 1 min 15 s: both students saw the same {STEPS * BATCH * SEQ:,} tokens",
                          report)
            for mode, name in (("cocomix", "CoCoMix"), ("ntp", "NTP")):
                r = by_mode[mode]
                self.assertIn(f"validation loss {r['val_loss']:.4f}  perplexity {r['val_ppl']:.3f}", report)
                self.assertIn(f"  {name} writes: {json.dumps(r['samples'][0], ensure_ascii=False)}", report)
            self.assertIn(f"CoCoMix − NTP: {by_mode['cocomix']['val_loss'] - by_mode['ntp']['val_loss']:+.4f}", report)
            # A summary whose figures disagree is refused, not printed.
            broken = os.path.join(work, "broken")
            os.makedirs(broken)
            bad = json.loads(json.dumps(summary))
            bad["students"][1]["tokens"] += 1
            with open(os.path.join(broken, "summary.json"), "w") as f:
                json.dump(bad, f)
            refused = subprocess.run([sys.executable, "-m", "cocomix_tools.quickstart", broken, "1"],
                                     capture_output=True, text=True,
                                     env={**os.environ, "PYTHONPATH": os.path.join(SOURCE_DIR, "python")})
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("the students saw", refused.stderr)

            # A second call reuses every stage (no training: the checkpoints keep their time) and agrees.
            teacher_ckpt = os.path.join(work, "teacher", "checkpoints")
            before = {d: os.stat(os.path.join(teacher_ckpt, d)).st_mtime_ns for d in os.listdir(teacher_ckpt)}
            self.run_pipeline(work)
            after = {d: os.stat(os.path.join(teacher_ckpt, d)).st_mtime_ns for d in os.listdir(teacher_ckpt)}
            self.assertEqual(before, after)
            self.assertEqual(read_json(os.path.join(work, "summary.json")), summary)

            # --teacher-from: another corpus (other documents) with this teacher and SAE, scored on it.
            shifted = os.path.join(work, "shifted")
            teacher_eval = read_json(os.path.join(work, "teacher", "eval.json"))
            self.run_pipeline(shifted, without(OPTIONS, "--documents", "--modes")
                              + ["--teacher-from", work, "--documents", "90", "--seed", "2", "--modes", "cocomix,ntp"])
            self.assertEqual(os.readlink(os.path.join(shifted, "teacher")), os.path.join(work, "teacher"))
            self.assertEqual(os.readlink(os.path.join(shifted, "sae")), os.path.join(work, "sae"))
            self.assertFalse(os.path.islink(os.path.join(shifted, "data")))
            self.assertEqual(read_json(os.path.join(shifted, "data", "manifest.json"))["documents"], 90)
            shifted_eval = read_json(os.path.join(shifted, "teacher_eval.json"))
            self.assertEqual(os.path.realpath(shifted_eval["val_file"]), os.path.realpath(os.path.join(shifted, "data")))
            self.assertNotEqual(shifted_eval["val_loss"], teacher_eval["val_loss"])
            self.assertEqual(read_json(os.path.join(work, "teacher", "eval.json")), teacher_eval)  # not rewritten
            self.assertIn("fvu", read_json(os.path.join(shifted, "sae_eval.json")))
            self.assertEqual([r["mode"] for r in read_json(os.path.join(shifted, "summary.json"))["students"]],
                             ["cocomix", "ntp"])

            # The paper's ablations (--reuse: the same corpus, teacher, SAE and label cache), each at CoCoMix's
            # width with CoCoMix's concept head.
            ablations = os.path.join(work, "ablations")
            modes = ["cocomix_activation", "intervention", "concept_loss_only", "insertion_only"]
            self.run_pipeline(ablations, without(OPTIONS, "--modes", "--samples")
                              + ["--reuse", work, "--modes", ",".join(modes)])
            students = read_json(os.path.join(ablations, "summary.json"))["students"]
            self.assertEqual([r["mode"] for r in students], modes)
            for r in students:
                self.assertEqual(r["params"], cocomix, r["mode"])
                self.assertTrue(0 < r["val_loss"] < math.log(VOCAB) + 1, r)
            concept = {m: read_json(os.path.join(ablations, f"student_{m}.json"))["concept"] for m in modes}
            labels = os.path.join(ablations, "labels", "train.labels")
            self.assertEqual((concept["cocomix_activation"]["mode"], concept["cocomix_activation"]["selection"]),
                             ("cocomix", "activation"))
            self.assertNotIn("label_cache", concept["cocomix_activation"])  # the cache holds attribution labels
            for m in ("intervention", "concept_loss_only"):
                self.assertEqual((concept[m]["mode"], concept[m]["label_cache"]), (m, labels))
            self.assertEqual(concept["insertion_only"]["mode"], "insertion_only")
            for field in ("teacher_path", "sae_path", "label_cache"):
                self.assertNotIn(field, concept["insertion_only"])
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_trained_steps(self):
        """A run stopped by a signal keeps a complete checkpoint short of max_steps: the pipeline resumes it
        instead of taking it for finished (trained_steps reads the newest complete checkpoint's step)."""
        from cocomix_tools.checkpoint import trained_steps
        run = temp_dir()
        try:
            self.assertEqual(trained_steps(os.path.join(run, "missing")), 0)
            for step, complete in ((3, True), (5, False)):  # step 5 was being written when the run stopped
                checkpoint = os.path.join(run, "checkpoints", f"step_{step:08d}")
                os.makedirs(checkpoint)
                for name, text in (("model.safetensors", ""), ("trainer_state.json", json.dumps({"step": step}))):
                    with open(os.path.join(checkpoint, name), "w") as f:
                        f.write(text)
                if complete:  # the older form of COMPLETE, which records no digests to check
                    with open(os.path.join(checkpoint, "COMPLETE"), "w") as f:
                        f.write(f"step {step}\n")
            self.assertEqual(trained_steps(run), 3)
        finally:
            shutil.rmtree(run, ignore_errors=True)

    def test_stopped_trainer_is_not_evaluated(self):
        """A trainer stopped by a signal saves a checkpoint and exits 0; the pipeline stops with one line
        saying how far it got instead of evaluating the short run as the finished one."""
        from cocomix_tools.pipeline import Pipeline, parse_args
        work = temp_dir()
        try:
            bin_dir = os.path.join(work, "bin")
            os.makedirs(bin_dir)
            fake = os.path.join(bin_dir, "cocomix-train")  # stands for a trainer stopped after step 2
            with open(fake, "w") as f:
                f.write('#!/bin/sh\nwhile [ "$1" != --out ]; do shift; done\n'
                        'mkdir -p "$2/checkpoints/step_00000002" && cd "$2/checkpoints/step_00000002" && '
                        ': > model.safetensors && echo \'{"step": 2}\' > trainer_state.json && '
                        'echo "step 2" > COMPLETE\n')
            os.chmod(fake, 0o755)
            pipeline = Pipeline(parse_args(["--work", work, "--bin", bin_dir, "--data-dir", work]))
            with self.assertRaises(SystemExit) as stop:
                pipeline.train(os.path.join(work, "run.json"), 6, os.path.join(work, "run"), "student_ntp")
            self.assertEqual(str(stop.exception), "error: pipeline_tiny: student_ntp stopped at step 2 of 6 "
                                                  "(a signal?); the same command resumes it")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_bad_options(self):
        for options, message in ((["--modes", "cocomix,bogus"], "--modes: unknown mode 'bogus'"),
                                 (["--reuse", "a", "--teacher-from", "b"], "--reuse and --teacher-from: give one"),
                                 (["--insert-layer", "4", "--student-layers", "4"], "--insert-layer 4")):
            result = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "pipeline_tiny.sh"), "--work",
                                     os.path.join(temp_dir(), "w")] + options, capture_output=True, text=True)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(message, result.stderr)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)


if __name__ == "__main__":
    unittest.main()
