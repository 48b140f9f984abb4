// data/corpus_tokenizer.h: a JSON-lines corpus of LAMBADA passages tokenized into
// small shards must hold exactly each document's GPT-2 ids plus end-of-text, in
// index order per split, for any thread count; a complete directory is left
// alone, an interrupted run resumes to the same bytes, other settings start over.
#include "cocomix/data/corpus_tokenizer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cocomix/data/sharded_token_writer.h"
#include "cocomix/data/token_file.h"
#include "cocomix/data/train_val_split.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string shared(const std::string& relative) {
  return std::string(std::getenv("COCOMIX_SHARED_DATA")) + "/" + relative;
}

class CorpusTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    set_log_level(LogLevel::kWarn);
    tokenizer_ = new Gpt2Tokenizer(Gpt2Tokenizer::load(shared("gpt2_tokenizer")));
  }
  static void TearDownTestSuite() { delete tokenizer_; }

  void SetUp() override {
    // The first 400 LAMBADA passages, one JSON row each.
    std::istringstream lines(read_whole_file(shared("eval_lambada/lambada_test.jsonl")));
    std::string line, rows;
    while (texts_.size() < 400 && std::getline(lines, line)) {
      texts_.push_back(json::parse(line)["text"].get<std::string>());
      rows += line + "\n";
    }
    input_ = dir_.path() + "/lambada.jsonl";
    write_file_atomically(input_, rows);
  }

  CorpusOptions options(const std::string& out) const {
    CorpusOptions o;
    o.inputs = {input_};
    o.out_dir = dir_.path() + "/" + out;
    o.seed = 5;
    o.val_fraction = 0.2;
    o.shard_tokens = 3000;
    o.threads = 2;
    o.progress_seconds = 0;
    return o;
  }

  /// All tokens of a split's shards, in order, checking the manifest's counts.
  static std::vector<int64_t> split_tokens(const std::string& dir, const json& split) {
    std::vector<int64_t> tokens;
    for (const auto& shard : split["shards"]) {
      const TokenFile file = TokenFile::open(dir + "/" + shard["file"].get<std::string>());
      EXPECT_EQ(file.size(), shard["tokens"].get<int64_t>());
      const size_t at = tokens.size();
      tokens.resize(at + static_cast<size_t>(file.size()));
      file.read(0, file.size(), tokens.data() + at);
    }
    EXPECT_EQ(static_cast<int64_t>(tokens.size()), split["tokens"].get<int64_t>());
    return tokens;
  }

  /// Checks the output against the documents encoded one by one.
  void expect_corpus(const std::string& dir, const ValidationSplit& rule) const {
    const json manifest = json::parse(read_whole_file(dir + "/manifest.json"));
    std::vector<int64_t> expected[2];
    int64_t documents[2] = {0, 0};
    for (size_t i = 0; i < texts_.size(); ++i) {
      const int split = rule.is_validation(static_cast<int64_t>(i)) ? 1 : 0;
      for (const uint32_t id : tokenizer_->encode_ordinary(texts_[i])) expected[split].push_back(id);
      expected[split].push_back(50256);
      ++documents[split];
    }
    EXPECT_EQ(manifest["documents"], 400);
    EXPECT_EQ(manifest["tokenizer"], "gpt2");
    EXPECT_EQ(manifest["settings"]["tokenizer_files"][0]["sha256"],
              "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783");
    const char* names[2] = {"train", "val"};
    for (int split = 0; split < 2; ++split) {
      EXPECT_EQ(split_tokens(dir, manifest["splits"][names[split]]), expected[split]) << names[split];
      EXPECT_EQ(manifest["splits"][names[split]]["documents"], documents[split]);
    }
    EXPECT_FALSE(fs::exists(dir + "/progress.json"));
  }

  static std::string read(const std::string& path) { return read_whole_file(path); }

  static Gpt2Tokenizer* tokenizer_;
  testing::TempDir dir_{"cocomix_corpus"};
  std::vector<std::string> texts_;
  std::string input_;
};

Gpt2Tokenizer* CorpusTokenizerTest::tokenizer_ = nullptr;

TEST_F(CorpusTokenizerTest, ShardsHoldEveryDocumentInOrderForAnyThreadCount) {
  const auto encoder = gpt2_corpus_encoder(*tokenizer_);
  auto one = options("one");
  one.threads = 1;
  const CorpusSummary summary = tokenize_corpus(encoder, one);
  EXPECT_FALSE(summary.resumed || summary.already_complete);
  expect_corpus(one.out_dir, ValidationSplit::by_fraction(5, 0.2));
  auto three = options("three");
  three.threads = 3;
  tokenize_corpus(encoder, three);
  const json manifest = json::parse(read(one.out_dir + "/manifest.json"));
  ASSERT_GT(manifest["splits"]["train"]["shards"].size(), 3u);
  for (const char* split : {"train", "val"})
    for (const auto& shard : manifest["splits"][split]["shards"]) {
      const std::string name = shard["file"];
      EXPECT_EQ(read(one.out_dir + "/" + name), read(three.out_dir + "/" + name)) << name;
    }
}

TEST_F(CorpusTokenizerTest, ExactValidationCount) {
  auto counted = options("counted");
  counted.val_documents = 37;
  tokenize_corpus(gpt2_corpus_encoder(*tokenizer_), counted);
  expect_corpus(counted.out_dir, ValidationSplit::by_count(5, 37, 400));
  EXPECT_EQ(json::parse(read(counted.out_dir + "/manifest.json"))["splits"]["val"]["documents"], 37);
}

TEST_F(CorpusTokenizerTest, CompleteDirectoryIsLeftAlone) {
  const auto encoder = gpt2_corpus_encoder(*tokenizer_);
  const auto o = options("done");
  tokenize_corpus(encoder, o);
  const std::string manifest = read(o.out_dir + "/manifest.json");
  const CorpusSummary again = tokenize_corpus(encoder, o);
  EXPECT_TRUE(again.already_complete);
  EXPECT_EQ(read(o.out_dir + "/manifest.json"), manifest);
}

TEST_F(CorpusTokenizerTest, InterruptedRunResumesToTheSameBytes) {
  const auto encoder = gpt2_corpus_encoder(*tokenizer_);
  auto clean = options("clean");
  tokenize_corpus(encoder, clean);

  // The same run, failing after 300 documents as a crash would (batches hold 256).
  auto crashing = encoder;
  auto encoded = std::make_shared<std::atomic<int>>(0);
  crashing.encode = [encoder, encoded](std::string_view text, std::vector<uint32_t>& ids) {
    if (++*encoded > 300) throw RuntimeError("simulated crash");
    encoder.encode(text, ids);
  };
  auto resumed = options("resumed");
  resumed.threads = 1;
  EXPECT_THROW(tokenize_corpus(crashing, resumed), RuntimeError);
  EXPECT_FALSE(fs::exists(resumed.out_dir + "/manifest.json"));
  const json progress = json::parse(read(resumed.out_dir + "/progress.json"));
  const size_t complete = progress["splits"]["train"].size();
  ASSERT_GT(complete, 1u);
  for (const auto& entry : fs::directory_iterator(resumed.out_dir))
    EXPECT_EQ(entry.path().extension(), entry.path().filename() == "progress.json" ? ".json" : ".bin")
        << entry.path();  // no .tmp left behind

  const std::string damaged = dir_.path() + "/damaged";  // a copy whose progress.json is cut short
  fs::copy(resumed.out_dir, damaged);
  const std::string progress_text = read(resumed.out_dir + "/progress.json");
  write_file_atomically(damaged + "/progress.json", progress_text.substr(0, progress_text.size() / 2));
  auto restart = options("damaged");
  EXPECT_FALSE(tokenize_corpus(encoder, restart).resumed);
  expect_corpus(damaged, ValidationSplit::by_fraction(5, 0.2));
  fs::remove_all(damaged);

  const CorpusSummary summary = tokenize_corpus(encoder, resumed);
  EXPECT_TRUE(summary.resumed);
  expect_corpus(resumed.out_dir, ValidationSplit::by_fraction(5, 0.2));
  const json manifest = json::parse(read(clean.out_dir + "/manifest.json"));
  for (const char* split : {"train", "val"})
    for (const auto& shard : manifest["splits"][split]["shards"]) {
      const std::string name = shard["file"];
      EXPECT_EQ(read(clean.out_dir + "/" + name), read(resumed.out_dir + "/" + name)) << name;
    }
}

TEST_F(CorpusTokenizerTest, OtherSettingsStartOver) {
  const auto encoder = gpt2_corpus_encoder(*tokenizer_);
  auto small = options("redo");
  small.shard_tokens = 1000;
  tokenize_corpus(encoder, small);
  const size_t small_shards = json::parse(read(small.out_dir + "/manifest.json"))["splits"]["train"]["shards"].size();
  auto large = options("redo");  // same directory, larger shards
  const CorpusSummary summary = tokenize_corpus(encoder, large);
  EXPECT_FALSE(summary.resumed || summary.already_complete);
  expect_corpus(large.out_dir, ValidationSplit::by_fraction(5, 0.2));
  const size_t large_shards = json::parse(read(large.out_dir + "/manifest.json"))["splits"]["train"]["shards"].size();
  ASSERT_LT(large_shards, small_shards);
  EXPECT_FALSE(fs::exists(large.out_dir + "/" + ShardedTokenWriter::shard_name("train", large_shards)));
}

TEST_F(CorpusTokenizerTest, BadOptionsAndOutput) {
  const auto encoder = gpt2_corpus_encoder(*tokenizer_);
  auto bad = options("bad");
  bad.val_fraction = 1.0;
  EXPECT_THROW(tokenize_corpus(encoder, bad), UsageError);
  auto no_shards = options("done");
  tokenize_corpus(encoder, no_shards);
  no_shards.shard_tokens = 0;  // refused before the complete directory is touched
  EXPECT_THROW(tokenize_corpus(encoder, no_shards), UsageError);
  EXPECT_TRUE(fs::exists(no_shards.out_dir + "/manifest.json"));
  auto blocked = options("blocked");
  write_file_atomically(dir_.path() + "/file", "x");
  blocked.out_dir = dir_.path() + "/file/sub";  // a file where a directory must go
  EXPECT_THROW(tokenize_corpus(encoder, blocked), RuntimeError);
}

}  // namespace
}  // namespace cocomix
