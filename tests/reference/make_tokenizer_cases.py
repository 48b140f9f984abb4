"""Reference ids for the GPT-2 tokenizer property test (tests/unit/gpt2_tokenizer_test.cpp).

Writes tokenizer_cases.jsonl: seeded random strings that mix scripts, emoji,
digits, whitespace runs, contractions and control characters, plus byte strings
that are not valid UTF-8 and long runs that exercise the heap merge, each with
the ids Python tiktoken's "gpt2" Encoding gives (built from the shared files as
tiktoken's own loader does, see python/cocomix_tools/tiktoken_gpt2.py). One JSON object per line:
{"hex": input bytes, "mode": "ordinary" | "special", "ids": [...]}. "special" is
encode(text, allowed_special={"<|endoftext|>"}); invalid bytes are encoded as
tiktoken encodes bytes.decode("utf-8", errors="replace").
"""
import argparse
import json
import os
import random

from cocomix_tools.tiktoken_gpt2 import gpt2_encoding

SEED = 20240520
RANDOM_STRINGS = 10_000
INVALID_BYTE_STRINGS = 1_000
LONG_RUNS = 200

# Code point ranges of long-assigned scripts (Unicode <= 13): tiktoken's Rust regex
# and Debian's utf8proc may carry different Unicode versions, and characters
# assigned since then would test the versions, not the tokenizer.
SCRIPTS = {
    "latin1": (0x00C0, 0x00FF),
    "latin_ext": (0x0100, 0x024F),
    "ipa_modifiers": (0x0250, 0x02FF),
    "combining": (0x0300, 0x036F),
    "greek": (0x0391, 0x03C9),
    "cyrillic": (0x0400, 0x04FF),
    "hebrew": (0x05D0, 0x05EA),
    "arabic": (0x0620, 0x0669),
    "devanagari": (0x0905, 0x096F),
    "thai": (0x0E01, 0x0E5B),
    "hangul_jamo": (0x1100, 0x1112),
    "general_punct": (0x2010, 0x2027),
    "super_sub": (0x2070, 0x209C),
    "currency": (0x20A0, 0x20BF),
    "letterlike": (0x2100, 0x214F),
    "number_forms": (0x2150, 0x218B),
    "arrows_math": (0x2190, 0x22FF),
    "enclosed": (0x2460, 0x24FF),
    "box_symbols": (0x2500, 0x26FF),
    "cjk_punct": (0x3001, 0x303F),
    "hiragana": (0x3041, 0x3096),
    "katakana": (0x30A1, 0x30FA),
    "cjk": (0x4E00, 0x9FA5),
    "hangul": (0xAC00, 0xD7A3),
    "fullwidth": (0xFF01, 0xFF5E),
    "math_alnum": (0x1D400, 0x1D7FF),
    "emoji": (0x1F300, 0x1F64F),
    "emoji_more": (0x1F680, 0x1F6C5),
    "cjk_ext_b": (0x20000, 0x2A6D6),
}
WHITESPACE = [" ", " ", " ", "\t", "\n", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2002",
              "\u2003", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
CONTROLS = [chr(c) for c in range(0x00, 0x20)] + ["\x7f", "\x80", "\x9f", "\u200b", "\u200d", "\ufeff", "\u00ad"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "'", "''", "'x"]
PUNCTUATION = list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "--", "!!", "?!", "\u2019", "\u201c", "\u201d"]
EMOJI_SEQUENCES = ["\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F44D\U0001F3FD", "\U0001F1EA\U0001F1F8",
                   "\u2764\ufe0f", "1\ufe0f\u20e3", "\U0001F30D"]
WORDS = ["the", "of", "and", "tokenizer", "Hello", "WORLD", "isn", "don", "it", "they", "GPT", "café", "naïve",
         "über", "日本語", "Привет", "مرحبا", "नमस्ते", "สวัสดี", "안녕하세요", "ελληνικά"]


def random_char(rng, script):
    low, high = SCRIPTS[script]
    return chr(rng.randint(low, high))


def random_component(rng):
    kind = rng.random()
    if kind < 0.22:
        word = rng.choice(WORDS) if rng.random() < 0.5 else "".join(
            chr(rng.randint(97, 122)) for _ in range(rng.randint(1, 12)))
        return word.capitalize() if rng.random() < 0.2 else word
    if kind < 0.32:
        return rng.choice(CONTRACTIONS)
    if kind < 0.44:
        return "".join(rng.choice(WHITESPACE) for _ in range(rng.choice([1, 1, 2, 3, rng.randint(1, 40)])))
    if kind < 0.54:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
        return rng.choice([digits, digits + "," + digits[:3], "$" + digits + "." + digits[:2], "-" + digits])
    if kind < 0.62:
        return "".join(rng.choice(PUNCTUATION) for _ in range(rng.randint(1, 4)))
    if kind < 0.69:
        return "".join(rng.choice(CONTROLS) for _ in range(rng.randint(1, 3)))
    if kind < 0.74:
        return rng.choice(EMOJI_SEQUENCES)
    script = rng.choice(list(SCRIPTS))
    return "".join(random_char(rng, script) for _ in range(rng.randint(1, 10)))


def random_text(rng):
    parts = [random_component(rng) for _ in range(rng.randint(1, 24))]
    if rng.random() < 0.5:  # often a space before a component, as in prose
        parts = [(" " if rng.random() < 0.5 else "") + p for p in parts]
    return "".join(parts)


def invalid_bytes(rng):
    data = bytearray(random_text(rng).encode("utf-8"))
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        choice = rng.random()
        if choice < 0.4:
            data[at:at] = bytes([rng.randint(0x80, 0xFF)])
        elif choice < 0.7:  # a truncated multi-byte sequence
            whole = chr(rng.randint(0x80, 0x10FFFF)).encode("utf-8", "surrogatepass")
            data[at:at] = whole[: rng.randint(1, max(1, len(whole) - 1))]
        else:  # overlongs, surrogates, code points above U+10FFFF
            data[at:at] = rng.choice([b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff"])
    return bytes(data)


def long_run(rng):
    unit = rng.choice([" ", "a", "1", "!", "\n", "é", "中", "\U0001F600", "ab", "a1", "x y", "'s", "\t "])
    text = unit * rng.randint(100, 6000)
    if rng.random() < 0.5:  # random letters: one long piece that is not periodic
        text = "".join(chr(rng.randint(97, 122)) for _ in range(rng.randint(130, 3000)))
    return text if rng.random() < 0.7 else random_text(rng) + text + random_text(rng)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    encoding = gpt2_encoding()
    rng = random.Random(SEED)
    cases = []
    for _ in range(RANDOM_STRINGS):
        text = random_text(rng)
        if rng.random() < 0.1:
            text = text + "<|endoftext|>" + random_text(rng)
        if rng.random() < 0.5:
            cases.append((text.encode("utf-8"), "special", encoding.encode(text, allowed_special={"<|endoftext|>"})))
        else:
            cases.append((text.encode("utf-8"), "ordinary", encoding.encode_ordinary(text)))
    for _ in range(INVALID_BYTE_STRINGS):
        data = invalid_bytes(rng)
        cases.append((data, "ordinary", encoding.encode_ordinary(data.decode("utf-8", errors="replace"))))
    for _ in range(LONG_RUNS):
        text = long_run(rng)
        cases.append((text.encode("utf-8"), "ordinary", encoding.encode_ordinary(text)))
    path = os.path.join(args.out, "tokenizer_cases.jsonl")
    with open(path + ".tmp", "w") as f:
        for data, mode, ids in cases:
            f.write(json.dumps({"hex": data.hex(), "mode": mode, "ids": ids}) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
