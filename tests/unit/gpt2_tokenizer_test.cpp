// The GPT-2 tokenizer against every shared reference: the gotoken and SharpToken
// (tiktoken-made) cases, the Hugging Face fixtures, tiktoken's ids of whole
// corpora, and the >= 10,000 random strings of make_tokenizer_cases.py; plus
// megabyte runs of one character and every kind of broken tokenizer file.
#include "cocomix/data/gpt2_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

using Ids = std::vector<uint32_t>;
using json = nlohmann::json;
namespace fs = std::filesystem;

std::string env_dir(const char* name) {
  const char* dir = std::getenv(name);
  if (dir == nullptr) throw std::runtime_error(std::string(name) + " is not set (run the tests through ctest)");
  return dir;
}

std::string shared(const std::string& relative) { return env_dir("COCOMIX_SHARED_DATA") + "/" + relative; }
std::string tests_file(const std::string& name) { return shared("gpt2_tokenizer_tests/" + name); }

/// A uint16 little-endian token file.
Ids read_u16(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  Ids ids(bytes.size() / 2);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<unsigned char>(bytes[2 * i]) | static_cast<unsigned char>(bytes[2 * i + 1]) << 8;
  return ids;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class Gpt2TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tokenizer_ = new Gpt2Tokenizer(Gpt2Tokenizer::load(shared("gpt2_tokenizer"))); }
  static void TearDownTestSuite() { delete tokenizer_; }

  /// Encodes `text` (special tokens allowed or not), compares with `expected` and
  /// checks that decoding gives `text` back.
  static void expect_ids(const std::string& text, const Ids& expected, bool special, const std::string& what) {
    const Ids ids = special ? tokenizer_->encode(text) : tokenizer_->encode_ordinary(text);
    ASSERT_EQ(ids, expected) << what;
    ASSERT_EQ(tokenizer_->decode(ids), text) << what;
  }

  static Gpt2Tokenizer* tokenizer_;
};

Gpt2Tokenizer* Gpt2TokenizerTest::tokenizer_ = nullptr;

TEST_F(Gpt2TokenizerTest, LoadsTheOpenAiFiles) {
  EXPECT_EQ(tokenizer_->vocab_size(), 50257);
  EXPECT_EQ(tokenizer_->end_of_text(), 50256u);
  EXPECT_EQ(tokenizer_->token_bytes(0), "!");
  EXPECT_EQ(tokenizer_->token_bytes(188), std::string(1, '\0'));  // the first byte outside the printable alphabet
  EXPECT_EQ(tokenizer_->token_bytes(220), " ");
  EXPECT_EQ(tokenizer_->token_bytes(256), " t");  // the first merge, "Ġ t"
  EXPECT_EQ(tokenizer_->token_bytes(50256), "<|endoftext|>");
  EXPECT_EQ(tokenizer_->files(), (std::vector<std::string>{shared("gpt2_tokenizer") + "/encoder.json",
                                                           shared("gpt2_tokenizer") + "/vocab.bpe"}));
}

TEST_F(Gpt2TokenizerTest, EveryGotokenCase) {
  const auto samples = lines_of(read_whole_file(tests_file("gotoken_samples.txt")));
  const auto expected = lines_of(read_whole_file(tests_file("gotoken_r50k_base.txt")));
  ASSERT_EQ(samples.size(), 71u);
  ASSERT_EQ(expected.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i)
    expect_ids(samples[i], json::parse(expected[i]).get<Ids>(), true, "gotoken line " + std::to_string(i + 1));
}

TEST_F(Gpt2TokenizerTest, EverySharpTokenR50kPlan) {
  const auto lines = lines_of(read_whole_file(tests_file("sharptoken_TestPlans.txt")));
  int plans = 0;
  for (size_t i = 0; i + 2 < lines.size(); ++i) {
    if (lines[i] != "EncodingName: r50k_base") continue;
    ASSERT_EQ(lines[i + 1].rfind("Sample: ", 0), 0u) << i;
    ASSERT_EQ(lines[i + 2].rfind("Encoded: ", 0), 0u) << i;
    expect_ids(lines[i + 1].substr(8), json::parse(lines[i + 2].substr(9)).get<Ids>(), true,
               "TestPlans line " + std::to_string(i + 2));
    ++plans;
  }
  EXPECT_EQ(plans, 67);
}

TEST_F(Gpt2TokenizerTest, HuggingFaceEncodedTokens) {
  const json fixture = json::parse(read_whole_file(tests_file("hf_swift_gpt2_encoded_tokens.json")));
  const auto text = fixture["text"].get<std::string>();
  expect_ids(text, fixture["token_ids"].get<Ids>(), false, "gpt2_encoded_tokens.json");
  EXPECT_EQ(tokenizer_->decode_text(fixture["token_ids"].get<Ids>()), fixture["decoded_text"].get<std::string>());
}

TEST_F(Gpt2TokenizerTest, HuggingFaceMultilingualConformance) {
  const json fixture = json::parse(read_whole_file(tests_file("hf_swift_conformance_openai-community__gpt2.json")));
  ASSERT_EQ(fixture["entries"].size(), 30u);
  for (const auto& [name, entry] : fixture["entries"].items())
    expect_ids(entry["decoded_with_special"].get<std::string>(), entry["input_ids"].get<Ids>(), true, name);
}

TEST_F(Gpt2TokenizerTest, TinyShakespeareLikeNanoGpt) {
  // nanoGPT's prepare.py: the first int(0.9 * len) characters (ASCII: bytes) are train.
  const std::string text = read_whole_file(shared("text_tinyshakespeare/input.txt"));
  const size_t split = text.size() * 9 / 10;
  const Ids train = read_u16(tests_file("tiktoken_gpt2_tinyshakespeare_train.bin"));
  const Ids val = read_u16(tests_file("tiktoken_gpt2_tinyshakespeare_val.bin"));
  EXPECT_EQ(train.size(), 301966u);
  EXPECT_EQ(val.size(), 36059u);
  expect_ids(text.substr(0, split), train, false, "tinyshakespeare train");
  expect_ids(text.substr(split), val, false, "tinyshakespeare val");
}

TEST_F(Gpt2TokenizerTest, WikiText2TestFile) {
  const Ids expected = read_u16(tests_file("tiktoken_gpt2_wiki.test.raw.bin"));
  EXPECT_EQ(expected.size(), 286221u);
  expect_ids(read_whole_file(shared("eval_wikitext2/wiki.test.raw")), expected, false, "wiki.test.raw");
}

TEST_F(Gpt2TokenizerTest, FirstThousandLambadaPassages) {
  const auto lines = lines_of(read_whole_file(tests_file("tiktoken_gpt2_lambada_first1000.jsonl")));
  ASSERT_EQ(lines.size(), 1000u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const json row = json::parse(lines[i]);
    expect_ids(row["text"].get<std::string>(), row["ids"].get<Ids>(), false, "LAMBADA " + std::to_string(i + 1));
  }
}

TEST_F(Gpt2TokenizerTest, RandomStringsMatchPythonTiktoken) {
  const std::string path = env_dir("COCOMIX_REFERENCE_DIR") + "/tokenizer_cases.jsonl";
  const auto lines = lines_of(read_whole_file(path));
  ASSERT_GE(lines.size(), 10000u);
  int invalid = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json row = json::parse(lines[i]);
    const auto hex = row["hex"].get<std::string>();
    std::string bytes;
    for (size_t k = 0; k < hex.size(); k += 2)
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16)));
    const bool special = row["mode"] == "special";
    const Ids expected = row["ids"].get<Ids>();
    const Ids ids = special ? tokenizer_->encode(bytes) : tokenizer_->encode_ordinary(bytes);
    ASSERT_EQ(ids, expected) << path << ":" << i + 1;
    if (tokenizer_->decode(ids) == bytes) continue;
    // Not valid UTF-8: tiktoken encoded the U+FFFD-repaired text, which is what decodes.
    ASSERT_EQ(tokenizer_->decode(ids), tokenizer_->decode_text(ids)) << path << ":" << i + 1;
    ++invalid;
  }
  EXPECT_GE(invalid, 900);
}

TEST_F(Gpt2TokenizerTest, SpecialTokenOnlyInEncode) {
  EXPECT_EQ(tokenizer_->encode_ordinary("<|endoftext|>"), (Ids{27, 91, 437, 1659, 5239, 91, 29}));
  EXPECT_EQ(tokenizer_->encode("Hello <|endoftext|> World"), (Ids{15496, 220, 50256, 2159}));
  EXPECT_EQ(tokenizer_->encode("<|endoftext|><|endoftext|>"), (Ids{50256, 50256}));
  Ids appended{7};
  tokenizer_->encode("a<|endoftext|>", appended);
  EXPECT_EQ(appended, (Ids{7, 64, 50256}));
}

TEST_F(Gpt2TokenizerTest, InvalidUtf8IsEncodedAsItsReplacement) {
  // tiktoken: encode_ordinary(b"\xff abc".decode("utf-8", "replace")) == [4210, 450, 66]
  EXPECT_EQ(tokenizer_->encode_ordinary("\xff abc"), (Ids{4210, 450, 66}));
  EXPECT_EQ(tokenizer_->encode_ordinary("\xff abc"), tokenizer_->encode_ordinary("\xEF\xBF\xBD abc"));
}

TEST_F(Gpt2TokenizerTest, DecodeTextReplacesIncompleteCharacters) {
  const Ids globe = tokenizer_->encode_ordinary("\xF0\x9F\x8C\x8D");  // 🌍
  EXPECT_EQ(globe, (Ids{8582, 234, 235}));
  EXPECT_EQ(tokenizer_->decode({8582, 234}), "\xF0\x9F\x8C");
  EXPECT_EQ(tokenizer_->decode_text({8582, 234}), "\xEF\xBF\xBD");
  EXPECT_EQ(tokenizer_->decode_text({15496, 8582}), "Hello\xEF\xBF\xBD");
  try {
    tokenizer_->decode({64, 50257});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "gpt2 tokenizer: token id 50257 is >= vocab_size 50257");
  }
}

TEST_F(Gpt2TokenizerTest, MegabyteRunsOfOneCharacter) {
  // tiktoken tiles power-of-two runs with its longest token of the character
  // (checked on 4096 and 65536 repetitions); a quadratic merge would take hours.
  const size_t n = size_t{1} << 20;
  struct Run {
    std::string unit;
    size_t repeats;
    Ids tile;
  };
  const Run runs[] = {
      {" ", n, {220}},  {"a", n, {24794}},           {"1", n, {26259}},    {"!", n, {34635}},
      {"\n", n, {628}}, {"\xC3\xA9", n / 2, {2634}}, {"ab", n / 2, {397}}, {"\xF0\x9F\x98\x80", n / 4, {47249, 222}}};
  for (const Run& run : runs) {
    std::string text;
    for (size_t i = 0; i < run.repeats; ++i) text += run.unit;
    const Ids ids = tokenizer_->encode_ordinary(text);
    ASSERT_EQ(ids.size() % run.tile.size(), 0u) << run.unit;
    bool tiled = true;
    for (size_t i = 0; i < ids.size() && tiled; ++i) tiled = ids[i] == run.tile[i % run.tile.size()];
    EXPECT_TRUE(tiled) << run.unit;
    EXPECT_EQ(tokenizer_->decode(ids), text) << run.unit;
  }
}

TEST_F(Gpt2TokenizerTest, CopiesAndThreadsGiveTheSameIds) {
  const std::string text = read_whole_file(shared("eval_wikitext2/wiki.test.raw")).substr(0, 200000);
  const Ids expected = tokenizer_->encode_ordinary(text);
  const Gpt2Tokenizer copy = *tokenizer_;
  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = copy.encode_ordinary(text); });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

// ---- the Hugging Face layout and broken files ---------------------------------

class Gpt2TokenizerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    encoder_ = json::parse(read_whole_file(shared("gpt2_tokenizer/encoder.json")));
    merges_ = read_whole_file(shared("gpt2_tokenizer/vocab.bpe"));
  }
  /// Writes vocab.json and merges.txt into the temp dir; returns the directory.
  std::string write(const json& vocab, const std::string& merges) {
    write_file_atomically(dir_.path() + "/vocab.json", vocab.dump());
    write_file_atomically(dir_.path() + "/merges.txt", merges);
    return dir_.path();
  }
  /// The one-line message load() throws for the files written by write().
  std::string error_of(const json& vocab, const std::string& merges) {
    try {
      Gpt2Tokenizer::load(write(vocab, merges));
    } catch (const RuntimeError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no error";
    return "";
  }
  std::string vocab_path() const { return dir_.path() + "/vocab.json"; }
  std::string merges_path() const { return dir_.path() + "/merges.txt"; }
  /// merges_ with line `number` (1-based) replaced.
  std::string merges_with_line(size_t number, const std::string& line) const {
    auto lines = lines_of(merges_);
    lines.at(number - 1) = line;
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    return text;
  }

  testing::TempDir dir_{"cocomix_gpt2_files"};
  json encoder_;
  std::string merges_;
};

TEST_F(Gpt2TokenizerFiles, HuggingFaceLayoutGivesTheSameTokenizer) {
  // vocab.json re-serialized (sorted keys, compact): same content, other layout.
  const auto tokenizer = Gpt2Tokenizer::load(write(encoder_, merges_));
  EXPECT_EQ(tokenizer.files(), (std::vector<std::string>{vocab_path(), merges_path()}));
  const auto openai = Gpt2Tokenizer::load(shared("gpt2_tokenizer"));
  const std::string text = read_whole_file(shared("text_tinyshakespeare/input.txt")).substr(0, 50000);
  EXPECT_EQ(tokenizer.encode(text), openai.encode(text));
  EXPECT_EQ(tokenizer.vocab_size(), 50257);
}

TEST_F(Gpt2TokenizerFiles, MissingFiles) {
  EXPECT_THROW(Gpt2Tokenizer::load(dir_.path()), RuntimeError);
  try {
    Gpt2Tokenizer::load(dir_.path());
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.path() +
                                         ": no GPT-2 tokenizer files (expected encoder.json + vocab.bpe, "
                                         "or vocab.json + merges.txt)");
  }
  write_file_atomically(dir_.path() + "/vocab.json", encoder_.dump());
  try {
    Gpt2Tokenizer::load(dir_.path());
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), merges_path() + ": cannot open for reading: No such file or directory");
  }
}

TEST_F(Gpt2TokenizerFiles, InvalidJson) {
  write(encoder_, merges_);
  write_file_atomically(vocab_path(), R"({"!": 0, "\"": 1,,})");
  try {
    Gpt2Tokenizer::load(dir_.path());
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(vocab_path() + ": invalid JSON: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(error_of(json::array({1, 2}), merges_),
            vocab_path() + ": expected a JSON object of token -> id, got a JSON array");
}

TEST_F(Gpt2TokenizerFiles, WrongCounts) {
  json fewer = encoder_;
  fewer.erase("Ġt");
  EXPECT_EQ(error_of(fewer, merges_), vocab_path() + ": holds 50256 tokens, but the 256 bytes, 50000 merges of " +
                                          merges_path() + " and <|endoftext|> make 50257");
  // One merge fewer: the vocabulary has a token too many.
  std::string short_merges = merges_.substr(0, merges_.rfind('\n', merges_.size() - 2) + 1);
  EXPECT_EQ(error_of(encoder_, short_merges), vocab_path() +
                                                  ": holds 50257 tokens, but the 256 bytes, 49999 merges of " +
                                                  merges_path() + " and <|endoftext|> make 50256");
  json misplaced = encoder_;
  misplaced["<|endoftext|>"] = 256;
  misplaced["Ġt"] = 50256;
  EXPECT_EQ(error_of(misplaced, merges_),
            vocab_path() +
                ": token \"<|endoftext|>\" has id 256, expected 50256 (right after the 256 bytes and "
                "50000 merges of the merges file)");
  json no_end = encoder_;
  no_end.erase("<|endoftext|>");
  EXPECT_EQ(error_of(no_end, merges_), vocab_path() + ": no <|endoftext|> token");
}

TEST_F(Gpt2TokenizerFiles, DuplicateAndBadIds) {
  json duplicate = encoder_;
  duplicate["Ġt"] = 0;  // "!" has id 0
  EXPECT_EQ(error_of(duplicate, merges_), vocab_path() + ": duplicate id 0: tokens \"!\" and \"Ġt\"");
  json negative = encoder_;
  negative["Ġt"] = -3;
  EXPECT_EQ(error_of(negative, merges_), vocab_path() + ": token \"Ġt\": id must be a non-negative integer, got -3");
  json large = encoder_;
  large["Ġt"] = 70000;
  EXPECT_EQ(error_of(large, merges_), vocab_path() +
                                          ": token \"Ġt\": id 70000 is out of range: 50000 merges + 256 "
                                          "bytes + <|endoftext|> give ids 0..50256");
  json swapped = encoder_;
  swapped["Ġt"] = 257;
  swapped["Ġa"] = 256;
  EXPECT_EQ(error_of(swapped, merges_), vocab_path() + ": token \"Ġa\" has id 256 but the merges in " + merges_path() +
                                            " give it id 257 (the two files do not belong together)");
  json alien = encoder_;
  alien.erase("Ġt");
  alien["\xE2\x82\xAC"] = 256;  // € is not in the byte alphabet
  EXPECT_EQ(error_of(alien, merges_),
            vocab_path() + ": token \"\xE2\x82\xAC\": character byte 226 is not in GPT-2's byte-to-unicode alphabet");
}

TEST_F(Gpt2TokenizerFiles, BadMerges) {
  EXPECT_EQ(error_of(encoder_, merges_with_line(2, "Ġ t x")),
            merges_path() + ":2: expected a merge \"A B\" (two symbols separated by one space), got \"Ġ t x\"");
  EXPECT_EQ(error_of(encoder_, merges_with_line(3, "")),
            merges_path() + ":3: expected a merge \"A B\" (two symbols separated by one space), got \"\"");
  EXPECT_EQ(error_of(encoder_, merges_with_line(2, "Ġ zebra")),
            merges_path() +
                ":2: merge \"Ġ zebra\" names the unknown symbol \"zebra\" (neither a byte nor made by "
                "an earlier merge)");
  EXPECT_EQ(error_of(encoder_, merges_with_line(3, "Ġ t")),
            merges_path() + ":3: merge \"Ġ t\" makes a token that a byte or an earlier merge already made");
  EXPECT_EQ(error_of(encoder_, merges_with_line(2, "Ġ \t")),
            merges_path() + ":2: merge \"Ġ \\t\": character U+0009 is not in GPT-2's byte-to-unicode alphabet");
}

}  // namespace
}  // namespace cocomix
