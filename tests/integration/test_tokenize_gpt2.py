"""cocomix-tokenize with the GPT-2 tokenizer against Python tiktoken (built from
the same shared files, cocomix_tools.tiktoken_gpt2) on the shared text:
--raw gives tiktoken's encode_ordinary ids of whole files (plain or .gz); a
corpus of .jsonl / .jsonl.gz / .jsonl.zst rows and a directory of text files
holds every document's ids plus end-of-text 50256 in its seeded split, across
shards; --blocks splits at blank lines; bad rows, tokenizer directories and
outputs give one-line errors, exit 1 and no manifest."""
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from cocomix_tools.corpus import Manifest, is_val, read_token_file, text_blocks
from cocomix_tools.tiktoken_gpt2 import gpt2_encoding

BIN = Path(os.environ["COCOMIX_BIN"]) / "cocomix-tokenize"
DATA = Path(os.environ["COCOMIX_SHARED_DATA"])
TOKENIZER = DATA / "gpt2_tokenizer"
EOT = 50256
ENCODING = gpt2_encoding(str(TOKENIZER))


def run(*args):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=600)


def expect_error(result, *fragments):
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def read_split(manifest, split):
    """The split's llm.c uint16 shards (magic 20240520, version 1), each holding the manifest's count."""
    parts = []
    for shard, path in zip(manifest["splits"][split]["shards"], manifest.token_files(split)):
        tokens = read_token_file(path, "llmc")
        assert tokens.dtype == np.uint16 and len(tokens) == shard["tokens"], (path, tokens.dtype, len(tokens))
        parts.append(tokens)
    return np.concatenate(parts) if parts else np.zeros(0, dtype="<u2")


def check_corpus(out, texts, seed, fraction):
    """The shards of `out` against tiktoken's ids of `texts` (documents in order)."""
    manifest = Manifest(out)
    assert manifest["tokenizer"] == "gpt2" and manifest["vocab_size"] == 50257 and manifest["end_of_text"] == EOT
    assert manifest["documents"] == len(texts)
    hashes = {f["path"].rsplit("/", 1)[-1]: f["sha256"] for f in manifest["settings"]["tokenizer_files"]}
    assert hashes == {"encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
                      "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"}
    expected = {"train": [], "val": []}
    counts = {"train": 0, "val": 0}
    for index, ids in enumerate(ENCODING.encode_ordinary_batch(texts, num_threads=2)):
        split = "val" if is_val(seed, index, fraction) else "train"
        expected[split].extend(ids + [EOT])
        counts[split] += 1
    for split in ("train", "val"):
        tokens = read_split(manifest, split)
        assert tokens.tolist() == expected[split], split
        assert manifest["splits"][split]["documents"] == counts[split]
        assert manifest["splits"][split]["tokens"] == len(tokens)
    assert not (out / "progress.json").exists()
    return manifest


def check_raw(tmp):
    sources = [DATA / "text_tinyshakespeare" / "input.txt", DATA / "text_web" / "openwebtext_sample.txt",
               DATA / "text_web" / "fineweb_edu_sample.txt", DATA / "text_gutenberg_pg" / "2554-0.txt",
               DATA / "eval_wikitext2" / "wiki.test.raw"]
    for source in sources:
        out = tmp / (source.name + ".u16")
        result = run("--tokenizer", TOKENIZER, "--raw", source, "-o", out)
        assert result.returncode == 0, result.stderr
        expected = ENCODING.encode_ordinary(source.read_bytes().decode("utf-8"))
        assert read_token_file(out, "u16").tolist() == expected, source
        assert os.path.getsize(out) == 2 * len(expected)
    packed = tmp / "owt.txt.gz"
    packed.write_bytes(gzip.compress(sources[1].read_bytes()))
    assert run("--tokenizer", TOKENIZER, "--raw", packed, "-o", tmp / "gz.u16").returncode == 0
    assert (tmp / "gz.u16").read_bytes() == (tmp / (sources[1].name + ".u16")).read_bytes()


def check_jsonl_and_text_corpus(tmp):
    rows = (DATA / "eval_lambada" / "lambada_test.jsonl").read_bytes().decode("utf-8").split("\n")[:1500]
    inputs = tmp / "inputs"
    (inputs / "books").mkdir(parents=True)
    (inputs / "a.jsonl").write_text("\n".join(rows[:500]) + "\n", encoding="utf-8")
    with gzip.open(inputs / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(rows[500:1000]) + "\n")
    (inputs / "c.jsonl").write_text("\n".join(rows[1000:]) + "\n", encoding="utf-8")
    subprocess.run(["zstd", "-q", "--rm", str(inputs / "c.jsonl")], check=True)
    books = [DATA / "text_gutenberg_nltk" / "blake-poems.txt", DATA / "text_gutenberg_pg" / "43-0.txt"]
    for book in books:
        (inputs / "books" / book.name).write_bytes(book.read_bytes())
    texts = [json.loads(row)["text"] for row in rows]
    texts += [book.read_bytes().decode("utf-8") for book in sorted(books, key=lambda b: b.name)]
    out = tmp / "corpus"
    args = ["--tokenizer", TOKENIZER, "--seed", 11, "--val-fraction", 0.1, "--shard-tokens", 20000, "-o", out,
            inputs / "a.jsonl", inputs / "b.jsonl.gz", inputs / "c.jsonl.zst", inputs / "books"]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 and "1502 documents" in result.stdout, result.stdout
    assert "| docs 1,502 |" in result.stderr, result.stderr  # the final progress line
    manifest = check_corpus(out, texts, 11, 0.1)
    assert len(manifest["splits"]["train"]["shards"]) > 5
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json"] + [s["file"] for split in ("train", "val") for s in manifest["splits"][split]["shards"]])
    again = run(*args)  # complete: nothing to do
    assert again.returncode == 0 and "already complete" in again.stdout, again.stdout


def check_blocks(tmp):
    source = DATA / "text_web" / "openwebtext_sample.txt"
    blocks = text_blocks(source.read_bytes().decode("utf-8"))
    out = tmp / "blocks"
    result = run("--tokenizer", TOKENIZER, "--blocks", "--seed", 3, "--val-fraction", 0.2, "-o", out, source)
    assert result.returncode == 0, result.stderr
    check_corpus(out, blocks, 3, 0.2)


def check_bad_input(tmp):
    bad = tmp / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "also fine"}\n{"body": "no text"}\n{"text": "last"}\n')
    out = tmp / "bad_out"
    expect_error(run("--tokenizer", TOKENIZER, "-o", out, bad), f"{bad}:3:", 'no field "text"')
    assert not (out / "manifest.json").exists()
    skipped = run("--tokenizer", TOKENIZER, "--skip-bad", "--val-fraction", 0, "-o", out, bad)
    assert skipped.returncode == 0, skipped.stderr
    manifest = check_corpus(out, ["fine", "also fine", "last"], 1337, 0.0)
    assert manifest["skipped_rows"] == 1

    broken = tmp / "broken_tokenizer"
    broken.mkdir()
    (broken / "encoder.json").write_text('{"!": 0,,}')
    (broken / "vocab.bpe").write_bytes((TOKENIZER / "vocab.bpe").read_bytes())
    expect_error(run("--tokenizer", broken, "-o", tmp / "x", bad), f"{broken}/encoder.json: invalid JSON")
    (broken / "encoder.json").unlink()
    expect_error(run("--tokenizer", broken, "-o", tmp / "x", bad), f"{broken}/encoder.json: cannot open for reading")
    blocker = tmp / "a_file"
    blocker.write_text("x")
    expect_error(run("--tokenizer", TOKENIZER, "-o", blocker / "out", bad), str(blocker))
    truncated = tmp / "cut.jsonl.gz"
    truncated.write_bytes(gzip.compress(bad.read_bytes() * 200)[:-20])
    expect_error(run("--tokenizer", TOKENIZER, "--skip-bad", "-o", tmp / "cut_out", truncated), str(truncated),
                 "truncated gzip data")
    assert not (tmp / "cut_out" / "manifest.json").exists()
    assert not any(p.name.endswith(".bin") for p in (tmp / "cut_out").iterdir())


def main():
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        check_raw(tmp)
        check_jsonl_and_text_corpus(tmp)
        check_blocks(tmp)
        check_bad_input(tmp)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
