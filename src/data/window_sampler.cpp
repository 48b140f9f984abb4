// WindowSampler: a per-epoch offset and keyed permutation from (seed, epoch), a
// strided split across ranks, and a JSON state checked against the shards it is
// restored for. Everything is regenerated from (seed, epoch), so resume is exact.
#include "cocomix/data/window_sampler.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "cocomix/util/error.h"

namespace cocomix {

WindowOrder parse_window_order(const std::string& name, const std::string& key) {
  if (name == "random") return WindowOrder::kRandom;
  if (name == "fixed") return WindowOrder::kFixed;
  if (name == "sequential") return WindowOrder::kSequential;
  throw UsageError(key + ": must be \"random\", \"fixed\" or \"sequential\", got \"" + name + "\"");
}

std::string window_order_name(WindowOrder order) {
  switch (order) {
    case WindowOrder::kRandom:
      return "random";
    case WindowOrder::kFixed:
      return "fixed";
    case WindowOrder::kSequential:
      break;
  }
  return "sequential";
}

WindowSampler::WindowSampler(std::vector<int64_t> shard_tokens, int64_t seq_len, WindowOrder order, uint64_t seed,
                             int rank, int world_size)
    : shard_tokens_(std::move(shard_tokens)),
      seq_len_(seq_len),
      order_(order),
      seed_(seed),
      rank_(rank),
      world_size_(world_size) {
  if (seq_len < 1) throw UsageError("window sampler: seq_len must be positive, got " + std::to_string(seq_len));
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw UsageError("window sampler: rank " + std::to_string(rank) + " is outside world size " +
                     std::to_string(world_size));
  if (shard_tokens_.empty()) throw UsageError("window sampler: no shards");
  for (const int64_t tokens : shard_tokens_) num_tokens_ += tokens;
  const auto windows_at = [&](int64_t offset) { return ShardWindows(shard_tokens_, seq_len_, offset).size(); };
  if (windows_at(0) < world_size) {
    const std::string held = shard_tokens_.size() == 1
                                 ? "the token file holds " + std::to_string(num_tokens_) + " tokens"
                                 : "the " + std::to_string(shard_tokens_.size()) + " shards hold " +
                                       std::to_string(windows_at(0)) + " windows";
    throw RuntimeError("window sampler: " + held + ", fewer than " + std::to_string(world_size) + " window" +
                       (world_size == 1 ? "" : "s") + " of seq_len + 1 = " + std::to_string(seq_len + 1) +
                       " tokens (one per rank)");
  }
  // o_max: windows_at() falls as the offset grows; the largest o <= T with a window per rank.
  int64_t low = 0, high = seq_len_;
  while (low < high) {
    const int64_t middle = low + (high - low + 1) / 2;
    if (windows_at(middle) >= world_size_) low = middle;
    else high = middle - 1;
  }
  max_offset_ = low;
  start_epoch(0);
}

void WindowSampler::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  cursor_ = 0;
  const uint64_t stream = stream_seed(seed_, static_cast<uint64_t>(epoch));
  const int64_t offset =
      order_ == WindowOrder::kRandom ? static_cast<int64_t>(splitmix64(stream) % (static_cast<uint64_t>(max_offset_) + 1))
                                     : 0;
  windows_ = ShardWindows(shard_tokens_, seq_len_, offset);
  per_rank_ = windows_.size() / world_size_;
  if (order_ != WindowOrder::kSequential)
    order_of_epoch_ = IndexPermutation(static_cast<uint64_t>(windows_.size()), splitmix64(stream + 1));
}

std::vector<int64_t> WindowSampler::next(int64_t count) {
  if (count < 0) throw UsageError("window sampler: cannot take " + std::to_string(count) + " windows");
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  while (static_cast<int64_t>(out.size()) < count) {
    if (cursor_ == per_rank_) start_epoch(epoch_ + 1);
    const int64_t position = rank_ + cursor_++ * world_size_;
    out.push_back(windows_.start(order_ == WindowOrder::kSequential
                               ? position
                               : static_cast<int64_t>(order_of_epoch_(static_cast<uint64_t>(position)))));
  }
  return out;
}

nlohmann::json WindowSampler::state() const {
  return {{"seed", seed_},
          {"epoch", epoch_},
          {"cursor", cursor_},
          {"num_tokens", num_tokens_},
          {"shard_tokens", shard_tokens_},
          {"seq_len", seq_len_},
          {"sampling", window_order_name(order_)},
          {"rank", rank_},
          {"world_size", world_size_}};
}

void WindowSampler::restore(const nlohmann::json& state, const std::string& source) {
  const std::string where = source + ": sampler state";
  if (!state.is_object()) throw RuntimeError(where + " is not a JSON object");
  const auto integer = [&](const char* key) -> const nlohmann::json& {
    if (!state.contains(key)) throw RuntimeError(where + ": missing key " + key);
    const auto& value = state.at(key);
    if (!value.is_number_integer()) throw RuntimeError(where + ": " + key + " must be an integer, got " + value.dump());
    return value;
  };
  if (!integer("seed").is_number_unsigned()) throw RuntimeError(where + ": seed must be non-negative");
  if (!state.contains("sampling") || !state.at("sampling").is_string())
    throw RuntimeError(where + ": sampling must be a string");
  if (!state.contains("shard_tokens") || !state.at("shard_tokens").is_array())
    throw RuntimeError(where + ": shard_tokens must be an array of token counts");
  std::vector<int64_t> saved_shards;
  for (const auto& tokens : state.at("shard_tokens")) {
    if (!tokens.is_number_integer()) throw RuntimeError(where + ": shard_tokens must be an array of token counts");
    saved_shards.push_back(tokens.get<int64_t>());
  }
  const auto saved_seq_len = integer("seq_len").get<int64_t>();
  const auto saved_order = state.at("sampling").get<std::string>();
  const auto saved_rank = integer("rank").get<int64_t>();
  const auto saved_world = integer("world_size").get<int64_t>();
  if (saved_shards != shard_tokens_) {
    const int64_t saved_tokens = std::accumulate(saved_shards.begin(), saved_shards.end(), int64_t{0});
    const auto describe = [](size_t shards, int64_t tokens) {
      return shards == 1 ? "a file of " + std::to_string(tokens) + " tokens"
                         : std::to_string(shards) + " shards of " + std::to_string(tokens) + " tokens";
    };
    throw RuntimeError(where + " was made for " + describe(saved_shards.size(), saved_tokens) + ", but the data has " +
                       describe(shard_tokens_.size(), num_tokens_) + " (different data?)");
  }
  if (saved_seq_len != seq_len_)
    throw RuntimeError(where + " was made for seq_len " + std::to_string(saved_seq_len) + ", but data.seq_len is " +
                       std::to_string(seq_len_));
  if (saved_order != window_order_name(order_))
    throw RuntimeError(where + " was made for " + saved_order + " sampling, but data.sampling is " +
                       window_order_name(order_));
  if (saved_rank != rank_ || saved_world != world_size_)
    throw RuntimeError(where + " was made for rank " + std::to_string(saved_rank) + " of " +
                       std::to_string(saved_world) + ", but this is rank " + std::to_string(rank_) + " of " +
                       std::to_string(world_size_));
  const auto epoch = integer("epoch").get<int64_t>();
  const auto cursor = integer("cursor").get<int64_t>();
  if (epoch < 0) throw RuntimeError(where + ": epoch must be non-negative, got " + std::to_string(epoch));

  // Build the restored sampler aside so that a bad cursor leaves this one untouched.
  WindowSampler restored = *this;
  restored.seed_ = state.at("seed").get<uint64_t>();
  restored.start_epoch(epoch);
  if (cursor < 0 || cursor > restored.windows_per_epoch())
    throw RuntimeError(where + ": cursor " + std::to_string(cursor) + " is outside epoch " + std::to_string(epoch) +
                       "'s " + std::to_string(restored.windows_per_epoch()) + " windows");
  restored.cursor_ = cursor;
  *this = std::move(restored);
}

std::vector<int64_t> validation_window_starts(const std::vector<int64_t>& shard_tokens, int64_t seq_len,
                                              int64_t max_windows) {
  if (seq_len < 1) throw UsageError("validation windows: seq_len must be positive, got " + std::to_string(seq_len));
  if (max_windows < 0)
    throw UsageError("validation windows: max_windows must be non-negative, got " + std::to_string(max_windows));
  std::vector<int64_t> begins, windows;  // per shard
  int64_t total = 0, begin = 0;
  for (const int64_t tokens : shard_tokens) {
    begins.push_back(begin);
    windows.push_back(tokens > seq_len ? (tokens - 1) / seq_len : 0);
    total += windows.back();
    begin += tokens;
  }
  const int64_t wanted = max_windows > 0 ? std::min(total, max_windows) : total;
  // Round i takes window i of every shard that has one. Full rounds: the most r
  // with sum_s min(windows_s, r) <= wanted; then one more window from the first
  // shards in order that still have one.
  const auto after_rounds = [&](int64_t rounds) {
    int64_t sum = 0;
    for (const int64_t w : windows) sum += std::min(w, rounds);
    return sum;
  };
  int64_t low = 0, high = windows.empty() ? 0 : *std::max_element(windows.begin(), windows.end());
  while (low < high) {
    const int64_t middle = low + (high - low + 1) / 2;
    if (after_rounds(middle) <= wanted) low = middle;
    else high = middle - 1;
  }
  std::vector<int64_t> taken(windows.size());
  int64_t left = wanted - after_rounds(low);
  for (size_t s = 0; s < windows.size(); ++s) {
    taken[s] = std::min(windows[s], low);
    if (left > 0 && windows[s] > low) ++taken[s], --left;
  }
  std::vector<int64_t> starts;
  starts.reserve(static_cast<size_t>(wanted));
  for (size_t s = 0; s < windows.size(); ++s)
    for (int64_t i = 0; i < taken[s]; ++i) starts.push_back(begins[s] + i * seq_len);
  return starts;
}

}  // namespace cocomix
