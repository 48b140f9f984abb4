"""What cocomix-tokenize writes (docs/file-formats.md): token files, the
directory's manifest.json and documents.jsonl, and the rules that place
documents: the seeded train/val split and --blocks."""
import json
import os
from pathlib import Path

import numpy as np

from .files import InputError, read_json

HEADER_BYTES = 1024
# llm.c header magic -> (version, token type).
LLMC_MAGIC = {20240520: (1, np.dtype("<u2")), 20240801: (7, np.dtype("<u4"))}
FORMATS = ("auto", "llmc", "u16")  # data.format


def read_token_file(path, format="auto"):
    """A token file -> 1-D numpy array of its ids (uint16, or uint32 for llm.c's
    version 7). `format` as data.format: "llmc" requires the llm.c header (magic,
    version, and a size of exactly 1024 + count x width bytes), "u16" reads headerless
    uint16, "auto" reads a header when the first int32 is a known magic."""
    if format not in FORMATS:
        raise ValueError(f"format {format!r}: expected one of {FORMATS}")
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})")
    magic = int(raw[:4].view("<i4")[0]) if raw.size >= 4 else None
    if format == "llmc" or (format == "auto" and raw.size >= HEADER_BYTES and magic in LLMC_MAGIC):
        if raw.size < HEADER_BYTES or magic not in LLMC_MAGIC:
            raise InputError(f"{path}: no llm.c header (magic {magic}, {raw.size} bytes)")
        header = raw[:HEADER_BYTES].view("<i4")
        version, dtype = LLMC_MAGIC[magic]
        count = int(header[2])
        if int(header[1]) != version or raw.size != HEADER_BYTES + count * dtype.itemsize:
            raise InputError(f"{path}: header says {count} tokens (version {int(header[1])}) "
                             f"but the file holds {raw.size} bytes")
        return raw[HEADER_BYTES:].view(dtype)
    if raw.size % 2:
        raise InputError(f"{path}: odd size {raw.size} for a uint16 token file")
    return raw.view("<u2")


class Manifest:
    """DIR/manifest.json, written last by cocomix-tokenize. Indexing reads the JSON
    document (manifest["vocab_size"], manifest["splits"]["val"], ...)."""

    NAME = "manifest.json"

    def __init__(self, directory):
        self.directory = Path(directory)
        self.path = self.directory / self.NAME
        self.data = read_json(self.path)
        if not isinstance(self.data, dict) or not isinstance(self.data.get("splits"), dict):
            raise InputError(f"{self.path}: splits: missing (not a cocomix-tokenize manifest)")

    @classmethod
    def complete(cls, directory):
        """Whether DIRECTORY holds a finished cocomix-tokenize output."""
        return (Path(directory) / cls.NAME).exists()

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def vocab_size(self):
        return self.data["vocab_size"]

    def split(self, name):
        entry = self.data["splits"].get(name)
        if not isinstance(entry, dict):
            raise InputError(f"{self.path}: splits.{name}: missing")
        return entry

    def token_files(self, split):
        """The split's token files in order: the byte tokenizer's one "file", or a GPT-2
        corpus's "shards" (none when the split has no tokens)."""
        entry = self.split(split)
        if "file" in entry:
            return [self.directory / entry["file"]]
        return [self.directory / shard["file"] for shard in entry.get("shards", [])]


def read_documents(directory):
    """DIR/documents.jsonl -> [(line number, row)] of its non-blank lines."""
    listing = os.path.join(directory, "documents.jsonl")
    rows = []
    try:
        f = open(listing)
    except OSError as e:
        raise InputError(f"{listing}: cannot read ({e.strerror})")
    with f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append((line_no, json.loads(line)))
            except json.JSONDecodeError as e:
                raise InputError(f"{listing}: line {line_no}: not valid JSON ({e})")
    return rows


M64 = (1 << 64) - 1


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def stream_seed(seed, stream):
    """util/random.h: splitmix64(splitmix64(seed) + stream), the seed of stream `stream` of run seed `seed`."""
    return splitmix64((splitmix64(seed) + stream) & M64)


def is_val(seed, index, fraction):
    """Document `index` goes to val iff the top 53 bits of
    splitmix64(stream_seed(seed, index)) / 2^53 < fraction."""
    return (splitmix64(stream_seed(seed, index)) >> 11) * 2.0**-53 < fraction


def text_blocks(text):
    """cocomix-tokenize --blocks: runs of non-blank lines (blank: only spaces, tabs, \\r) joined with \\n."""
    blocks, current = [], []
    for line in text.split("\n"):
        if line.strip(" \t\r") == "":
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks
