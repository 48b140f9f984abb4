// TokenCorpus: a file, a cocomix-tokenize directory (both manifest layouts) and
// a glob resolve to their shards in order with their token counts; every way a
// corpus can be wrong is one RuntimeError naming the path and the reason.
#include "cocomix/data/token_corpus.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/util/error.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string shard(const fs::path& dir, const std::string& name, int64_t tokens, bool wide = false) {
  fs::create_directories(dir);
  std::vector<uint32_t> ids(static_cast<size_t>(tokens));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<uint32_t>(i % 50000);
  const std::string path = (dir / name).string();
  write_token_file(path, ids, TokenFormat::kLlmc, wide);
  return path;
}

void write_json(const fs::path& path, const json& document) { std::ofstream(path) << document.dump(); }

/// A GPT-2 layout directory: train shards of the given sizes, one val shard.
fs::path gpt2_directory(const fs::path& dir, const std::vector<int64_t>& train_sizes, const std::string& tokenizer) {
  json shards = json::array();
  for (size_t i = 0; i < train_sizes.size(); ++i) {
    const std::string name = "train_00000" + std::to_string(i) + ".bin";
    shard(dir, name, train_sizes[i]);
    shards.push_back({{"file", name}, {"tokens", train_sizes[i]}});
  }
  shard(dir, "val_000000.bin", 7);
  write_json(
      dir / "manifest.json",
      {{"tokenizer", tokenizer},
       {"vocab_size", 50257},
       {"end_of_text", 50256},
       {"splits",
        {{"train", {{"shards", shards}}}, {"val", {{"shards", {{{"file", "val_000000.bin"}, {"tokens", 7}}}}}}}}});
  return dir;
}

std::string error_of(const std::string& spec, const std::string& split = "train") {
  try {
    TokenCorpus::open(spec, split);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "opened";
}

TEST(TokenCorpus, AFileADirectoryAndAGlobResolveToTheirShards) {
  testing::TempDir tmp;
  const fs::path root = tmp.path();
  const auto file = shard(root / "single", "tokens.bin", 100);
  const auto one = TokenCorpus::open(file, "train");
  ASSERT_EQ(one.shards().size(), 1u);
  EXPECT_EQ(one.size(), 100);
  EXPECT_EQ(one.tokenizer(), "");  // no manifest.json beside it

  const auto dir = gpt2_directory(root / "gpt2", {30, 20, 11}, "gpt2");
  const auto train = TokenCorpus::open(dir.string(), "train");
  ASSERT_EQ(train.shards().size(), 3u);
  EXPECT_EQ(train.shards()[1].path, (dir / "train_000001.bin").string());
  EXPECT_EQ(train.shards()[2].layout.tokens, 11);
  EXPECT_EQ(train.size(), 61);
  EXPECT_EQ(train.tokenizer(), "\"gpt2\" vocab_size 50257 end_of_text 50256");
  EXPECT_EQ(TokenCorpus::open(dir.string(), "val").size(), 7);

  // The byte tokenizer's layout: one file per split.
  const fs::path bytes = root / "bytes";
  shard(bytes, "train.bin", 40);
  write_json(bytes / "manifest.json",
             {{"tokenizer", "bytes"}, {"splits", {{"train", {{"file", "train.bin"}, {"tokens", 40}}}}}});
  const auto byte_corpus = TokenCorpus::open(bytes.string(), "train");
  EXPECT_EQ(byte_corpus.size(), 40);
  EXPECT_EQ(byte_corpus.tokenizer(), "\"bytes\" vocab_size null end_of_text null");  // fields it lacks: null

  // A glob: its matches in sorted order.
  const auto glob = TokenCorpus::open((dir / "train_*.bin").string(), "train");
  ASSERT_EQ(glob.shards().size(), 3u);
  EXPECT_EQ(glob.shards()[0].path, (dir / "train_000000.bin").string());
  EXPECT_EQ(glob.size(), 61);
}

TEST(TokenCorpus, ReadsTheSameTokensForEitherAccessWithMoreShardsThanStayMapped) {
  testing::TempDir tmp;
  const std::vector<int64_t> sizes(TokenCorpus::kMaxOpenShards + 2, 50);
  const auto dir = gpt2_directory(fs::path(tmp.path()) / "gpt2", sizes, "gpt2");
  for (const auto access : {TokenAccess::kSequential, TokenAccess::kRandom}) {
    const auto corpus = TokenCorpus::open(dir.string(), "train", TokenFormat::kAuto, access);
    // Every shard forwards, then backwards: each read past the first kMaxOpenShards maps a shard anew.
    std::vector<size_t> order;
    for (size_t s = 0; s < sizes.size(); ++s) order.push_back(s);
    for (size_t s = sizes.size(); s-- > 0;) order.push_back(s);
    for (const size_t s : order) {
      std::vector<int64_t> tokens(5);
      corpus.read(corpus.shard_begin(s) + 3, 5, tokens.data());
      EXPECT_EQ(tokens, (std::vector<int64_t>{3, 4, 5, 6, 7})) << "shard " << s;
    }
  }
}

TEST(TokenCorpus, EveryBadCorpusIsOneLineNamingThePath) {
  testing::TempDir tmp;
  const fs::path root = tmp.path();
  EXPECT_EQ(error_of((root / "nothing").string()).rfind((root / "nothing").string() + ": cannot open token file", 0),
            0u);

  fs::create_directories(root / "bare");
  shard(root / "bare", "train_000000.bin", 5);
  EXPECT_EQ(error_of((root / "bare").string()),
            (root / "bare").string() +
                ": a directory without manifest.json (not written by cocomix-tokenize, or not finished)");

  const auto dir = gpt2_directory(root / "gpt2", {30, 20}, "gpt2");
  EXPECT_EQ(error_of(dir.string(), "test"), (dir / "manifest.json").string() + ": splits.test: missing");
  fs::remove(dir / "train_000001.bin");
  EXPECT_EQ(error_of(dir.string()), (dir / "train_000001.bin").string() + ": missing (" + dir.string() +
                                        "/manifest.json lists it in splits.train)");
  shard(dir, "train_000001.bin", 19);  // one token short of the manifest's 20
  EXPECT_EQ(error_of(dir.string()), (dir / "train_000001.bin").string() + ": holds 19 tokens, " + dir.string() +
                                        "/manifest.json says 20 (truncated or replaced)");

  EXPECT_EQ(error_of((root / "gpt2" / "*.tokens").string()),
            (root / "gpt2" / "*.tokens").string() + ": the glob matches no file");

  shard(root / "mixed", "a.bin", 10);
  shard(root / "mixed", "b.bin", 10, /*wide=*/true);
  EXPECT_EQ(error_of((root / "mixed" / "*.bin").string()),
            (root / "mixed" / "b.bin").string() + ": 32-bit tokens, but " + (root / "mixed" / "a.bin").string() +
                " has 16-bit tokens");

  gpt2_directory(root / "corpora" / "one", {8}, "gpt2");
  gpt2_directory(root / "corpora" / "two", {8}, "llama");
  const auto message = error_of((root / "corpora" / "*" / "train_*.bin").string());
  EXPECT_EQ(
      message.rfind(
          (root / "corpora" / "two" / "train_000000.bin").string() + ": its manifest records tokenizer \"llama\"", 0),
      0u)
      << message;

  const fs::path empty = root / "empty";
  fs::create_directories(empty);
  write_json(empty / "manifest.json", {{"splits", {{"val", {{"shards", json::array()}}}}}});
  EXPECT_EQ(error_of(empty.string(), "val"),
            (empty / "manifest.json").string() + ": splits.val: no shards (the split has no tokens)");
}

}  // namespace
}  // namespace cocomix
