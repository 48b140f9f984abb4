// util/utf8.h: validity and U+FFFD repair, with the expected strings taken from
// Python's bytes.decode("utf-8", errors="replace") on the same bytes.
#include "cocomix/util/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace cocomix {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidPrefixStopsAtTheFirstBadSequence) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ASCII, longer than eight bytes"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8C\x8D \xF4\x8F\xBF\xBF"));  // é € 🌍 U+10FFFF
  EXPECT_EQ(utf8_valid_prefix("abc\xFF"), 3u);
  EXPECT_EQ(utf8_valid_prefix("0123456789\xC3"), 10u);       // truncated two-byte sequence
  EXPECT_EQ(utf8_valid_prefix("ab\xED\xA0\x80"), 2u);        // a surrogate
  EXPECT_EQ(utf8_valid_prefix("\xC0\xAF"), 0u);              // overlong "/"
  EXPECT_EQ(utf8_valid_prefix("x\xF4\x90\x80\x80"), 1u);     // above U+10FFFF
  EXPECT_EQ(utf8_valid_prefix(std::string("a\0b", 3)), 3u);  // NUL is valid
}

TEST(Utf8, SequenceLength) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x8C\x8D", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x8C", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);
}

TEST(Utf8, ReplacesEachMaximalSubpartLikePython) {
  // Python: b'\xe2\x82'.decode('utf-8', 'replace') == '\ufffd' (one), but
  // b'\xf0\x80\x80' -> three (F0 80 is not a valid start), b'\xed\xa0\x80' -> three.
  EXPECT_EQ(utf8_replace_invalid("\xE2\x82"), kFffd);
  EXPECT_EQ(utf8_replace_invalid("\xE2\x82"
                                 "A"),
            kFffd + "A");
  EXPECT_EQ(utf8_replace_invalid("\xF0\x80\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(utf8_replace_invalid("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(utf8_replace_invalid("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(utf8_replace_invalid("\xC0\xAF"), kFffd + kFffd);
  EXPECT_EQ(utf8_replace_invalid("\xF0\x9F\x98"), kFffd);
  EXPECT_EQ(utf8_replace_invalid("\xF0\x9F\x98"
                                 "A"),
            kFffd + "A");
  EXPECT_EQ(utf8_replace_invalid("ok \xFF\xFE end \xC3\xA9"), "ok " + kFffd + kFffd + " end \xC3\xA9");
  EXPECT_EQ(utf8_replace_invalid("valid \xE2\x82\xAC"), "valid \xE2\x82\xAC");
  EXPECT_EQ(utf8_replace_invalid(""), "");
}

}  // namespace
}  // namespace cocomix
