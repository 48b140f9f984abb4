"""cocomix-tokenize end to end: synthetic corpus and real text files are written
as llm.c shards + documents.jsonl + manifest.json; read back by cocomix_tools.corpus, every
document decodes to its original bytes, the split follows the documented hash,
and bad flags exit 2 with one line on stderr."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from cocomix_tools.corpus import Manifest, is_val, read_documents, read_token_file

BIN = Path(os.environ["COCOMIX_BIN"]) / "cocomix-tokenize"
SHAKESPEARE = Path(os.environ["COCOMIX_SHARED_DATA"]) / "text_tinyshakespeare" / "input.txt"
EOT = 256


def run(*args):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True)


def read_shard(path):
    """An llm.c uint16 shard (magic 20240520, version 1, size 1024 + 2 x the header's count)."""
    tokens = read_token_file(path, "llmc")
    assert tokens.dtype == np.uint16, (path, tokens.dtype)
    return tokens


def read_output(out, seed, fraction, expected_documents, synthetic=False):
    """Checks the layout and returns (manifest, records, {split: tokens})."""
    expected = ["documents.jsonl", "manifest.json", "train.bin", "val.bin"] + (["vocabulary.json"] if synthetic else [])
    assert sorted(p.name for p in out.iterdir()) == expected
    manifest = Manifest(out)
    assert manifest["tokenizer"] == "bytes" and manifest["vocab_size"] == 257 and manifest["end_of_text"] == EOT
    assert manifest["seed"] == seed and manifest["documents"] == expected_documents
    shards = {split: read_shard(out / f"{split}.bin") for split in ("train", "val")}
    records = [row for _, row in read_documents(out)]
    assert [r["index"] for r in records] == list(range(expected_documents))
    next_offset = {"train": 0, "val": 0}
    for r in records:
        split = r["split"]
        assert split == ("val" if is_val(seed, r["index"], fraction) else "train"), r
        assert r["offset"] == next_offset[split], r  # documents are contiguous in their file
        next_offset[split] += r["tokens"]
        doc = shards[split][r["offset"] : r["offset"] + r["tokens"]]
        assert doc[-1] == EOT and not (doc[:-1] == EOT).any(), r
    for split, tokens in shards.items():
        assert manifest["splits"][split]["tokens"] == len(tokens) == next_offset[split]
        assert manifest["splits"][split]["documents"] == sum(r["split"] == split for r in records)
        assert manifest["splits"][split]["file"] == f"{split}.bin"
        assert len(tokens) == 0 or tokens.max() <= EOT
    return manifest, records, shards


def document_bytes(shards, record):
    tokens = shards[record["split"]][record["offset"] : record["offset"] + record["tokens"] - 1]
    return tokens.astype(np.uint8).tobytes()


def check_synthetic(tmp):
    out = tmp / "synthetic"
    result = run("--synthetic", "--documents", 200, "--seed", 5, "--val-fraction", 0.1, "-o", out)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 and result.stdout.startswith("cocomix-tokenize: 200 documents")
    manifest, records, shards = read_output(out, 5, 0.1, 200, synthetic=True)
    assert manifest["source"] == "synthetic"
    with open(out / "vocabulary.json") as f:
        vocabulary = json.load(f)
    assert sorted(vocabulary["topics"]) == sorted({r["hidden"]["topic"] for r in records})
    assert 0 < manifest["splits"]["val"]["documents"] < 60
    for r in records:
        text = document_bytes(shards, r).decode("ascii")
        assert 300 <= len(text) <= 5000
        for entity in r["hidden"]["entities"]:
            intro = f"{entity['name']} is "
            assert intro in text, (intro, text)
            later = text[text.index(intro) :]
            for field in ("city", "colour"):
                assert later.count(entity[field]) >= 2, (field, entity, text)

    again = tmp / "again"
    assert run("--synthetic", "--documents", 200, "--seed", 5, "--val-fraction", 0.1, "-o", again).returncode == 0
    for name in ("train.bin", "val.bin", "documents.jsonl"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp / "other_seed"
    assert run("--synthetic", "--documents", 200, "--seed", 6, "-o", other).returncode == 0
    assert (out / "train.bin").read_bytes() != (other / "train.bin").read_bytes()


def check_text_files(tmp):
    small = tmp / "small.txt"
    small.write_bytes("Caf\u00e9 \u2014 na\u00efve\r\nend".encode("utf-8"))
    empty = tmp / "empty.txt"
    empty.write_bytes(b"")
    inputs = [SHAKESPEARE, small, empty, small]
    out = tmp / "text"
    result = run("--tokenizer", "bytes", "--val-fraction", 0.5, "--seed", 3, "-o", out, *inputs)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    manifest, records, shards = read_output(out, 3, 0.5, len(inputs))
    assert manifest["source"] == "files" and "hidden" not in records[0]
    for r, path in zip(records, inputs):
        assert r["source"] == str(path)
        assert r["tokens"] == os.path.getsize(path) + 1
        assert document_bytes(shards, r) == path.read_bytes(), path
    # train + val together hold every byte of every input plus one end-of-text each.
    assert sum(len(t) for t in shards.values()) == sum(os.path.getsize(p) + 1 for p in inputs)


def check_bad_flags(tmp):
    missing = tmp / "missing.txt"
    cases = [
        [],
        ["--synthetic", "-o", tmp / "x"],
        ["--synthetic", "--documents", 5, "--val-fraction", 1.5, "-o", tmp / "x"],
        ["--synthetic", "--documents", 5, "--bogus", "-o", tmp / "x"],
        ["--synthetic", "--documents", "many", "-o", tmp / "x"],
        ["--synthetic", "--documents", 5, "-o", tmp / "x", SHAKESPEARE],
        ["--tokenizer", "gpt3", "-o", tmp / "x", SHAKESPEARE],
        ["-o", tmp / "x", missing],
        ["-o", tmp / "x"],
    ]
    for args in cases:
        result = run(*args)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    assert not (tmp / "x").exists()
    assert run("--help").returncode == 0


def main():
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        check_synthetic(tmp)
        check_text_files(tmp)
        check_bad_flags(tmp)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
