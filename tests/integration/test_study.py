"""cocomix_tools.study: the report of study directories made of hand-written runs (mean ± sd over seeds, the paired
difference from NTP, the token saving, each setting's teacher and SAE scores)."""
import json
import os
import shutil
import subprocess
import unittest

from cocomix_testlib import SOURCE_DIR, temp_dir

from cocomix_tools import study

# V 100, T 8, d 16, 2 blocks, L_s 1, C 32; teacher d_t 8, 2 blocks, SAE after block 1.
MODEL = {"vocab_size": 100, "n_positions": 8, "n_embd": 16, "n_layer": 2, "n_head": 2}
TEACHER_MODEL = {"vocab_size": 100, "n_positions": 8, "n_embd": 8, "n_layer": 2, "n_head": 2}


def write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(value if isinstance(value, str) else json.dumps(value))


def write_teacher_and_sae(teacher_dir, sae_dir):
    """The teacher's config.json and the SAE's sae.json that the FLOP counts read (C 32 after block 1)."""
    write(os.path.join(teacher_dir, "config.json"), {"model": TEACHER_MODEL})
    write(os.path.join(sae_dir, "sae.json"), {"layer": 1, "n_latents": 32})


def write_scored_corpus(root, teacher_loss, sae_score, train_tokens, val_tokens, shared=None):
    """A run directory's corpus manifest and its teacher's and SAE's scores on that corpus: in teacher/ and sae/,
    or, when it uses the teacher and SAE of `shared` (linked), beside them as --teacher-from writes them."""
    write(os.path.join(root, "data", "manifest.json"),
          {"splits": {"train": {"tokens": train_tokens}, "val": {"tokens": val_tokens}}})
    if shared is None:
        write(os.path.join(root, "teacher", "eval.json"), {"val_loss": teacher_loss})
        write(os.path.join(root, "sae", "eval.json"), sae_score)
        return
    for stage in ("teacher", "sae"):
        os.symlink(os.path.join(shared, stage), os.path.join(root, stage))
    write(os.path.join(root, "teacher_eval.json"), {"val_loss": teacher_loss})
    write(os.path.join(root, "sae_eval.json"), sae_score)


def write_student(work, root, mode, loss, curve):
    """A finished student of 20 steps of 16 x 8 tokens under WORK/root: its config, evaluation and a two-point
    curve (steps 10 and 20); a CoCoMix student names the teacher WORK/t and SAE WORK/s."""
    concept = {"mode": mode, "insert_layer": 1, "n_concepts": 32, "weight": 0.1,
               "teacher_path": os.path.join(work, "t"), "sae_path": os.path.join(work, "s")} \
        if mode == "cocomix" else {"mode": "ntp"}
    write(os.path.join(work, root, f"student_{mode}.json"),
          {"model": MODEL, "data": {"seq_len": 8}, "train": {"max_steps": 20, "batch_size": 16}, "concept": concept})
    run = os.path.join(work, root, f"student_{mode}")
    write(os.path.join(run, "eval.json"), {"val_loss": loss})
    write(os.path.join(run, "wall_seconds"), "10.0\n")
    write(os.path.join(run, "metrics.jsonl"),
          "".join(json.dumps(r) + "\n" for r in (
              {"step": 10, "loss": 5.0, "tokens": 1280}, {"step": 10, "val_loss": curve[0]},
              {"step": 20, "loss": 4.0, "tokens": 2560}, {"step": 20, "val_loss": curve[1]})))


class StudyReportTest(unittest.TestCase):
    """Study directories written by hand: CoCoMix and NTP students, their curves and evaluations."""

    def setUp(self):
        self.work = temp_dir()
        # label_flops reads the teacher and SAE the cocomix configs name.
        write_teacher_and_sae(os.path.join(self.work, "t"), os.path.join(self.work, "s"))

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def report(self):
        work = study.Path(self.work)
        study.report(work, study.collect(work))
        with open(os.path.join(self.work, "report.md")) as f:
            return f.read()

    def test_main_comparison_over_two_seeds(self):
        work = self.work
        write_scored_corpus(os.path.join(work, "base"), 3.0, {"fvu": 0.1, "dead_fraction": 0.02}, 1000, 100)
        losses = {(1, "cocomix"): 4.0, (1, "ntp"): 4.5, (2, "cocomix"): 4.2, (2, "ntp"): 4.3}
        # NTP ends at its last point, CoCoMix passes it halfway.
        curves = {"cocomix": [5.0, 3.9], "ntp": [5.0, 4.4]}
        for (seed, mode), loss in losses.items():
            write_student(work, "base" if seed == 1 else f"seed{seed}", mode, loss, curves[mode])
        text = self.report()
        # Losses 4.0, 4.2: mean 4.1, sd 0.1414; paired differences -0.5, -0.1: mean -0.3, sd 0.2828.
        self.assertIn("| cocomix | 16 | 2,560 |", text)
        self.assertIn("4.1000 ± 0.1414 (n=2)", text)
        self.assertIn("-0.3000 ± 0.2828 (n=2)", text)
        self.assertIn("4.4000 ± 0.1414 (n=2)", text)  # NTP: 4.5, 4.3
        # CoCoMix reaches NTP's last loss 4.4 at 1280 + 1280 · (5.0 - 4.4) / (5.0 - 3.9) tokens.
        saving = 1 - (1280 + 1280 * 0.6 / 1.1) / 2560
        self.assertIn(f"{100 * saving:.0f}%, {100 * saving:.0f}%", text)
        self.assertIn("## λ 0.1\n\nCorpus: 1,000 training and 100 validation tokens (GPT-2 BPE). Teacher validation "
                      "loss 3.0000, 1.400 nats below the matched NTP students. SAE: FVU 0.1000, dead latents 0.020.",
                      text)
        # 75,648 and 49,536 FLOPs per token (StudyFlopsTest), the labels 12,992.
        self.assertIn("Training FLOPs per token: CoCoMix 0.1M, matched NTP 0.0M; concept labels with the teacher "
                      "in the loop 0.0M more", text)
        # Equal FLOPs: NTP's 2560 tokens x 49,536 FLOPs are CoCoMix's 2560 x 49,536 / 75,648 tokens, where its
        # curve is 5.0 - 1.1 x (t - 1280) / 1280; minus NTP's last point 4.4. With the labels' 12,992 FLOPs
        # per token counted, 2560 x 49,536 / 88,640 tokens.
        for flops in (75_648, 75_648 + 12_992):
            tokens = 2560 * 49_536 / flops
            gap = 5.0 - 1.1 * (tokens - 1280) / 1280 - 4.4
            self.assertIn(f"{gap:+.4f} ± 0.0000 (n=2)", text)
        # Both seeds' curves are CoCoMix (5.0, 3.9) and NTP (5.0, 4.4).
        self.assertIn("CoCoMix − NTP on the periodic curves, paired by seed (n=2): +0.000 ± 0.000 at 1,280, "
                      "-0.500 ± 0.000 at 2,560 tokens.", text)
        self.assertTrue(os.path.getsize(os.path.join(work, "val_loss.png")) > 1000)

    def test_distribution_shift_alone_scores_the_teacher_on_the_students_corpus(self):
        """A study of only the shift stage: no base/, and the teacher and SAE (symlinked from books/) scored on the
        web text in shift_seed1/teacher_eval.json and sae_eval.json, not their own corpus's eval.json."""
        work = self.work
        write(os.path.join(work, "books", "teacher", "eval.json"), {"val_loss": 2.0})
        write(os.path.join(work, "books", "sae", "eval.json"), {"fvu": 0.01, "dead_fraction": 0.0})
        books, web_score = os.path.join(work, "books"), {"fvu": 0.3, "dead_fraction": 0.125}
        # A teacher worse than the students.
        write_scored_corpus(os.path.join(work, "shift_seed1"), 5.25, web_score, 500, 50, shared=books)
        write_student(work, "shift_seed1", "cocomix", 4.6, [5.0, 4.5])
        write_student(work, "shift_seed1", "ntp", 4.75, [5.0, 4.7])
        text = self.report()
        self.assertNotIn("## λ 0.1", text)
        self.assertIn("## distribution shift: teacher on the books, students on the web text\n\nCorpus: 500 training "
                      "and 50 validation tokens (GPT-2 BPE). Teacher validation loss 5.2500, 0.500 nats above the "
                      "matched NTP students. SAE: FVU 0.3000, dead latents 0.125.", text)
        self.assertIn("-0.1500 (n=1)", text)
        self.assertTrue(os.path.getsize(os.path.join(work, "val_loss.png")) > 1000)

        def beside_shift(root, mode, loss, curve, heading):
            """A student of another run directory on the web text (the teacher scored in it); the report and
            its section under `heading`."""
            write_scored_corpus(os.path.join(work, root), 5.25, web_score, 500, 50, shared=books)
            write_student(work, root, mode, loss, curve)
            report = self.report()
            return report, report[report.index(f"## {heading}"):]

        # Its ablations, beside its CoCoMix and NTP students, the teacher scored in their own directory.
        text, section = beside_shift("shift_ablation_seed1", "insertion_only", 4.875, [5.0, 4.8],
                                     "ablations at λ 1.0, distribution shift")
        self.assertIn("| cocomix | 16 | 2,560 | 0 | 4.6000 (n=1) | -0.1500 (n=1) |", section)
        self.assertIn("| insertion_only | 16 | 2,560 | 0 | 4.8750 (n=1) | +0.1250 (n=1) |", section)
        self.assertIn("Teacher validation loss 5.2500, 0.500 nats above the matched NTP students", section)
        self.assertNotIn("## ablations at λ 1.0\n", text)

        # CoCoMix inserting later, beside the same CoCoMix and NTP students, named by its insertion layer.
        _, section = beside_shift("shift_late_seed1", "cocomix", 4.5, [5.0, 4.4],
                                  "CoCoMix inserting before the last block, distribution shift")
        self.assertIn("| cocomix | 16 | 2,560 | 0 | 4.6000 (n=1) | -0.1500 (n=1) |", section)
        self.assertIn("| cocomix, L_s 1 | 16 | 2,560 | 0 | 4.5000 (n=1) | -0.2500 (n=1) |", section)
        self.assertIn("| ntp | 16 | 2,560 | 0 | 4.7500 (n=1) | 0 |", section)

    def test_ablations_and_late_insertion_beside_cocomix_and_ntp_of_the_same_seed(self):
        """ablation_seedN's students, and late_seedN's CoCoMix, each in one table with CoCoMix at λ 1.0
        (lambda1_seedN) and NTP (base/)."""
        work = self.work
        write_scored_corpus(os.path.join(work, "base"), 3.0, {"fvu": 0.1, "dead_fraction": 0.02}, 1000, 100)
        write_student(work, "base", "ntp", 4.5, [5.0, 4.4])
        write_student(work, "lambda1_seed1", "cocomix", 4.25, [5.0, 4.2])
        write_student(work, "ablation_seed1", "intervention", 4.375, [5.0, 4.3])
        text = self.report()
        ablations = text[text.index("## ablations at λ 1.0"):]
        self.assertIn("| cocomix | 16 | 2,560 | 0 | 4.2500 (n=1) | -0.2500 (n=1) |", ablations)
        self.assertIn("| ntp | 16 | 2,560 | 0 | 4.5000 (n=1) | 0 |", ablations)
        self.assertIn("| intervention | 16 | 2,560 | 0 | 4.3750 (n=1) | -0.1250 (n=1) |", ablations)
        self.assertIn("Teacher validation loss 3.0000, 1.500 nats below the matched NTP students", ablations)
        write_student(work, "late_seed1", "cocomix", 4.125, [5.0, 4.1])
        text = self.report()
        late = text[text.index("## CoCoMix inserting before the last block, λ 1.0"):]
        self.assertIn("| cocomix | 16 | 2,560 | 0 | 4.2500 (n=1) | -0.2500 (n=1) |", late)
        self.assertIn("| cocomix, L_s 1 | 16 | 2,560 | 0 | 4.1250 (n=1) | -0.3750 (n=1) |", late)
        self.assertIn("| ntp | 16 | 2,560 | 0 | 4.5000 (n=1) | 0 |", late)
        self.assertIn("Teacher validation loss 3.0000, 1.500 nats below the matched NTP students", late)

    def test_longer_students_follow_the_gap_along_the_curves(self):
        """long_seedN's CoCoMix and NTP students in a setting of their own, scored on base/'s corpus, with
        CoCoMix's gap to NTP at each point of the curves, paired by seed."""
        work = self.work
        write_scored_corpus(os.path.join(work, "base"), 3.0, {"fvu": 0.1, "dead_fraction": 0.02}, 1000, 100)
        for root in ("long_seed1", "long_seed2"):
            os.makedirs(os.path.join(work, root))
            os.symlink(os.path.join(work, "base", "data"), os.path.join(work, root, "data"))
        # Gaps: seed 1 +0.25, -0.25; seed 2 +0.75, -0.5.
        write_student(work, "long_seed1", "cocomix", 4.0, [5.25, 4.0])
        write_student(work, "long_seed1", "ntp", 4.25, [5.0, 4.25])
        write_student(work, "long_seed2", "cocomix", 4.125, [5.75, 4.0])
        write_student(work, "long_seed2", "ntp", 4.5, [5.0, 4.5])
        text = self.report()
        self.assertNotIn("## λ 0.1", text)
        section = text[text.index("## λ 1.0, twice the tokens"):]
        self.assertIn("Teacher validation loss 3.0000, 1.375 nats below the matched NTP students", section)
        # Paired differences -0.25 and -0.375: mean -0.3125, sd 0.125 / sqrt(2).
        self.assertIn(f"| cocomix | 16 | 2,560 | 0 | 4.0625 ± 0.0884 (n=2) | -0.3125 ± {0.125 / 2 ** 0.5:.4f} (n=2) |",
                      section)
        # At 1,280 tokens +0.25 and +0.75 (mean 0.5, sd 0.3536); at 2,560 -0.25 and -0.5 (mean -0.375, sd 0.1768).
        self.assertIn("CoCoMix − NTP on the periodic curves, paired by seed (n=2): +0.500 ± 0.354 at 1,280, "
                      "-0.375 ± 0.177 at 2,560 tokens.", section)
        # Its curves alone; a prefix of no setting, or of one without students, is one line.
        png = os.path.join(work, "long.png")
        study.main([work, "--panel", "long", png])
        self.assertTrue(os.path.getsize(png) > 1000)
        for prefix, message in (("lng", "--panel: unknown prefix 'lng' (choose from shift, weak, ablation, "
                                        "shift_ablation, late, shift_late, long)"),
                                ("weak", f"--panel weak: no finished student in {os.path.realpath(work)}/weak_seedN")):
            with self.assertRaises(SystemExit) as stop:
                study.main([work, "--panel", prefix, png])
            self.assertEqual(str(stop.exception), "error: study: " + message)

    def test_an_empty_study_is_one_line(self):
        with self.assertRaises(SystemExit) as stop:
            study.main([self.work])
        self.assertEqual(str(stop.exception), f"error: study: {os.path.realpath(self.work)}: no finished student "
                                              "(run scripts/study_text.sh first)")


class StudyScriptTest(unittest.TestCase):
    def test_bad_options(self):
        """scripts/study_text.sh refuses an unknown stage or seed with one line and exit 2, before any run."""
        for options, message in ((["--stage", "bogus"], 'error: --stage: unknown stage "bogus"'),
                                 (["--seeds", "1,4"], 'error: --seeds: "4" is not a study seed (1, 2 or 3)')):
            work = temp_dir()
            try:
                result = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "study_text.sh"), "--work",
                                         os.path.join(work, "study"), *options], capture_output=True, text=True)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stderr.strip(), message)
                self.assertFalse(os.path.exists(os.path.join(work, "study")))
            finally:
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
