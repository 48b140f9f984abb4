// ByteTokenizer: ids are the unsigned byte values, end-of-text is 256, and
// decoding is the exact inverse (ids worked out from an ASCII/UTF-8 table).
#include "cocomix/data/byte_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using Ids = std::vector<uint32_t>;

TEST(ByteTokenizer, EncodesBytesAsTheirValues) {
  const ByteTokenizer tokenizer;
  EXPECT_EQ(tokenizer.encode("Hi!\n"), (Ids{72, 105, 33, 10}));
  EXPECT_EQ(tokenizer.encode("\xc3\xa9"), (Ids{195, 169}));  // "é" in UTF-8
  EXPECT_EQ(tokenizer.encode(std::string("a\0b", 3)), (Ids{97, 0, 98}));
  EXPECT_EQ(tokenizer.encode("\xff"), (Ids{255}));
  EXPECT_TRUE(tokenizer.encode("").empty());
  EXPECT_EQ(ByteTokenizer::kVocabSize, 257);
  EXPECT_EQ(ByteTokenizer::kEndOfText, 256u);
}

TEST(ByteTokenizer, DecodesBackExactly) {
  const ByteTokenizer tokenizer;
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(all_bytes)), all_bytes);
  EXPECT_EQ(tokenizer.decode({79, 107, 256, 46}), "Ok<|endoftext|>.");
}

TEST(ByteTokenizer, RejectsIdsOutsideTheVocabulary) {
  try {
    ByteTokenizer().decode({65, 257});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "byte tokenizer: token id 257 is >= vocab_size 257");
  }
}

}  // namespace
}  // namespace cocomix
