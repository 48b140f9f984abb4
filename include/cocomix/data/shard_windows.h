// The non-overlapping windows of shards laid end to end, numbered shard after
// shard: what the window sampler shuffles and what a concept-label cache stores
// in order. No window crosses from one shard into the next.
#pragma once

#include <cstdint>
#include <vector>

namespace cocomix {

class ShardWindows {
 public:
  /// Shard s (n_s tokens, first corpus index B_s = n_0 + ... + n_{s-1}) holds
  /// k_s = (n_s - 1 - offset) / seq_len windows (0 when n_s < offset + seq_len + 1),
  /// of seq_len + 1 tokens each, starting at B_s + offset + i * seq_len.
  /// Throws UsageError for seq_len < 1, offset < 0 or a negative shard size.
  ShardWindows(const std::vector<int64_t>& shard_tokens, int64_t seq_len, int64_t offset = 0);

  /// k = k_0 + k_1 + ...
  int64_t size() const { return size_; }
  /// Corpus index of window `window`'s first token (window in [0, size())).
  int64_t start(int64_t window) const;
  /// The number of the window that starts at corpus index `start`, or -1 when
  /// none does.
  int64_t window_at(int64_t start) const;

 private:
  int64_t seq_len_;
  int64_t offset_;
  std::vector<int64_t> shard_begins_;  ///< B_s
  std::vector<int64_t> first_window_;  ///< k_0 + ... + k_{s-1}
  std::vector<int64_t> windows_;       ///< k_s
  int64_t size_ = 0;
};

}  // namespace cocomix
