// Internal to the GPT-2 tokenizer: the tables loaded from the vocabulary and
// merges files, shared by the loader (gpt2_vocabulary.cpp) and the encoder
// (gpt2_tokenizer.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bytes_map.h"
#include "cocomix/data/gpt2_tokenizer.h"

namespace cocomix {

struct Gpt2Tokenizer::Vocabulary {
  std::vector<std::string> tokens;  ///< id -> bytes; the end-of-text id holds "<|endoftext|>"
  detail::BytesMap ranks;           ///< bytes -> id of every mergeable token (all but end-of-text)
  uint32_t end_of_text = 0;
  std::vector<std::string> files;  ///< vocabulary file, merges file
  uint64_t serial = 0;             ///< unique per loaded vocabulary: keys the per-thread caches
};

}  // namespace cocomix
