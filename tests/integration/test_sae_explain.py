"""cocomix-sae explain end to end: on a tiny synthetic corpus, a teacher trained by
cocomix-train and its SAE by cocomix-sae train, latents.json must match an
independent reference computed here (cocomix_tools.model's GPT-2 forward and SAE
encoder, in torch from the safetensors files): every latent's density, mean and
max, its top-N activations and token indices (ties to the lower index), and the
decoded text around them (bytes, U+FFFD for invalid UTF-8). --max-tokens cuts the
file exactly there; bad input gives exit 2, one line naming the flag or file, and
writes nothing. Then headless Chromium renders index.html#latent-ID: the
screenshot is not blank and the page shows that latent's numbers from the JSON."""
import json
import os
import re
import shutil
import struct
import subprocess
import unittest
from decimal import ROUND_HALF_UP, Decimal

import torch

from cocomix_testlib import app, run, temp_dir, tiny_teacher_and_sae, write_sae
from cocomix_tools.corpus import read_token_file
from cocomix_tools.model import GPT2, Sae

CHROMIUM = "/usr/bin/chromium"
LATENTS = 128
TOP = 6
SEQ_LEN = 32
MAX_TOKENS = 1000  # 31 full windows of 32 and a last one of 8
BEFORE, AFTER = 5, 3
FIRED = 1e-3  # concept/sae_losses.h kLatentFiredThreshold
END_OF_TEXT = 256


def decode_bytes(ids):
    """The byte tokenizer's text: end-of-text spelled out, invalid UTF-8 as U+FFFD."""
    out, chunk = [], bytearray()
    for i in ids:
        if i == END_OF_TEXT:
            out.append(chunk.decode("utf-8", errors="replace"))
            out.append("<|endoftext|>")
            chunk = bytearray()
        else:
            chunk.append(i)
    out.append(chunk.decode("utf-8", errors="replace"))
    return "".join(out)


def js_fixed(x, digits):
    """JavaScript's Number.prototype.toFixed: the exact double rounded half up."""
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


class SaeExplainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.root = temp_dir()
        cls.train_file, cls.val_file, cls.teacher, cls.sae = tiny_teacher_and_sae(cls.root, LATENTS)
        cls.out = os.path.join(cls.root, "explained")
        cls.result = run(cls.command(cls.out, "--max-tokens", str(MAX_TOKENS)))
        with open(os.path.join(cls.out, "latents.json")) as f:
            cls.doc = json.load(f)
        cls.tokens = [int(t) for t in read_token_file(cls.val_file)]
        cls.z = cls.reference_activations(cls.tokens[:MAX_TOKENS])

    @classmethod
    def command(cls, out, *extra, data=None, sae=None):
        return [app("cocomix-sae"), "explain", "--sae", sae or cls.sae, "--teacher", cls.teacher,
                "--data", data or cls.val_file, "-o", out, "--top", str(TOP), "--seq-len", str(SEQ_LEN),
                "--batch", "4", "--context-before", str(BEFORE), "--context-after", str(AFTER),
                "--threads", "1"] + list(extra)

    @classmethod
    def reference_activations(cls, tokens):
        """z [N, C] of every token: the teacher's residual after block `layer` over consecutive windows
        of SEQ_LEN (the last shorter), position-normalised, z = ReLU(TopK_k(W_enc (x - pre_bias) + b))."""
        teacher, sae = GPT2(cls.teacher), Sae(cls.sae)
        ids = torch.tensor(tokens, dtype=torch.int64)
        rows = []
        with torch.no_grad():
            for begin in range(0, len(ids), SEQ_LEN):
                h = teacher.hidden_after(ids[begin:begin + SEQ_LEN].unsqueeze(0), sae.layer)[0]  # [T, d]
                rows.append(sae.encode(h)[0])  # [T, C]
        return torch.cat(rows).double()

    def test_matches_the_reference(self):
        doc, z = self.doc, self.z
        self.assertEqual(set(doc), {"sae", "teacher", "data", "layer", "n_latents", "k", "tokens", "top", "latents"})
        self.assertEqual((doc["sae"], doc["teacher"], doc["data"]), (self.sae, self.teacher, self.val_file))
        self.assertEqual((doc["layer"], doc["n_latents"], doc["k"], doc["top"]), (1, LATENTS, 8, TOP))
        self.assertEqual([latent["id"] for latent in doc["latents"]], list(range(LATENTS)))
        fires = z > FIRED
        counts = fires.sum(0)
        alive = 0
        for latent in doc["latents"]:
            c = latent["id"]
            self.assertEqual(set(latent), {"id", "density", "mean_activation", "max_activation", "top"})
            self.assertAlmostEqual(latent["density"], counts[c].item() / MAX_TOKENS, delta=1e-4)
            if counts[c] == 0:
                self.assertEqual((latent["mean_activation"], latent["max_activation"], latent["top"]), (0, 0, []))
                continue
            alive += 1
            column = z[:, c]
            self.assertAlmostEqual(latent["mean_activation"], column[fires[:, c]].mean().item(), delta=1e-4)
            self.assertAlmostEqual(latent["max_activation"], column.max().item(), delta=1e-4)
            expected = sorted((-column[i].item(), i) for i in torch.nonzero(fires[:, c]).flatten().tolist())[:TOP]
            self.assertEqual(len(latent["top"]), len(expected))
            for example, (negative, index) in zip(latent["top"], expected):
                self.assertAlmostEqual(example["activation"], -negative, delta=1e-4)
                if example["index"] != index:  # only a near-tie may swap places
                    self.assertAlmostEqual(column[example["index"]].item(), -negative, delta=1e-4, msg=(c, example))
            activations = [(-e["activation"], e["index"]) for e in latent["top"]]
            self.assertEqual(activations, sorted(activations), "highest first, ties to the lower index")
            for example in latent["top"]:
                i = example["index"]
                self.assertEqual(example["before"], decode_bytes(self.tokens[max(0, i - BEFORE):i]))
                self.assertEqual(example["token"], decode_bytes(self.tokens[i:i + 1]))
                self.assertEqual(example["after"], decode_bytes(self.tokens[i + 1:min(MAX_TOKENS, i + 1 + AFTER)]))
        self.assertGreater(alive, LATENTS // 4)
        print(f"\n{alive} of {LATENTS} latents fired on {MAX_TOKENS} tokens")

    def test_max_tokens_cuts_the_file_there(self):
        self.assertGreater(len(self.tokens), MAX_TOKENS)
        self.assertEqual(self.doc["tokens"], MAX_TOKENS)
        indices = [e["index"] for latent in self.doc["latents"] for e in latent["top"]]
        self.assertLess(max(indices), MAX_TOKENS)
        # The same run over a file holding exactly those tokens gives the same document.
        short = os.path.join(self.root, "short.bin")
        header = struct.pack("<3i", 20240520, 1, MAX_TOKENS) + bytes(1024 - 12)
        with open(short, "wb") as f:
            f.write(header + struct.pack(f"<{MAX_TOKENS}H", *self.tokens[:MAX_TOKENS]))
        out = os.path.join(self.root, "short_out")
        run(self.command(out, data=short))
        with open(os.path.join(out, "latents.json")) as f:
            doc = json.load(f)
        self.assertEqual({**doc, "data": self.val_file}, self.doc)

    # ---- bad input ----------------------------------------------------------
    def expect_usage_error(self, args, *fragments):
        out = args[args.index("-o") + 1]
        result = run(args, check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("error: "), result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        self.assertFalse(os.path.exists(out), f"{out} written for a bad input")

    def test_bad_input(self):
        out = os.path.join(self.root, "bad_out")
        zero_top = self.command(out)
        zero_top[zero_top.index("--top") + 1] = "0"
        self.expect_usage_error(zero_top, "--top", "at least 1, got 0")
        missing = os.path.join(self.root, "missing.bin")
        self.expect_usage_error(self.command(out, data=missing), "--data", missing)
        empty = os.path.join(self.root, "empty.bin")
        open(empty, "wb").close()
        self.expect_usage_error(self.command(out, data=empty), "--data", empty, "empty")
        narrow = write_sae(os.path.join(self.root, "narrow_sae"), d=32, layer=1)
        self.expect_usage_error(self.command(out, sae=narrow), "--sae", narrow, "d 32", "n_embd 64")
        deep = write_sae(os.path.join(self.root, "deep_sae"), d=64, layer=3)
        self.expect_usage_error(self.command(out, sae=deep), "--sae", deep, "layer 3", "n_layer 2")
        no_sae = os.path.join(self.root, "no_sae")
        self.expect_usage_error(self.command(out, sae=no_sae), "--sae", no_sae)

    # ---- the page in a browser ------------------------------------------------
    def test_page_in_chromium(self):
        if not os.path.exists(CHROMIUM):
            self.skipTest(f"{CHROMIUM} is not installed (Debian package chromium, scripts/setup.sh)")
        latent = max(self.doc["latents"], key=lambda entry: (entry["density"], -entry["id"]))
        url = "file://" + os.path.join(self.out, "index.html") + f"#latent-{latent['id']}"
        browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=2000",
                   "--user-data-dir=" + os.path.join(self.root, "chromium")]
        shot = os.path.join(self.root, "latent.png")
        subprocess.run(browser + ["--screenshot=" + shot, "--window-size=1200,900", url], capture_output=True,
                       timeout=120, check=True)
        from PIL import Image  # Pillow: a dependency of matplotlib (scripts/requirements.txt)
        with Image.open(shot) as image:
            pixels = image.convert("RGB")
        self.assertEqual(pixels.size, (1200, 900))
        counts = pixels.getcolors(maxcolors=1 << 24)  # [(count, (r, g, b))]
        white = sum(count for count, colour in counts if colour == (255, 255, 255))
        self.assertGreater(len(counts), 50, "the screenshot has almost no colours")
        self.assertLess(white / (1200 * 900), 0.97, "the screenshot is blank")
        dom = subprocess.run(browser + ["--dump-dom", url], capture_output=True, text=True, timeout=120,
                             check=True).stdout
        shown = lambda key: re.search(f'id="stat-{key}">([^<]*)<', dom).group(1)  # noqa: E731
        self.assertEqual(shown("density"), js_fixed(100 * latent["density"], 3) + "%")
        self.assertEqual(shown("mean"), js_fixed(latent["mean_activation"], 3))
        self.assertEqual(shown("max"), js_fixed(latent["max_activation"], 3))
        self.assertEqual(re.findall(r'class="activation">([^<]*)<', dom),
                         [js_fixed(e["activation"], 3) for e in latent["top"]])
        self.assertIn(f"Latent {latent['id']}", dom)


if __name__ == "__main__":
    unittest.main()
