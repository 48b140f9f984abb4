// ShardWindows: prefix sums over the shards, searched in both directions.
#include "cocomix/data/shard_windows.h"

#include <algorithm>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {

ShardWindows::ShardWindows(const std::vector<int64_t>& shard_tokens, int64_t seq_len, int64_t offset)
    : seq_len_(seq_len), offset_(offset) {
  if (seq_len < 1) throw UsageError("shard windows: seq_len must be positive, got " + std::to_string(seq_len));
  if (offset < 0) throw UsageError("shard windows: offset must be non-negative, got " + std::to_string(offset));
  int64_t begin = 0;
  for (const int64_t tokens : shard_tokens) {
    if (tokens < 0) throw UsageError("shard windows: a shard of " + std::to_string(tokens) + " tokens");
    shard_begins_.push_back(begin);
    first_window_.push_back(size_);
    windows_.push_back(tokens >= offset + seq_len + 1 ? (tokens - 1 - offset) / seq_len : 0);
    size_ += windows_.back();
    begin += tokens;
  }
}

int64_t ShardWindows::start(int64_t window) const {
  if (window < 0 || window >= size_)
    throw UsageError("shard windows: window " + std::to_string(window) + " is outside [0, " + std::to_string(size_) +
                     ")");
  // The last shard whose first window is <= window (shards without windows share their successor's number).
  const auto shard = static_cast<size_t>(
      std::upper_bound(first_window_.begin(), first_window_.end(), window) - first_window_.begin() - 1);
  return shard_begins_[shard] + offset_ + (window - first_window_[shard]) * seq_len_;
}

int64_t ShardWindows::window_at(int64_t start) const {
  if (start < 0 || shard_begins_.empty()) return -1;
  const auto shard = static_cast<size_t>(
      std::upper_bound(shard_begins_.begin(), shard_begins_.end(), start) - shard_begins_.begin() - 1);
  const int64_t local = start - shard_begins_[shard] - offset_;
  if (local < 0 || local % seq_len_ != 0 || local / seq_len_ >= windows_[shard]) return -1;
  return first_window_[shard] + local / seq_len_;
}

}  // namespace cocomix
