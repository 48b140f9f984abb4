// model/compression_weights.h on hand-made W_comp rows: norms, order
// statistics, shares below thresholds, rankings with ties to the smaller id.
#include "cocomix/model/compression_weights.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace cocomix {
namespace {

TEST(CompressionWeights, NormsSummaryAndRankings) {
  // Row norms 5, 0, 1, 0.02, 5.
  const auto weight = torch::tensor({3.0f, 4.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.02f, 0.0f, 5.0f}).view({5, 2});
  const auto s = summarize_compression_weights(weight, {0.01, 0.05, 2.0}, 3);
  ASSERT_EQ(s.norms.size(), 5u);
  EXPECT_DOUBLE_EQ(s.norms[0], 5.0);
  EXPECT_NEAR(s.norms[3], 0.02, 1e-8);
  EXPECT_DOUBLE_EQ(s.min, 0.0);
  EXPECT_DOUBLE_EQ(s.max, 5.0);
  EXPECT_DOUBLE_EQ(s.median, 1.0);
  EXPECT_NEAR(s.mean, 11.02 / 5, 1e-8);
  EXPECT_EQ(s.below, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(s.strongest.size(), 3u);
  EXPECT_EQ(s.strongest[0].concept_id, 0);  // ties (5, 5) to the smaller id
  EXPECT_EQ(s.strongest[1].concept_id, 4);
  EXPECT_EQ(s.strongest[2].concept_id, 2);
  ASSERT_EQ(s.weakest.size(), 3u);
  EXPECT_EQ(s.weakest[0].concept_id, 1);
  EXPECT_EQ(s.weakest[1].concept_id, 3);
  EXPECT_EQ(s.weakest[2].concept_id, 2);
}

TEST(CompressionWeights, EvenCountMedianAndShowBeyondC) {
  const auto weight = torch::tensor({1.0, 2.0, 3.0, 10.0}, torch::kFloat64).view({4, 1});
  const auto s = summarize_compression_weights(weight, {}, 10);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_EQ(s.strongest.size(), 4u);
  EXPECT_TRUE(s.below.empty());
}

}  // namespace
}  // namespace cocomix
