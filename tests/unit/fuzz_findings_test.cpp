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
#include "cocomix/util/error.h"
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

}  // namespace
}  // namespace cocomix
