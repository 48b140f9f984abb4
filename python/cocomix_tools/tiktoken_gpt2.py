"""tiktoken's "gpt2" Encoding built from local files: tiktoken cannot download its
encodings on these machines, so this does what tiktoken_ext/openai_public.py's
gpt2() does, with the shared encoder.json + vocab.bpe instead of their URLs (the
same files: their sha256 are the hashes tiktoken pins). Used by the reference
dump of the tokenizer cases, the GPT-2 tokenize test and the tokenizer benchmark."""
import os

import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
from tiktoken_ext.openai_public import r50k_pat_str

from .paths import shared_data

VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"


def tokenizer_dir():
    return os.path.join(shared_data(), "gpt2_tokenizer")


def gpt2_encoding(directory=None):
    directory = directory or tokenizer_dir()
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the files directly, write no cache
    ranks = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=os.path.join(directory, "vocab.bpe"),
        encoder_json_file=os.path.join(directory, "encoder.json"),
        vocab_bpe_hash=VOCAB_BPE_SHA256,
        encoder_json_hash=ENCODER_JSON_SHA256,
    )
    return tiktoken.Encoding(
        name="gpt2",
        explicit_n_vocab=50257,
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )
