// Which windows of a token file each rank trains on, epoch after epoch: a random
// offset and a seeded shuffle per epoch, the fixed windows 0, T, 2T, ... in a
// seeded shuffle (what a concept-label cache covers), or plain sequential order, split
// disjointly across data-parallel ranks, with a JSON state that resumes exactly.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/util/random.h"

namespace cocomix {

/// data.sampling: the order of a token file's windows.
enum class WindowOrder {
  kRandom,      ///< "random": a random offset in [0, T] and a shuffle per epoch
  kFixed,       ///< "fixed": the windows at 0, T, 2T, ..., shuffled per epoch
  kSequential,  ///< "sequential": the windows at 0, T, 2T, ... in order
};
/// "random" / "fixed" / "sequential"; throws UsageError naming `key` otherwise.
WindowOrder parse_window_order(const std::string& name, const std::string& key);
std::string window_order_name(WindowOrder order);

/// Hands out window starts (a window is seq_len + 1 tokens: inputs
/// start..start+T-1, targets start+1..start+T) for one rank.
///
/// Random mode, epoch e: an engine std::mt19937_64(stream_seed(seed, e)) draws
/// the offset o = uniform_below(engine, o_max + 1) with o_max = min(T, N-1-w*T)
/// (= T unless the file is tiny, so every rank gets a window); the epoch's k =
/// (N-1-o)/T windows start at o + i*T (non-overlapping inputs, all inside the
/// file); the same engine then shuffles them (Fisher-Yates: for i = k-1 .. 1,
/// swap entries i and uniform_below(engine, i+1)). Rank r of world w takes
/// shuffled entries r, r+w, r+2w, ... of the first floor(k/w)*w.
/// Fixed mode: o = 0, the same engine's shuffle (no offset draw), so every
/// epoch visits the same windows 0, T, 2T, ... in a new order.
/// Sequential mode: o = 0 and no shuffle. next() rolls into the next epoch
/// seamlessly.
class WindowSampler {
 public:
  /// Throws UsageError for seq_len < 1 or a rank outside [0, world_size), and
  /// RuntimeError when the file holds fewer than world_size*seq_len + 1 tokens
  /// (fewer than seq_len + 1 on one rank).
  WindowSampler(int64_t num_tokens, int64_t seq_len, WindowOrder order, uint64_t seed, int rank = 0,
                int world_size = 1);
  /// random: kRandom, else kSequential.
  WindowSampler(int64_t num_tokens, int64_t seq_len, bool random, uint64_t seed, int rank = 0, int world_size = 1)
      : WindowSampler(num_tokens, seq_len, random ? WindowOrder::kRandom : WindowOrder::kSequential, seed, rank,
                      world_size) {}

  /// The next `count` window starts of this rank, advancing the cursor.
  std::vector<int64_t> next(int64_t count);

  /// {seed, epoch, cursor, num_tokens, seq_len, random, sampling, rank, world_size}
  /// (random: sampling == "random", kept for states written before "sampling").
  nlohmann::json state() const;
  /// Resumes from state(). Throws RuntimeError naming `source` when the state is
  /// malformed or was made for a different file size, seq_len, sampling mode,
  /// rank or world size. Adopts the state's seed.
  void restore(const nlohmann::json& state, const std::string& source);

  /// Current epoch (0-based).
  int64_t epoch() const { return epoch_; }
  /// Windows of this rank in the current epoch (random mode: can differ by one
  /// between epochs, as the offset moves).
  int64_t windows_per_epoch() const { return static_cast<int64_t>(starts_.size()); }
  /// Windows of the current epoch already handed out.
  int64_t cursor() const { return cursor_; }

 private:
  void start_epoch(int64_t epoch);

  int64_t num_tokens_;
  int64_t seq_len_;
  WindowOrder order_;
  uint64_t seed_;
  int rank_;
  int world_size_;
  int64_t epoch_ = 0;
  int64_t cursor_ = 0;
  std::vector<int64_t> starts_;  ///< this rank's window starts of epoch_, in order
};

/// Validation windows: non-overlapping starts 0, T, 2T, ... with start + T + 1 <= N,
/// at most `max_windows` of them (0 = all). Throws UsageError for seq_len < 1.
std::vector<int64_t> validation_window_starts(int64_t num_tokens, int64_t seq_len, int64_t max_windows);

}  // namespace cocomix
