// eval/concept_quality.h's recall counts on crafted labels and kept concepts.
#include "cocomix/eval/concept_quality.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace cocomix {
namespace {

TEST(ConceptQuality, RecallCountsByHand) {
  // Two positions, K_attr = 3 labels (best first), k_pred = 2 kept concepts.
  const auto labels = torch::tensor({7, 1, 4, 2, 9, 5}, torch::kInt64).view({1, 2, 3});
  const auto kept = torch::tensor({4, 7, 9, 3}, torch::kInt64).view({1, 2, 2});
  const auto counts = count_concept_recall(labels, kept);
  EXPECT_EQ(counts.positions, 2);
  EXPECT_EQ(counts.labels, 6);
  EXPECT_EQ(counts.label_hits, 3);  // 7 and 4 at the first position, 9 at the second
  EXPECT_EQ(counts.top1_hits, 1);   // 7 is kept, 2 is not
}

TEST(ConceptQuality, NothingKeptNothingRecalled) {
  const auto labels = torch::tensor({0, 1}, torch::kInt64).view({1, 1, 2});
  const auto kept = torch::tensor({2, 3, 4}, torch::kInt64).view({1, 1, 3});
  const auto counts = count_concept_recall(labels, kept);
  EXPECT_EQ(counts.label_hits, 0);
  EXPECT_EQ(counts.top1_hits, 0);
}

}  // namespace
}  // namespace cocomix
