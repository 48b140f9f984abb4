// read_batch: inputs and targets of a small hand-written file, worked out by
// hand, and the errors for an id outside the vocabulary and a window that
// leaves the file.
#include "cocomix/data/batch.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cocomix/data/token_file.h"
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

std::string batch_error(const TokenFile& file, const std::vector<int64_t>& starts, int64_t seq_len,
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
  const auto file = TokenFile::open(scratch.path);
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
  const auto file = TokenFile::open(path);
  EXPECT_EQ(batch_error(file, {0}, 6, 300), path + ": token id 300 at position 4 is >= model.vocab_size 300");
  // 300 only as the last target of the window [1, 4] is still caught.
  EXPECT_EQ(batch_error(file, {1}, 3, 300), path + ": token id 300 at position 4 is >= model.vocab_size 300");
  EXPECT_EQ(batch_error(file, {5}, 4, 300), "");  // this window avoids it

  const ScratchFile wide_file("wide.bin", {3, 70000, 1}, /*wide=*/true);
  const auto wide = TokenFile::open(wide_file.path);
  EXPECT_EQ(batch_error(wide, {0}, 2, 50257),
            wide_file.path + ": token id 70000 at position 1 is >= model.vocab_size 50257");
}

TEST(ReadBatch, RejectsWindowsOutsideTheFile) {
  const ScratchFile scratch("edge.bin", kTokens);
  const auto& path = scratch.path;
  const auto file = TokenFile::open(path);
  EXPECT_EQ(batch_error(file, {6}, 3, 301), "");  // tokens 6..9: the last full window
  EXPECT_EQ(batch_error(file, {7}, 3, 301),
            path + ": window at token 7 (seq_len + 1 = 4 tokens) does not fit in the file's 10 tokens");
  EXPECT_EQ(batch_error(file, {-1}, 3, 301),
            path + ": window at token -1 (seq_len + 1 = 4 tokens) does not fit in the file's 10 tokens");
  EXPECT_THROW(read_batch(file, {}, 3, 301), UsageError);
}

}  // namespace
}  // namespace cocomix
