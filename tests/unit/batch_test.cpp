// read_batch: inputs and targets of a small hand-written file and of a corpus
// of two shards, worked out by hand, the errors for an id outside the
// vocabulary and a window that leaves its file or shard, and the validation
// windows of a sharded corpus.
#include "cocomix/data/batch.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cocomix/data/token_file.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

//                                         position: 0  1  2  3    4  5  6  7  8  9
const std::vector<uint32_t> kTokens = {5, 9, 2, 7, 300, 1, 0, 4, 8, 6};

/// A token file written for one test and deleted after it.
struct ScratchFile {
  ScratchFile(const std::string& name, const std::vector<uint32_t>& tokens, bool wide = false)
      : path(::testing::TempDir() + "cocomix_batch_" + std::to_string(::getpid()) + "_" + name) {
    write_token_file(path, tokens, TokenFormat::kLlmc, wide);
  }
  ~ScratchFile() { std::filesystem::remove(path); }
  const std::string path;
};

std::string batch_error(const TokenCorpus& file, const std::vector<int64_t>& starts, int64_t seq_len,
                        int64_t vocab_size) {
  try {
    read_batch(file, starts, seq_len, vocab_size);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST(ReadBatch, CopiesWindowsAsInputsAndShiftedTargets) {
  const ScratchFile scratch("small.bin", kTokens);
  const auto file = TokenCorpus::open(scratch.path, "train");
  const Batch batch = read_batch(file, {0, 4, 6}, 3, 301);
  EXPECT_EQ(batch.inputs.scalar_type(), torch::kInt64);
  EXPECT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(batch.targets.sizes(), (std::vector<int64_t>{3, 3}));
  const auto expected_inputs = torch::tensor({5, 9, 2, 300, 1, 0, 0, 4, 8}, torch::kInt64).view({3, 3});
  const auto expected_targets = torch::tensor({9, 2, 7, 1, 0, 4, 4, 8, 6}, torch::kInt64).view({3, 3});
  EXPECT_TRUE(torch::equal(batch.inputs, expected_inputs)) << batch.inputs;
  EXPECT_TRUE(torch::equal(batch.targets, expected_targets)) << batch.targets;
}

TEST(ReadBatch, ChecksEveryIdAgainstTheVocabulary) {
  const ScratchFile scratch("vocab.bin", kTokens);
  const auto& path = scratch.path;
  const auto file = TokenCorpus::open(path, "train");
  EXPECT_EQ(batch_error(file, {0}, 6, 300), path + ": token id 300 at position 4 is >= model.vocab_size 300");
  // 300 only as the last target of the window [1, 4] is still caught.
  EXPECT_EQ(batch_error(file, {1}, 3, 300), path + ": token id 300 at position 4 is >= model.vocab_size 300");
  EXPECT_EQ(batch_error(file, {5}, 4, 300), "");  // this window avoids it

  const ScratchFile wide_file("wide.bin", {3, 70000, 1}, /*wide=*/true);
  const auto wide = TokenCorpus::open(wide_file.path, "train");
  EXPECT_EQ(batch_error(wide, {0}, 2, 50257),
            wide_file.path + ": token id 70000 at position 1 is >= model.vocab_size 50257");
}

TEST(ReadBatch, RejectsWindowsOutsideTheFile) {
  const ScratchFile scratch("edge.bin", kTokens);
  const auto& path = scratch.path;
  const auto file = TokenCorpus::open(path, "train");
  EXPECT_EQ(batch_error(file, {6}, 3, 301), "");  // tokens 6..9: the last full window
  EXPECT_EQ(batch_error(file, {7}, 3, 301),
            path + ": window at token 7 (seq_len + 1 = 4 tokens) does not fit in the file's 10 tokens");
  EXPECT_EQ(batch_error(file, {-1}, 3, 301),
            path + ": window at token -1 (seq_len + 1 = 4 tokens) does not fit in the file's 10 tokens");
  EXPECT_THROW(read_batch(file, {}, 3, 301), UsageError);
}

/// Two shards matched by one glob: kTokens, then {11, 12, 13, 14, 15, 16, 17}.
struct TwoShards {
  TwoShards()
      : first("shards_a.bin", kTokens),
        second("shards_b.bin", {11, 12, 13, 14, 15, 16, 17}),
        glob(::testing::TempDir() + "cocomix_batch_" + std::to_string(::getpid()) + "_shards_?.bin") {}
  const ScratchFile first, second;
  const std::string glob;
};

TEST(ReadBatch, ReadsWindowsOfEveryShardAtCorpusIndices) {
  const TwoShards shards;
  const auto corpus = TokenCorpus::open(shards.glob, "train");
  ASSERT_EQ(corpus.size(), 17);
  // Corpus index 10 is the second shard's token 0; 13 its token 3.
  const Batch batch = read_batch(corpus, {6, 10, 13}, 3, 301);
  const auto expected_inputs = torch::tensor({0, 4, 8, 11, 12, 13, 14, 15, 16}, torch::kInt64).view({3, 3});
  const auto expected_targets = torch::tensor({4, 8, 6, 12, 13, 14, 15, 16, 17}, torch::kInt64).view({3, 3});
  EXPECT_TRUE(torch::equal(batch.inputs, expected_inputs)) << batch.inputs;
  EXPECT_TRUE(torch::equal(batch.targets, expected_targets)) << batch.targets;
  EXPECT_EQ(batch.starts, (std::vector<int64_t>{6, 10, 13}));
  // A window never runs from one shard into the next; errors name the shard and the place in it.
  EXPECT_EQ(batch_error(corpus, {7}, 3, 301),
            shards.first.path + ": window at token 7 (seq_len + 1 = 4 tokens) does not fit in the shard's 10 tokens");
  EXPECT_EQ(batch_error(corpus, {14}, 3, 301),
            shards.second.path + ": window at token 4 (seq_len + 1 = 4 tokens) does not fit in the shard's 7 tokens");
  EXPECT_EQ(batch_error(corpus, {11}, 3, 15),
            shards.second.path + ": token id 15 at position 4 is >= model.vocab_size 15");
}

TEST(ValidationBatches, TakeWindowsFromEveryShardInTurn) {
  const TwoShards shards;
  const auto corpus = TokenCorpus::open(shards.glob, "train");
  // T = 2: shard a has windows at 0, 2, 4, 6 ((10 - 1) / 2 = 4), shard b at 10, 12, 14 ((7 - 1) / 2 = 3).
  const auto all = [&](int64_t max_windows) {
    std::vector<int64_t> starts;
    for_each_validation_batch(corpus, 2, max_windows, 2, 301, [&](const Batch& batch) {
      EXPECT_LE(batch.inputs.size(0), 2);
      starts.insert(starts.end(), batch.starts.begin(), batch.starts.end());
    });
    return starts;
  };
  EXPECT_EQ(all(0), (std::vector<int64_t>{0, 2, 4, 6, 10, 12, 14}));
  // Capped: the first window of each shard, then the second of each, ...; read in corpus order.
  EXPECT_EQ(all(3), (std::vector<int64_t>{0, 2, 10}));
  EXPECT_EQ(all(6), (std::vector<int64_t>{0, 2, 4, 10, 12, 14}));
  EXPECT_EQ(validation_window_starts({9, 0, 5}, 4, 0), (std::vector<int64_t>{0, 4, 9}));
}

}  // namespace
}  // namespace cocomix
