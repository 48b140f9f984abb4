// Teacher and student must share the tokenizer, not just the vocabulary size.
// A side's identity comes from the files that tell: a corpus made
// by cocomix-tokenize has DIR/manifest.json beside its token files (tokenizer
// name, vocab size, GPT-2 tokenizer files); a Hugging Face teacher directory has
// vocab.json + merges.txt (or OpenAI's encoder.json + vocab.bpe); a cocomix
// checkpoint teacher names its training data in its config.json. GPT-2 BPE
// tokenizers are compared by their id -> bytes tables, whatever their file layout.
#pragma once

#include <string>

#include "cocomix/config/config.h"

namespace cocomix {

struct TokenizerIdentity {
  std::string file;  ///< the file the identity was read from ("" = nothing tells)
  std::string id;    ///< "gpt2 <sha256 of the id -> bytes table>", "bytes 257", "NAME VOCAB"; "" = unknown
};

/// The tokenizer of the corpus `token_file` belongs to: its directory's
/// manifest.json, when that lists the file. Unknown when there is none.
TokenizerIdentity data_tokenizer_identity(const std::string& token_file);

/// The tokenizer of a teacher directory: its tokenizer files, else (a cocomix
/// checkpoint or run) that of the data its config.json trained on.
TokenizerIdentity teacher_tokenizer_identity(const std::string& teacher_path);

/// Throws UsageError (one line naming both files) when the teacher's and the
/// training data's tokenizers are known and differ; logs one warning per process
/// when either cannot be told.
void check_same_tokenizer(const Config& config);

}  // namespace cocomix
