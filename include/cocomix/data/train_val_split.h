// The seeded train/validation split of cocomix-tokenize: each document's split
// depends only on (seed, document index), so it never moves when documents are
// added, and is the same on every machine (docs/file-formats.md). No LibTorch here.
#pragma once

#include <cstdint>

namespace cocomix {

/// Decides which documents go to validation: by fraction, or exactly `count` of
/// a known number of documents.
class ValidationSplit {
 public:
  /// Document i is validation iff u(i) < fraction, u(i) = the top 53 bits of
  /// splitmix64(stream_seed(seed, i)) / 2^53. `fraction` in [0, 1).
  static ValidationSplit by_fraction(uint64_t seed, double fraction);
  /// Exactly min(count, documents) of documents 0..documents-1 are validation:
  /// those with the smallest (splitmix64(stream_seed(seed, i)), i).
  static ValidationSplit by_count(uint64_t seed, int64_t count, int64_t documents);

  bool is_validation(int64_t index) const;

 private:
  ValidationSplit() = default;
  uint64_t seed_ = 0;
  bool by_count_ = false;
  double fraction_ = 0;
  uint64_t max_hash_ = 0;  ///< by count: the largest (hash, index) that is validation
  int64_t max_index_ = -1;
};

}  // namespace cocomix
