"""cocomix_tools.flops: the training-FLOP counts the study's equal-compute comparisons and the paper-scale
break-even table rest on, against values worked out by hand from the module's documented rule."""
import json
import os
import shutil
import unittest

from cocomix_testlib import temp_dir

from cocomix_tools import flops

# V 100, T 8, d 16, 2 blocks, L_s 1, C 32; teacher d_t 8, 2 blocks, SAE after block 1.
MODEL = {"vocab_size": 100, "n_positions": 8, "n_embd": 16, "n_layer": 2, "n_head": 2}
TEACHER_MODEL = {"vocab_size": 100, "n_positions": 8, "n_embd": 8, "n_layer": 2, "n_head": 2}


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f)


class FlopsTest(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        write_json(os.path.join(self.dir, "teacher", "config.json"), {"model": TEACHER_MODEL})
        write_json(os.path.join(self.dir, "sae", "sae.json"), {"layer": 1, "n_latents": 32})

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, mode, **concept):
        section = {"mode": mode, "insert_layer": 1, "n_concepts": 32, "teacher_path": os.path.join(self.dir, "teacher"),
                   "sae_path": os.path.join(self.dir, "sae"), **concept}
        return {"model": MODEL, "data": {"seq_len": 8}, "concept": section}

    def test_student_flops_by_hand(self):
        head = 6 * 100 * 16                          # 9,600
        block = 72 * 16 * 16 + 12 * 16 * 8           # 18,432 + 1,536 = 19,968 per token, sequence T
        upper = 2 * (72 * 16 * 16 + 12 * 16 * 16)    # two positions per token of a 2T sequence: 43,008
        self.assertEqual(flops.student_flops({"model": MODEL, "data": {"seq_len": 8}}), 49_536)
        self.assertEqual(head + 2 * block, 49_536)
        self.assertEqual(flops.student_flops(self.config("cocomix")), head + block + upper + 6 * 16 * 32)  # 75,648
        self.assertEqual(flops.student_flops(self.config("pause")), head + block + upper)
        # KD: the teacher's forward, 2·V·d_t + per block 24 d_t² + 4 d_t T = 1,600 + 2·(1,536 + 256).
        self.assertEqual(flops.student_flops(self.config("kd")), head + 2 * block + 5_184)
        # The ablations: intervention adds c to h (every block on T positions), concept_loss_only inserts
        # nothing, insertion_only interleaves; each has the concept predictor, 6·16·32 = 3,072.
        self.assertEqual(flops.student_flops(self.config("intervention")), head + 2 * block + 3_072)
        self.assertEqual(flops.student_flops(self.config("concept_loss_only")), head + 2 * block + 3_072)
        self.assertEqual(flops.student_flops(self.config("insertion_only")), head + block + upper + 3_072)
        # hidden_prediction: the MLP 16 -> 64 -> 8 and compressor 8 -> 16, 6·(1,024 + 512 + 128) = 9,984, and the
        # teacher's first block forward, 24·64 + 4·8·8 = 1,792.
        hidden = self.config("hidden_prediction", teacher_layer=1, teacher_n_embd=8)
        self.assertEqual(flops.student_flops(hidden), head + block + upper + 9_984 + 1_792)

    def test_label_flops_by_hand(self):
        # The teacher's forward 5,184; backward to h after block 1: 4·V·d_t + one block's 48 d_t² + 8 d_t T
        # = 3,200 + 3,072 + 512; the SAE encoder and W_dec product 4·d_t·C = 1,024.
        self.assertEqual(flops.label_flops(self.config("cocomix")), 5_184 + 6_784 + 1_024)

    def test_a_kd_teacher_given_is_not_read_from_disk(self):
        kd = self.config("kd", teacher_path=os.path.join(self.dir, "absent"))
        self.assertEqual(flops.student_flops(kd, teacher=TEACHER_MODEL), 9_600 + 2 * 19_968 + 5_184)


class PaperScaleTest(unittest.TestCase):
    """The shipped configs users train, counted with the paper's teacher (GPT-2 small, V 50,257, d_t 768,
    12 blocks, T 1024) and SAE (after block 6, C 32,768)."""

    def test_69m_by_hand(self):
        r = flops.paper_scale("69m")
        self.assertEqual((r["d"], r["layers"], r["insert_layer"], r["ntp_d"]), (512, 8, 3, 624))
        # NTP d 624: head 6·50,257·624 = 188,162,208; 8 blocks of 72·624² + 12·624·1024 = 35,702,784.
        self.assertEqual(r["ntp"], 188_162_208 + 8 * 35_702_784)  # 473,784,480
        # CoCoMix d 512: head 154,389,504; 3 blocks on T (25,165,824 each); 5 blocks on 2T, two positions
        # per token of 72·512² + 12·512·2048 = 31,457,280; the concept predictor 6·512·32,768 = 100,663,296.
        self.assertEqual(r["cocomix"], 154_389_504 + 3 * 25_165_824 + 5 * 2 * 31_457_280 + 100_663_296)
        # The teacher's forward 2·50,257·768 + 12·(24·768² + 4·768·1024) = 284,812,800.
        self.assertEqual(r["kd"], r["ntp"] + 284_812_800)
        # Labels: that forward; the backward 4·50,257·768 + 6·(48·768² + 8·768·1024) = 362,007,552;
        # the SAE 4·768·32,768 = 100,663,296.
        self.assertEqual(r["labels"], 284_812_800 + 362_007_552 + 100_663_296)
        self.assertAlmostEqual(r["break_even"], 1 - 473_784_480 / 645_123_072)  # 26.6%
        self.assertAlmostEqual(r["break_even_labels"], 1 - 473_784_480 / (645_123_072 + 747_483_648))  # 66.0%

    def test_a_later_insertion_layer_doubles_fewer_blocks(self):
        paper, last = flops.paper_scale("1.38b"), flops.paper_scale("1.38b", insert_layer=23)
        self.assertEqual(last["insert_layer"], 23)
        # 18 blocks of d 2048 fewer on 2T: each costs 2·(72·2048² + 12·2048·2048) - (72·2048² + 12·2048·1024).
        per_block = 2 * (72 + 12) * 2048 * 2048 - (72 * 2048 * 2048 + 12 * 2048 * 1024)
        self.assertEqual(paper["cocomix"] - last["cocomix"], 18 * per_block)
        self.assertEqual(paper["ntp"], last["ntp"])
        self.assertLess(last["break_even"], paper["break_even"])

    def test_the_table_has_a_row_per_size(self):
        table = flops.paper_scale_table([flops.paper_scale(size) for size in flops.PAPER_SIZES])
        rows = table.splitlines()[2:]
        self.assertEqual([row.split(" | ")[0] for row in rows], ["| cocomix_69m", "| cocomix_386m", "| cocomix_1.38b"])
        self.assertIn("| 27% | 66% |", rows[0])


if __name__ == "__main__":
    unittest.main()
