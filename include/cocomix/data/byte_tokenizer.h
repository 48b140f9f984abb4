// The byte tokenizer: every byte is its own token (ids 0..255) and id 256 marks
// the end of a document, so vocab_size is 257. Lossless for any input, and the
// tokenizer of the synthetic concept corpus. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cocomix {

/// Bytes <-> ids, plus the end-of-text id.
class ByteTokenizer {
 public:
  static constexpr uint32_t kEndOfText = 256;  ///< id appended after every document
  static constexpr int64_t kVocabSize = 257;   ///< bytes 0..255 and end-of-text

  /// The config / manifest name of this tokenizer.
  static constexpr const char* kName = "bytes";

  /// One id per byte of `text` (no end-of-text appended).
  std::vector<uint32_t> encode(const std::string& text) const;
  /// The bytes of `ids`; kEndOfText becomes "<|endoftext|>". Throws RuntimeError
  /// for an id >= kVocabSize.
  std::string decode(const std::vector<uint32_t>& ids) const;
};

}  // namespace cocomix
