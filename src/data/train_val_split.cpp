// ValidationSplit: one splitmix64 hash per document index; by count, the
// `count` smallest hashes (ties broken by index) found with nth_element.
#include "cocomix/data/train_val_split.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "cocomix/util/random.h"

namespace cocomix {
namespace {

uint64_t document_hash(uint64_t seed, int64_t index) {
  return splitmix64(stream_seed(seed, static_cast<uint64_t>(index)));
}

}  // namespace

ValidationSplit ValidationSplit::by_fraction(uint64_t seed, double fraction) {
  ValidationSplit split;
  split.seed_ = seed;
  split.fraction_ = fraction;
  return split;
}

ValidationSplit ValidationSplit::by_count(uint64_t seed, int64_t count, int64_t documents) {
  ValidationSplit split;
  split.seed_ = seed;
  split.by_count_ = true;
  count = std::min(count, documents);
  if (count <= 0) return split;  // max_index_ -1: nothing is validation
  std::vector<std::pair<uint64_t, int64_t>> keys(static_cast<size_t>(documents));
  for (int64_t i = 0; i < documents; ++i) keys[static_cast<size_t>(i)] = {document_hash(seed, i), i};
  std::nth_element(keys.begin(), keys.begin() + (count - 1), keys.end());
  std::tie(split.max_hash_, split.max_index_) = keys[static_cast<size_t>(count - 1)];
  return split;
}

bool ValidationSplit::is_validation(int64_t index) const {
  const uint64_t hash = document_hash(seed_, index);
  if (by_count_) return max_index_ >= 0 && std::make_pair(hash, index) <= std::make_pair(max_hash_, max_index_);
  return static_cast<double>(hash >> 11) * 0x1.0p-53 < fraction_;
}

}  // namespace cocomix
