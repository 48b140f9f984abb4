// data/sharded_token_writer.h: shard names and sizes, documents continuing
// across shards, the resume position recorded per shard, and shard numbering
// after the shards of a resumed run.
#include "cocomix/data/sharded_token_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <vector>

#include "cocomix/data/token_file.h"
#include "cocomix/util/error.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

std::vector<int64_t> tokens_of(const std::string& path) {
  const TokenFile file = TokenFile::open(path);
  std::vector<int64_t> tokens(static_cast<size_t>(file.size()));
  file.read(0, file.size(), tokens.data());
  return tokens;
}

TEST(ShardedTokenWriter, CutsEveryShardTokensAndRecordsWhereToResume) {
  testing::TempDir dir("cocomix_shards");
  ShardedTokenWriter writer(dir.path(), "train", 4);
  std::vector<std::string> finished;
  writer.on_shard_finished = [&](const ShardedTokenWriter::Shard& shard) { finished.push_back(shard.file); };
  const std::vector<uint32_t> doc0{1, 2, 3}, doc2{4, 5, 6, 7, 8, 9, 10};
  writer.write(0, doc0.data(), doc0.size());
  writer.write(2, doc2.data(), doc2.size());
  EXPECT_EQ(writer.tokens(), 10);
  writer.finish();
  ASSERT_EQ(writer.shards().size(), 3u);
  EXPECT_EQ(finished, (std::vector<std::string>{"train_000000.bin", "train_000001.bin", "train_000002.bin"}));
  // Shard 0 = doc0 + the first token of doc2: the next shard resumes at doc2's token 1.
  EXPECT_EQ(writer.shards()[0].next_document, 2);
  EXPECT_EQ(writer.shards()[0].next_token, 1);
  EXPECT_EQ(writer.shards()[1].next_document, 2);
  EXPECT_EQ(writer.shards()[1].next_token, 5);
  EXPECT_EQ(writer.shards()[2].next_document, -1);  // the split's end
  EXPECT_EQ(tokens_of(dir.path() + "/train_000000.bin"), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(tokens_of(dir.path() + "/train_000001.bin"), (std::vector<int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(tokens_of(dir.path() + "/train_000002.bin"), (std::vector<int64_t>{9, 10}));
}

TEST(ShardedTokenWriter, ContinuesNumberingAfterResumedShardsAndWritesNothingEmpty) {
  testing::TempDir dir("cocomix_shards");
  ShardedTokenWriter writer(dir.path(), "val", 100, {{"val_000000.bin", 100, 5, 0}, {"val_000001.bin", 100, 9, 3}});
  const std::vector<uint32_t> rest{7, 8};
  writer.write(9, rest.data(), rest.size(), 3);
  writer.finish();
  ASSERT_EQ(writer.shards().size(), 3u);
  EXPECT_EQ(writer.shards()[2].file, "val_000002.bin");
  EXPECT_EQ(writer.tokens(), 202);
  ShardedTokenWriter empty(dir.path(), "train", 100);
  empty.finish();
  EXPECT_TRUE(empty.shards().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/train_000000.bin"));
  EXPECT_THROW(ShardedTokenWriter(dir.path(), "train", 0), UsageError);
  EXPECT_THROW(ShardedTokenWriter(dir.path(), "train", int64_t{1} << 31), UsageError);
}

}  // namespace
}  // namespace cocomix
