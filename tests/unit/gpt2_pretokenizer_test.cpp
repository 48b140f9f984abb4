// The GPT-2 pre-tokenizer: pieces of hand-picked strings (expected values from
// the original pattern run by Python's `regex` module), Unicode classes, and
// whole-megabyte runs that must come back as the right pieces.
#include "cocomix/data/gpt2_pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cocomix {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const std::string& text) {
  Pieces pieces;
  for (const auto piece : gpt2_pretokenize(text)) pieces.emplace_back(piece);
  return pieces;
}

TEST(Gpt2PreTokenizer, SplitsLikeThePattern) {
  EXPECT_EQ(split(""), Pieces{});
  EXPECT_EQ(split("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(split("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split("x's y'S it'll we've they're I'd"),
            (Pieces{"x", "'s", " y", "'", "S", " it", "'ll", " we", "'ve", " they", "'re", " I", "'d"}));
  EXPECT_EQ(split("don't"), (Pieces{"don", "'t"}));
  EXPECT_EQ(split("end   "), (Pieces{"end", "   "}));  // \s+$ keeps a final run whole
  EXPECT_EQ(split("  "), (Pieces{"  "}));
  EXPECT_EQ(split(" 'sup"), (Pieces{" '", "sup"}));
  EXPECT_EQ(split("...'s"), (Pieces{"...'", "s"}));  // a contraction only starts a piece
  EXPECT_EQ(split("abc123 456"), (Pieces{"abc", "123", " 456"}));
  EXPECT_EQ(split("  \t\nx"), (Pieces{"  \t", "\n", "x"}));
  EXPECT_EQ(split("a \xC2\xA0"
                  "b"),
            (Pieces{"a", " ", "\xC2\xA0", "b"}));                                            // U+00A0 is \s
  EXPECT_EQ(split("\xD9\xA1\xD9\xA2 \xC2\xBD"), (Pieces{"\xD9\xA1\xD9\xA2", " \xC2\xBD"}));  // ١٢ ½: \p{N}
  EXPECT_EQ(split("e\xCC\x81t\xC3\xA9"), (Pieces{"e", "\xCC\x81", "t\xC3\xA9"}));  // a combining mark is not \p{L}
  EXPECT_EQ(split("x\x1c y"), (Pieces{"x", "\x1c", " y"}));
  EXPECT_EQ(split("\xF0\x9F\x98\x80\xF0\x9F\x98\x80 ok"), (Pieces{"\xF0\x9F\x98\x80\xF0\x9F\x98\x80", " ok"}));
  EXPECT_EQ(split("a\xE2\x80\x83\xE2\x80\x83"
                  "b"),
            (Pieces{"a", "\xE2\x80\x83", "\xE2\x80\x83", "b"}));  // em spaces
}

TEST(Gpt2PreTokenizer, CharacterClassesComeFromUnicodeCategories) {
  EXPECT_EQ(gpt2_char_class('a'), Gpt2CharClass::kLetter);
  EXPECT_EQ(gpt2_char_class(0x01C5), Gpt2CharClass::kLetter);   // Dž, titlecase
  EXPECT_EQ(gpt2_char_class(0x02B0), Gpt2CharClass::kLetter);   // modifier letter
  EXPECT_EQ(gpt2_char_class(0x4E16), Gpt2CharClass::kLetter);   // 世
  EXPECT_EQ(gpt2_char_class(0x20000), Gpt2CharClass::kLetter);  // CJK extension B, beyond the BMP
  EXPECT_EQ(gpt2_char_class('7'), Gpt2CharClass::kNumber);
  EXPECT_EQ(gpt2_char_class(0x2160), Gpt2CharClass::kNumber);   // Ⅰ, letter number
  EXPECT_EQ(gpt2_char_class(0x2460), Gpt2CharClass::kNumber);   // ①, other number
  EXPECT_EQ(gpt2_char_class(0x1D7DC), Gpt2CharClass::kNumber);  // 𝟜
  for (const uint32_t space : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au,
                               0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u})
    EXPECT_EQ(gpt2_char_class(space), Gpt2CharClass::kSpace) << space;
  for (const uint32_t other :
       {0x00u, 0x1Cu, 0x1Fu, 0x200Bu, 0x180Eu, 0x0301u, 0x27u, 0x24u, 0x1F600u, 0xE000u, 0x0378u})
    EXPECT_EQ(gpt2_char_class(other), Gpt2CharClass::kOther) << other;
}

TEST(Gpt2PreTokenizer, MegabyteRunsComeBackWhole) {
  const size_t n = size_t{1} << 20;
  const std::string spaces(n, ' '), letters(n, 'a');
  EXPECT_EQ(split(spaces), Pieces{spaces});
  EXPECT_EQ(split(letters), Pieces{letters});
  EXPECT_EQ(split(spaces + "x"), (Pieces{spaces.substr(1), " x"}));
  EXPECT_EQ(split("x" + spaces + letters), (Pieces{"x", spaces.substr(1), " " + letters}));
}

TEST(Gpt2PreTokenizer, PiecesConcatenateBackToTheText) {
  const std::string text =
      "Numbers: 1, 23, 456,\t7890  $234,567.89\r\n\r\n\xE3\x81\x93\xE3\x82\x93 \xF0\x9F\x8C\x8D!!  ";
  std::string joined;
  for (const auto& piece : split(text)) {
    EXPECT_FALSE(piece.empty());
    joined += piece;
  }
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace cocomix
