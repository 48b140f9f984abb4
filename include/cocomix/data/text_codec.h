// Text <-> token ids through a model's tokenizer: the byte tokenizer for a
// 257-id vocabulary, GPT-2 BPE otherwise (the files --tokenizer names, or those
// the data's manifest records). Decoded text is always valid UTF-8.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cocomix/data/byte_tokenizer.h"
#include "cocomix/data/gpt2_tokenizer.h"

namespace cocomix {

/// Text <-> ids of one vocabulary: bytes, or a GPT-2 tokenizer.
class TextCodec {
 public:
  /// Bytes when `gpt2` is nullopt. Throws UsageError "--tokenizer: ..." when the
  /// GPT-2 tokenizer has more ids than `vocab_size`.
  TextCodec(int64_t vocab_size, std::optional<Gpt2Tokenizer> gpt2);

  std::vector<int64_t> encode(const std::string& text) const;
  /// The text of `ids`; bytes that are not UTF-8 (a byte-level model can produce
  /// any, and a token can end inside a character) become U+FFFD.
  std::string decode(const std::vector<int64_t>& ids) const;

 private:
  std::optional<Gpt2Tokenizer> gpt2_;
  ByteTokenizer bytes_;
};

/// The codec of a model with `vocab_size` ids: the GPT-2 tokenizer in
/// `tokenizer_dir` when one is given (--tokenizer), else bytes for 257 ids, else
/// what `recorded` finds (the tokenizer the data's manifest records). Throws
/// UsageError "--tokenizer: required: WHY; pass the directory ..." + `alternative`
/// when none is found (`why` says whose vocabulary needs one).
TextCodec make_text_codec(int64_t vocab_size, const std::string& tokenizer_dir,
                          const std::function<std::optional<Gpt2Tokenizer>()>& recorded, const std::string& why,
                          const std::string& alternative = "");

}  // namespace cocomix
