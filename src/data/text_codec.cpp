// TextCodec: bytes or GPT-2 BPE, chosen from the vocabulary size and --tokenizer.
#include "cocomix/data/text_codec.h"

#include <utility>

#include "cocomix/util/error.h"
#include "cocomix/util/utf8.h"

namespace cocomix {

TextCodec::TextCodec(int64_t vocab_size, std::optional<Gpt2Tokenizer> gpt2) : gpt2_(std::move(gpt2)) {
  if (gpt2_ && gpt2_->vocab_size() > vocab_size)
    throw UsageError("--tokenizer: " + gpt2_->files().at(0) + " has " + std::to_string(gpt2_->vocab_size()) +
                     " ids, more than the model's vocab_size " + std::to_string(vocab_size));
}

std::vector<int64_t> TextCodec::encode(const std::string& text) const {
  const auto ids = gpt2_ ? gpt2_->encode_ordinary(text) : bytes_.encode(text);
  return {ids.begin(), ids.end()};
}

std::string TextCodec::decode(const std::vector<int64_t>& ids) const {
  const std::vector<uint32_t> narrow(ids.begin(), ids.end());
  return gpt2_ ? gpt2_->decode_text(narrow) : utf8_replace_invalid(bytes_.decode(narrow));
}

TextCodec make_text_codec(int64_t vocab_size, const std::string& tokenizer_dir,
                          const std::function<std::optional<Gpt2Tokenizer>()>& recorded, const std::string& why,
                          const std::string& alternative) {
  if (!tokenizer_dir.empty()) return TextCodec(vocab_size, Gpt2Tokenizer::load(tokenizer_dir));
  if (vocab_size == ByteTokenizer::kVocabSize) return TextCodec(vocab_size, std::nullopt);
  auto gpt2 = recorded();
  if (!gpt2)
    throw UsageError("--tokenizer: required: " + why +
                     "; pass the directory with encoder.json + vocab.bpe (or vocab.json + merges.txt)" + alternative);
  return TextCodec(vocab_size, std::move(gpt2));
}

}  // namespace cocomix
