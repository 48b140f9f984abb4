// The GPT-2 pre-tokenizer: splits text into the pieces that BPE then encodes one
// by one, exactly as tiktoken's r50k/gpt2 pattern does
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// implemented by hand (no regex engine) over Unicode classes from utf8proc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cocomix {

/// The character classes the pattern distinguishes.
enum class Gpt2CharClass : uint8_t {
  kLetter,  ///< \p{L}: general category Lu, Ll, Lt, Lm, Lo
  kNumber,  ///< \p{N}: Nd, Nl, No
  kSpace,   ///< \s: the Unicode White_Space property
  kOther,   ///< everything else (punctuation, symbols, marks, controls, unassigned)
};

/// The class of code point `cp` (categories from utf8proc; White_Space is Zs, Zl,
/// Zp and the controls U+0009..U+000D and U+0085).
Gpt2CharClass gpt2_char_class(uint32_t cp);

/// Yields the pre-tokens of `text` in order, as views into `text` that concatenate
/// back to it. `text` must be valid UTF-8 (see util/utf8.h) and outlive the
/// splitter. It is one stretch between special tokens: a whitespace run at its
/// end stays whole ("\s+$"), as tiktoken matches each stretch on its own.
class Gpt2PreTokenizer {
 public:
  explicit Gpt2PreTokenizer(std::string_view text);
  /// Sets `piece` to the next pre-token and returns true, or returns false at the end.
  bool next(std::string_view& piece);

 private:
  std::string_view text_;
  size_t position_ = 0;
  const Gpt2CharClass* bmp_classes_;  ///< classes of U+0000..U+FFFF
};

/// All pre-tokens of `text` (see Gpt2PreTokenizer).
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

}  // namespace cocomix
