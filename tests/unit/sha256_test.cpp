// util/sha256.h: the FIPS 180-4 example digests, block-boundary lengths checked
// against piecewise updates, and the shared GPT-2 files' published hashes.
#include "cocomix/util/sha256.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecewiseUpdatesAgreeAcrossBlockBoundaries) {
  for (const size_t length : {55u, 56u, 63u, 64u, 65u, 127u, 128u, 1000u}) {
    std::string data;
    for (size_t i = 0; i < length; ++i) data.push_back(static_cast<char>(i * 31 + 7));
    Sha256 pieces;
    for (size_t i = 0; i < length; i += 13) pieces.update(std::string_view(data).substr(i, 13));
    EXPECT_EQ(pieces.hex_digest(), sha256_hex(data)) << length;
  }
}

TEST(Sha256, ExtensionsAndPortableRoundsAgreeWithHashlib) {
  // 1 MiB + 37 bytes from a linear congruential generator; the digests from Python's hashlib.
  std::string data((size_t{1} << 20) | 37u, '\0');
  uint32_t x = 1;
  for (auto& byte : data) {
    x = x * 1664525u + 1013904223u;
    byte = static_cast<char>(x >> 24);
  }
  for (const bool portable : {false, true}) {
    sha256_force_portable(portable);
    if (portable) EXPECT_FALSE(sha256_uses_sha_extensions());
    EXPECT_EQ(sha256_hex(data), "1282dd2ced5be06dce3a849f0c70721288871f510eff661c7229cfb932d728bb") << portable;
    EXPECT_EQ(sha256_hex(std::string_view(data).substr(0, 1000)),
              "bdb35a87b71f1a935c1e860ba9070b01f2ab781efd6ffe0c8ae82354b1b5461e")
        << portable;
  }
  sha256_force_portable(false);
}

TEST(Sha256, SharedTokenizerFilesHaveTheirPublishedHashes) {
  const std::string dir = std::string(std::getenv("COCOMIX_SHARED_DATA")) + "/gpt2_tokenizer/";
  // The hashes tiktoken pins for OpenAI's GPT-2 files.
  EXPECT_EQ(sha256_file_hex(dir + "encoder.json"), "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783");
  EXPECT_EQ(sha256_file_hex(dir + "vocab.bpe"), "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5");
  EXPECT_THROW(sha256_file_hex(dir + "absent"), RuntimeError);
}

}  // namespace
}  // namespace cocomix
