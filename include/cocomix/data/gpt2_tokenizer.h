// The GPT-2 byte-level BPE tokenizer, identical to tiktoken's "gpt2" encoding:
// loads OpenAI's encoder.json + vocab.bpe or Hugging Face's vocab.json +
// merges.txt, encodes text to ids (with or without <|endoftext|> as a special
// token) and decodes ids to bytes or text. No LibTorch here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cocomix {

/// Immutable after loading; copies share the vocabulary, and every const method
/// may be called from several threads at once (each thread keeps its own cache
/// of recently encoded pre-tokens).
class Gpt2Tokenizer {
 public:
  /// The config / manifest name of this tokenizer.
  static constexpr const char* kName = "gpt2";
  /// The special token encode() recognises.
  static constexpr std::string_view kEndOfTextText = "<|endoftext|>";

  /// Loads the tokenizer files of directory `dir`: encoder.json + vocab.bpe
  /// (OpenAI), else vocab.json + merges.txt (Hugging Face). Throws RuntimeError
  /// naming the directory when it holds neither pair, and whatever load_files throws.
  static Gpt2Tokenizer load(const std::string& dir);

  /// Loads a vocabulary (JSON object: token in GPT-2's byte-to-unicode alphabet
  /// -> id) and a merges file ("#version" line, then "A B" per line, in rank
  /// order). The files must agree the way tiktoken requires: the 256 bytes take
  /// ids 0..255 in GPT-2's byte order, merge k makes id 256 + k, and
  /// <|endoftext|> follows. Throws RuntimeError "FILE[:LINE]: ..." (one line) for
  /// invalid JSON, a bad token or id, a duplicate id, a malformed merge, a merge
  /// naming an unknown symbol or repeating one, or counts that disagree.
  static Gpt2Tokenizer load_files(const std::string& vocab_path, const std::string& merges_path);

  /// Ids of `text` with no special tokens: "<|endoftext|>" is encoded as plain
  /// text. Bytes that are not valid UTF-8 are first replaced as Python's
  /// bytes.decode("utf-8", errors="replace") does (util/utf8.h), so the ids are
  /// tiktoken's for that string.
  std::vector<uint32_t> encode_ordinary(std::string_view text) const;
  /// As encode_ordinary, but every "<|endoftext|>" in `text` becomes end_of_text().
  std::vector<uint32_t> encode(std::string_view text) const;
  /// Appending forms of the two above: the ids go to the end of `ids`.
  void encode_ordinary(std::string_view text, std::vector<uint32_t>& ids) const;
  void encode(std::string_view text, std::vector<uint32_t>& ids) const;

  /// The bytes of `ids` concatenated (end_of_text() is "<|endoftext|>"). Throws
  /// RuntimeError for an id >= vocab_size().
  std::string decode(const std::vector<uint32_t>& ids) const;
  /// decode() made valid UTF-8: incomplete or invalid sequences become U+FFFD as
  /// in tiktoken's decode(ids, errors="replace").
  std::string decode_text(const std::vector<uint32_t>& ids) const;
  /// The bytes of token `id` (RuntimeError when id >= vocab_size()).
  const std::string& token_bytes(uint32_t id) const;

  /// Number of ids (50257 for GPT-2).
  int64_t vocab_size() const;
  /// Id of "<|endoftext|>" (50256 for GPT-2).
  uint32_t end_of_text() const;
  /// The vocabulary and merges files this tokenizer was loaded from.
  const std::vector<std::string>& files() const;

  struct Vocabulary;  ///< the loaded tables (src/data/gpt2_vocabulary.h)

 private:
  explicit Gpt2Tokenizer(std::shared_ptr<const Vocabulary> vocabulary);
  void encode_stretch(std::string_view text, std::vector<uint32_t>& ids) const;
  void encode_piece(std::string_view piece, std::vector<uint32_t>& ids) const;

  std::shared_ptr<const Vocabulary> vocabulary_;
};

}  // namespace cocomix
