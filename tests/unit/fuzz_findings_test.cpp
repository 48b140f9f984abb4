// Inputs the fuzz targets (tests/fuzz) found that broke a parser, each kept
// as a test of the one-line error it now gets.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/data/document_reader.h"
#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/util/error.h"
#include "cocomix/util/json_field.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

template <typename Error>
std::string error_of(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error of the expected kind)";
}
std::string usage_error_of(const std::function<void()>& parse) { return error_of<UsageError>(parse); }
std::string runtime_error_of(const std::function<void()>& parse) { return error_of<RuntimeError>(parse); }

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// nlohmann's message for the number below, after its "[json.exception.out_of_range.406] ".
constexpr const char* kOverflow = "number overflow parsing '1e999'";

// A --set value that is not UTF-8 was stored as a JSON string, and the first
// error message that printed it threw nlohmann's type_error 316 instead.
TEST(FuzzFindings, OverrideValueThatIsNotUtf8) {
  nlohmann::json document = {{"data", {{"seq_len", 64}}}};
  EXPECT_EQ(usage_error_of([&] { apply_override(document, "data.seq_len=64\xff\xff=0.5", "c.json"); }),
            "c.json: --set data.seq_len: the value is not valid UTF-8");
  EXPECT_EQ(document["data"]["seq_len"], 64);
}

// A number beyond a double makes nlohmann throw out_of_range, not parse_error, and the
// parse-error handlers let it escape without naming the file.
TEST(FuzzFindings, NumberBeyondADoubleInAConfig) {
  testing::TempDir tmp;
  const auto path = write(tmp.path() + "/c.json", R"({"optim": {"lr": 1e999}})");
  EXPECT_EQ(usage_error_of([&] { load_config(path); }),
            path + ": invalid JSON: [json.exception.out_of_range.406] " + kOverflow);
}

TEST(FuzzFindings, NumberBeyondADoubleInAJsonLinesRow) {
  testing::TempDir tmp;
  const auto path = write(tmp.path() + "/rows.jsonl", "{\"text\": \"a\", \"n\": 1e999}\n");
  DocumentReader reader({path}, {});
  InputDocument document;
  EXPECT_EQ(runtime_error_of([&] { reader.next(document); }),
            path + ":1: not valid JSON: [json.exception.out_of_range.406] " + kOverflow + " (or pass --skip-bad)");
}

TEST(FuzzFindings, NumberBeyondADoubleInAVocabulary) {
  testing::TempDir tmp;
  const auto vocab = write(tmp.path() + "/encoder.json", R"({"!": 1e999})");
  const auto merges = write(tmp.path() + "/vocab.bpe", "#version: 0.2\n");
  EXPECT_EQ(runtime_error_of([&] { Gpt2Tokenizer::load_files(vocab, merges); }),
            vocab + ": invalid JSON: [json.exception.out_of_range.406] " + kOverflow);
}

// A config file that is valid JSON but not an object (here the number 9) met an override,
// which indexed into it and threw nlohmann's type_error 305.
TEST(FuzzFindings, OverrideOfAConfigThatIsNotAnObject) {
  testing::TempDir tmp;
  const auto path = write(tmp.path() + "/c.json", "9");
  EXPECT_EQ(usage_error_of([&] { load_config(path, {"train.max_steps=1"}); }),
            path + ": the config must be a JSON object of sections");
}

// A shard manifest's token count of 1e21 is a JSON float; nlohmann's get<int64_t>
// converted it to an integer, undefined behaviour out of range (1.5 or true were
// taken as 1 without a word).
TEST(FuzzFindings, TokenCountThatIsNotAnInteger) {
  testing::TempDir tmp;
  for (const std::string count : {"999999999999999999996", "1.5", "true", "9223372036854775808"}) {
    write(tmp.path() + "/manifest.json", R"({"tokenizer": "bytes", "vocab_size": 257,
        "splits": {"val": {"file": "val.bin", "tokens": )" +
                                             count + "}}}");
    const std::string error = runtime_error_of([&] { TokenCorpus::open(tmp.path(), "val"); });
    const std::string where = tmp.path() + "/manifest.json: splits.val: tokens: ";
    EXPECT_EQ(error.rfind(where, 0), 0u) << error;
    EXPECT_TRUE(error.find("expected an integer, got") != std::string::npos ||
                error.find("is out of range") != std::string::npos)
        << error;
  }
}

TEST(FuzzFindings, JsonIntegerTakesOnlyIntegersInRange) {
  EXPECT_EQ(json_integer(nlohmann::json::parse("-7"), "f"), -7);
  EXPECT_EQ(json_integer(nlohmann::json::parse("9223372036854775807"), "f"), INT64_MAX);
  EXPECT_EQ(runtime_error_of([] { json_integer(nlohmann::json::parse("1e21"), "f"); }),
            "f: expected an integer, got 1e+21");
  EXPECT_EQ(runtime_error_of([] { json_integer(nlohmann::json::parse("2.0"), "f"); }),
            "f: expected an integer, got 2.0");
  EXPECT_EQ(runtime_error_of([] { json_integer(nlohmann::json::parse("true"), "f"); }),
            "f: expected an integer, got true");
  EXPECT_EQ(runtime_error_of([] { json_integer(nlohmann::json::parse("9223372036854775808"), "f"); }),
            "f: 9223372036854775808 is out of range");
  EXPECT_EQ(runtime_error_of([] {
              json_field<int64_t>({{"k", 0.5}}, "k", "s.json");
            }),
            "s.json: k: expected an integer, got 0.5");
}

// A label cache whose shard entry had a key with a newline in it: the message
// named the differing field by the damaged entry's raw key, on two lines.
TEST(FuzzFindings, ShardEntryWithAKeyThatHoldsANewline) {
  const auto then = nlohmann::json::parse(R"([{"file": "a.bin", "tokens": 5},
                                              {"file": "b.bin", "tok\nens": 7}])");
  const auto now = nlohmann::json::parse(R"([{"file": "a.bin", "tokens": 5},
                                             {"file": "b.bin", "tokens": 7}])");
  EXPECT_EQ(shard_list_change(then, now), "shard 1 (\"b.bin\"): tokens null then, 7 now");
  auto damaged_name = now;
  damaged_name[1]["file"] = "b\n.bin";
  EXPECT_EQ(shard_list_change(damaged_name, now), "shard 1 (\"b\\n.bin\"): file \"b\\n.bin\" then, \"b.bin\" now");
  auto extra_field = now;
  extra_field[1]["x\ny"] = 1;
  const std::string change = shard_list_change(extra_field, now);
  EXPECT_EQ(change.find('\n'), std::string::npos) << change;
}

}  // namespace
}  // namespace cocomix
