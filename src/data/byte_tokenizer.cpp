// ByteTokenizer: unsigned byte values as ids, 256 as end-of-text.
#include "cocomix/data/byte_tokenizer.h"

#include "cocomix/util/error.h"

namespace cocomix {

std::vector<uint32_t> ByteTokenizer::encode(const std::string& text) const {
  std::vector<uint32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<uint32_t>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (const uint32_t id : ids) {
    if (id < 256) {
      text.push_back(static_cast<char>(static_cast<unsigned char>(id)));
    } else if (id == kEndOfText) {
      text += "<|endoftext|>";
    } else {
      throw RuntimeError("byte tokenizer: token id " + std::to_string(id) + " is >= vocab_size " +
                         std::to_string(kVocabSize));
    }
  }
  return text;
}

}  // namespace cocomix
