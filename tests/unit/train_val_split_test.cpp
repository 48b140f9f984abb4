// data/train_val_split.h: the documented hash split by fraction and the exact
// split by count, with the expected indices computed by Python from the formula
// in docs/file-formats.md.
#include "cocomix/data/train_val_split.h"

#include <gtest/gtest.h>

#include <vector>

namespace cocomix {
namespace {

std::vector<int64_t> validation_indices(const ValidationSplit& split, int64_t documents) {
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < documents; ++i)
    if (split.is_validation(i)) indices.push_back(i);
  return indices;
}

TEST(ValidationSplit, ByFractionFollowsTheHash) {
  EXPECT_EQ(validation_indices(ValidationSplit::by_fraction(1337, 0.25), 40),
            (std::vector<int64_t>{5, 21, 25, 28, 32, 36, 39}));
  EXPECT_TRUE(validation_indices(ValidationSplit::by_fraction(1337, 0.0), 1000).empty());
}

TEST(ValidationSplit, ByCountTakesTheSmallestHashes) {
  EXPECT_EQ(validation_indices(ValidationSplit::by_count(7, 10, 1000), 1000),
            (std::vector<int64_t>{168, 216, 253, 258, 314, 550, 713, 756, 847, 993}));
  EXPECT_EQ(validation_indices(ValidationSplit::by_count(7, 5, 3), 3).size(), 3u);  // all of them
  EXPECT_TRUE(validation_indices(ValidationSplit::by_count(7, 0, 100), 100).empty());
}

}  // namespace
}  // namespace cocomix
