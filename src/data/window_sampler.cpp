// WindowSampler: per-epoch offset + Fisher-Yates shuffle from (seed, epoch), a
// strided split across ranks, and a JSON state checked against the file it is
// restored for. Everything is regenerated from (seed, epoch), so resume is exact.
#include "cocomix/data/window_sampler.h"

#include <algorithm>
#include <limits>
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

WindowSampler::WindowSampler(int64_t num_tokens, int64_t seq_len, WindowOrder order, uint64_t seed, int rank,
                             int world_size)
    : num_tokens_(num_tokens), seq_len_(seq_len), order_(order), seed_(seed), rank_(rank), world_size_(world_size) {
  if (seq_len < 1) throw UsageError("window sampler: seq_len must be positive, got " + std::to_string(seq_len));
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw UsageError("window sampler: rank " + std::to_string(rank) + " is outside world size " +
                     std::to_string(world_size));
  const int64_t needed = world_size * seq_len + 1;
  if (num_tokens < needed)
    throw RuntimeError("window sampler: the token file holds " + std::to_string(num_tokens) + " tokens, fewer than " +
                       (world_size == 1 ? "seq_len + 1 = " : "world_size * seq_len + 1 = ") + std::to_string(needed) +
                       " (one window per rank)");
  start_epoch(0);
}

void WindowSampler::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  cursor_ = 0;
  int64_t offset = 0;
  std::mt19937_64 engine(stream_seed(seed_, static_cast<uint64_t>(epoch)));
  if (order_ == WindowOrder::kRandom) {
    const int64_t max_offset = std::min(seq_len_, num_tokens_ - 1 - world_size_ * seq_len_);
    offset = static_cast<int64_t>(uniform_below(engine, static_cast<uint64_t>(max_offset) + 1));
  }
  const int64_t windows = (num_tokens_ - 1 - offset) / seq_len_;
  std::vector<int64_t> all(static_cast<size_t>(windows));
  for (int64_t i = 0; i < windows; ++i) all[static_cast<size_t>(i)] = offset + i * seq_len_;
  if (order_ != WindowOrder::kSequential) {
    for (int64_t i = windows - 1; i > 0; --i) {
      const auto j = static_cast<int64_t>(uniform_below(engine, static_cast<uint64_t>(i) + 1));
      std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
    }
  }
  const int64_t per_rank = windows / world_size_;
  starts_.resize(static_cast<size_t>(per_rank));
  for (int64_t i = 0; i < per_rank; ++i)
    starts_[static_cast<size_t>(i)] = all[static_cast<size_t>(rank_ + i * world_size_)];
}

std::vector<int64_t> WindowSampler::next(int64_t count) {
  if (count < 0) throw UsageError("window sampler: cannot take " + std::to_string(count) + " windows");
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  while (static_cast<int64_t>(out.size()) < count) {
    if (cursor_ == windows_per_epoch()) start_epoch(epoch_ + 1);
    out.push_back(starts_[static_cast<size_t>(cursor_++)]);
  }
  return out;
}

nlohmann::json WindowSampler::state() const {
  return {{"seed", seed_},       {"epoch", epoch_},   {"cursor", cursor_}, {"num_tokens", num_tokens_},
          {"seq_len", seq_len_}, {"random", order_ == WindowOrder::kRandom},
          {"sampling", window_order_name(order_)}, {"rank", rank_}, {"world_size", world_size_}};
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
  if (!state.contains("random") || !state.at("random").is_boolean())
    throw RuntimeError(where + ": random must be true or false");

  const auto saved_tokens = integer("num_tokens").get<int64_t>();
  const auto saved_seq_len = integer("seq_len").get<int64_t>();
  const bool saved_random = state.at("random").get<bool>();
  std::string saved_order = saved_random ? "random" : "sequential";  // states written before "sampling"
  if (state.contains("sampling")) {
    if (!state.at("sampling").is_string()) throw RuntimeError(where + ": sampling must be a string");
    saved_order = state.at("sampling").get<std::string>();
  }
  const auto saved_rank = integer("rank").get<int64_t>();
  const auto saved_world = integer("world_size").get<int64_t>();
  if (saved_tokens != num_tokens_)
    throw RuntimeError(where + " was made for a file of " + std::to_string(saved_tokens) +
                       " tokens, but this file holds " + std::to_string(num_tokens_) + " (a different data file?)");
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

std::vector<int64_t> validation_window_starts(int64_t num_tokens, int64_t seq_len, int64_t max_windows) {
  if (seq_len < 1) throw UsageError("validation windows: seq_len must be positive, got " + std::to_string(seq_len));
  if (max_windows < 0)
    throw UsageError("validation windows: max_windows must be non-negative, got " + std::to_string(max_windows));
  int64_t windows = num_tokens > seq_len ? (num_tokens - 1) / seq_len : 0;
  if (max_windows > 0) windows = std::min(windows, max_windows);
  std::vector<int64_t> starts(static_cast<size_t>(windows));
  for (int64_t i = 0; i < windows; ++i) starts[static_cast<size_t>(i)] = i * seq_len;
  return starts;
}

}  // namespace cocomix
