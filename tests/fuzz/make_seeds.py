#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into OUT/<target>/, made from the real
files in the shared data directory (GPT-2 tokenizer files, token files, text,
evaluation sets) and the repository's configs, cut small so that libFuzzer
mutates them quickly. Never writes into the repository.

    make_seeds.py --data ../shared/data --out build/fuzz/seeds
"""
import argparse
import bz2
import gzip
import hashlib
import json
import shutil
import struct
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LLMC_MAGIC_U16, LLMC_HEADER_BYTES = 20240520, 1024


def write(out: Path, target: str, name: str, data: bytes) -> None:
    (out / target).mkdir(parents=True, exist_ok=True)
    (out / target / name).write_bytes(data)


def head_lines(path: Path, count: int, opener=open) -> bytes:
    with opener(path, "rb") as f:
        return b"".join(line for _, line in zip(range(count), f))


def llmc(tokens: bytes) -> bytes:
    header = struct.pack("<3i", LLMC_MAGIC_U16, 1, len(tokens) // 2).ljust(LLMC_HEADER_BYTES, b"\0")
    return header + tokens


def token_file_seeds(data: Path, out: Path) -> None:
    tokens = (data / "gpt2_tokenizer_tests/tiktoken_gpt2_tinyshakespeare_val.bin").read_bytes()[:512]
    write(out, "token_file_fuzz", "llmc_auto", b"\0" + llmc(tokens))
    write(out, "token_file_fuzz", "llmc", b"\1" + llmc(tokens))
    write(out, "token_file_fuzz", "u16", b"\2" + tokens)
    write(out, "token_file_fuzz", "u16_auto", b"\0" + tokens)


def safetensors_file(tensors: dict, metadata: dict) -> bytes:
    header, blob = {"__metadata__": metadata}, b""
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(payload)]}
        blob += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def safetensors_seeds(data: Path, out: Path) -> None:
    tokens = (data / "gpt2_tokenizer_tests/tiktoken_gpt2_tinyshakespeare_val.bin").read_bytes()[:96]
    write(out, "safetensors_fuzz", "weights", safetensors_file({
        "wte.weight": ("F32", [4, 3], tokens[:48]),
        "ln.bias": ("BF16", [6], tokens[48:60]),
        "ids": ("U8", [2, 2, 2], tokens[60:68]),
        "step": ("I64", [], tokens[68:76]),
        "empty": ("F16", [0, 5], b""),
    }, {"format": "pt"}))
    write(out, "safetensors_fuzz", "one", safetensors_file({"w": ("I32", [5], tokens[:20])}, {}))


def config_seeds(out: Path) -> None:
    overrides = [b"", b"\0train.max_steps=3\nmodel.n_layer=2", b"\0data.seq_len=64\nconcept.lambda=0.5\nlog.every=\"x\""]
    for i, config in enumerate(sorted((ROOT / "configs").glob("*.json"))):
        write(out, "config_fuzz", config.stem, config.read_bytes() + overrides[i % len(overrides)])


def gpt2_tokenizer_seeds(data: Path, out: Path) -> None:
    """The real encoder.json and vocab.bpe cut to their first `merges` merges, still a consistent pair."""
    encoder = json.loads((data / "gpt2_tokenizer/encoder.json").read_text(encoding="utf-8"))
    merges_text = (data / "gpt2_tokenizer/vocab.bpe").read_text(encoding="utf-8").split("\n")
    for merges in (0, 40, 300):
        vocab = {token: i for token, i in encoder.items() if i < 256 + merges}
        vocab["<|endoftext|>"] = 256 + merges
        merge_lines = "\n".join(merges_text[: 1 + merges]) + "\n"
        write(out, "gpt2_tokenizer_fuzz", f"merges_{merges}",
              json.dumps(vocab, ensure_ascii=False).encode() + b"\0" + merge_lines.encode())


def document_reader_seeds(data: Path, out: Path) -> None:
    text = head_lines(data / "text_web/openwebtext_sample.txt", 12)
    book = head_lines(data / "text_gutenberg_pg/1342-0.txt", 40)
    rows = b"".join(json.dumps({"text": line.decode("utf-8", "replace"), "id": i}).encode() + b"\n"
                    for i, line in enumerate(text.splitlines()[:6]))
    # choice byte: bit 0 jsonl, bits 1-2 compression (none, gz, zst, bz2), bit 3 blocks, bit 4 skip_bad
    write(out, "document_reader_fuzz", "text", bytes([0]) + book)
    write(out, "document_reader_fuzz", "blocks", bytes([8]) + book)
    write(out, "document_reader_fuzz", "jsonl", bytes([1]) + rows)
    write(out, "document_reader_fuzz", "jsonl_skip_bad", bytes([17]) + rows + b"{not json\n")
    write(out, "document_reader_fuzz", "jsonl_gz", bytes([1 | 2]) + gzip.compress(rows, mtime=0))
    write(out, "document_reader_fuzz", "text_bz2", bytes([6]) + bz2.compress(text))
    if shutil.which("zstd"):
        zst = subprocess.run(["zstd", "-q", "-c"], input=rows, capture_output=True, check=True).stdout
        write(out, "document_reader_fuzz", "jsonl_zst", bytes([1 | 4]) + zst)


def eval_task_seeds(data: Path, out: Path) -> None:
    # task index: the order of task_names() (eval/tasks/registry.cpp)
    names = ["lambada_openai", "wikitext", "hellaswag", "piqa", "arc_easy", "arc_challenge", "social_iqa",
             "winogrande"]
    files = {
        "lambada_openai": (head_lines(data / "eval_lambada/lambada_test.jsonl", 3), b""),
        "wikitext": (head_lines(data / "eval_wikitext2/wiki.test.raw", 30), b""),
        "hellaswag": (head_lines(data / "eval_hellaswag/hellaswag_val_full.txt.bz2", 2, bz2.open), b""),
        "piqa": (head_lines(data / "eval_piqa/valid.jsonl", 3), head_lines(data / "eval_piqa/valid-labels.lst", 3)),
        "arc_easy": (head_lines(data / "eval_arc/hf_format/ARC-Easy-test.jsonl", 3), b""),
        "arc_challenge": (head_lines(data / "eval_arc/hf_format/ARC-Challenge-test.jsonl", 3), b""),
        "social_iqa": (head_lines(data / "eval_siqa/dev.jsonl", 3), head_lines(data / "eval_siqa/dev-labels.lst", 3)),
        "winogrande": (head_lines(data / "eval_winogrande/dev.jsonl", 3), b""),
    }
    for index, name in enumerate(names):
        task_data, labels = files[name]
        write(out, "eval_task_fuzz", name, bytes([index]) + task_data + (b"\0" + labels if labels else b""))


def label_cache_seeds(out: Path) -> None:
    header = json.loads((HERE / "label_cache_expected.json").read_text())
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (16 + len(text)) % 8) % 8)
    ids = header["windows"] * header["seq_len"] * header["k_attr"] * 2
    write(out, "label_cache_fuzz", "cache", b"CCMXLBLS" + struct.pack("<Q", len(text)) + text + bytes(ids))


def sae_json_seeds(out: Path) -> None:
    weights = hashlib.sha256(b"weights of a fuzzed sae.json").hexdigest()  # the file sae_json_fuzz writes
    info = {"d": 768, "n_latents": 32768, "k": 32, "layer": 6,
            "teacher_sha256": hashlib.sha256(b"teacher").hexdigest()}
    write(out, "sae_json_fuzz", "verified", json.dumps({**info, "sha256": weights}, indent=2).encode())
    write(out, "sae_json_fuzz", "unverified", json.dumps(info).encode())


def shard_manifest_seeds(out: Path) -> None:
    shards = [{"file": "train_000000.bin", "tokens": 96}, {"file": "train_000001.bin", "tokens": 160}]
    manifest = {"tokenizer": "gpt2", "vocab_size": 50257, "end_of_text": 50256, "format": "llmc",
                "splits": {"train": {"shards": shards}, "val": {"file": "train_000000.bin", "tokens": 96}}}
    write(out, "shard_manifest_fuzz", "manifest", json.dumps(manifest, indent=2).encode())


def sampler_state_seeds(out: Path) -> None:
    for sampling in ("random", "fixed", "sequential"):
        state = {"seed": 7, "epoch": 1, "cursor": 3, "shard_tokens": [96, 160], "seq_len": 16,
                 "sampling": sampling, "rank": 0, "world_size": 1}
        write(out, "sampler_state_fuzz", sampling, json.dumps(state).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data directory")
    parser.add_argument("--out", type=Path, required=True, help="where the seed directories go")
    args = parser.parse_args()
    token_file_seeds(args.data, args.out)
    safetensors_seeds(args.data, args.out)
    config_seeds(args.out)
    gpt2_tokenizer_seeds(args.data, args.out)
    document_reader_seeds(args.data, args.out)
    eval_task_seeds(args.data, args.out)
    label_cache_seeds(args.out)
    sae_json_seeds(args.out)
    shard_manifest_seeds(args.out)
    sampler_state_seeds(args.out)


if __name__ == "__main__":
    main()
