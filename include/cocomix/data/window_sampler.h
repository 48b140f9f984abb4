// Which windows of a corpus each rank trains on, epoch after epoch: a random
// offset and a seeded shuffle per epoch, the fixed windows 0, T, 2T, ... of each
// shard in a seeded shuffle (what a concept-label cache covers), or plain
// sequential order, split disjointly across data-parallel ranks, with a JSON
// state that resumes exactly. The shuffle is a keyed permutation evaluated one
// window at a time, so the sampler's memory and start-up do not grow with the
// corpus.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/data/shard_windows.h"
#include "cocomix/util/random.h"

namespace cocomix {

/// data.sampling: the order of a corpus's windows.
enum class WindowOrder {
  kRandom,      ///< "random": a random offset in [0, T] and a shuffle per epoch
  kFixed,       ///< "fixed": the windows at 0, T, 2T, ... of each shard, shuffled per epoch
  kSequential,  ///< "sequential": those windows in corpus order
};
/// "random" / "fixed" / "sequential"; throws UsageError naming `key` otherwise.
WindowOrder parse_window_order(const std::string& name, const std::string& key);
std::string window_order_name(WindowOrder order);

/// Hands out window starts for one rank. A window is seq_len + 1 tokens (inputs
/// start..start+T-1, targets start+1..start+T) inside one shard: windows never
/// cross from one shard into the next. Starts are corpus indices, the shards laid
/// end to end in order (shard s begins at B_s = n_0 + ... + n_{s-1}).
///
/// Epoch e with offset o: shard s holds k_s = (n_s - 1 - o) / T windows (0 when
/// n_s < o + T + 1), starting at B_s + o + i*T; numbering them shard after shard
/// gives the epoch's k = sum k_s windows 0 .. k-1. Rank r of world w takes the
/// windows P(r), P(r + w), P(r + 2w), ... of the first floor(k / w) * w
/// positions, where P is the epoch's order:
///   random:     with z = stream_seed(seed, e): o = splitmix64(z) mod (o_max + 1),
///               P = IndexPermutation(k, splitmix64(z + 1)). o_max is the largest
///               o <= T that still leaves every rank a window (T unless the corpus
///               is tiny);
///   fixed:      o = 0, P as in random (the same windows every epoch, a new order);
///   sequential: o = 0, P(i) = i.
/// next() rolls into the next epoch seamlessly.
class WindowSampler {
 public:
  /// Throws UsageError for seq_len < 1, no shards or a negative shard size, or a
  /// rank outside [0, world_size), and RuntimeError when the shards hold fewer
  /// than world_size windows of seq_len + 1 tokens (one per rank).
  WindowSampler(std::vector<int64_t> shard_tokens, int64_t seq_len, WindowOrder order, uint64_t seed, int rank = 0,
                int world_size = 1);
  /// One file of `num_tokens` tokens.
  WindowSampler(int64_t num_tokens, int64_t seq_len, WindowOrder order, uint64_t seed, int rank = 0,
                int world_size = 1)
      : WindowSampler(std::vector<int64_t>{num_tokens}, seq_len, order, seed, rank, world_size) {}

  /// The next `count` window starts of this rank, advancing the cursor.
  std::vector<int64_t> next(int64_t count);

  /// {seed, epoch, cursor, num_tokens, shard_tokens, seq_len, sampling, rank, world_size}.
  nlohmann::json state() const;
  /// Resumes from state(). Throws RuntimeError naming `source` when the state is
  /// malformed or was made for different shards, seq_len, sampling mode, rank or
  /// world size. Adopts the state's seed.
  void restore(const nlohmann::json& state, const std::string& source);

  /// Current epoch (0-based).
  int64_t epoch() const { return epoch_; }
  /// Windows of this rank in the current epoch (random mode: can differ between
  /// epochs, as the offset moves).
  int64_t windows_per_epoch() const { return per_rank_; }
  /// Windows of the current epoch already handed out.
  int64_t cursor() const { return cursor_; }

 private:
  void start_epoch(int64_t epoch);

  std::vector<int64_t> shard_tokens_;
  int64_t num_tokens_ = 0;
  int64_t seq_len_;
  WindowOrder order_;
  uint64_t seed_;
  int rank_;
  int world_size_;
  int64_t max_offset_ = 0;  ///< o_max of random mode

  int64_t epoch_ = 0;
  int64_t cursor_ = 0;
  ShardWindows windows_{{}, 1};            ///< the windows of epoch_ (at its offset)
  int64_t per_rank_ = 0;                   ///< floor(k / w) of epoch_
  IndexPermutation order_of_epoch_{1, 0};  ///< P of epoch_ (unused in sequential mode)
};

/// Validation windows of shards laid end to end: shard s's non-overlapping windows
/// B_s + i*T with i*T + T + 1 <= n_s. At most `max_windows` are kept (0 = all),
/// taken from the shards in turn (every shard's first window, then every shard's
/// second, ...) so a capped pass still covers every shard; returned in corpus
/// order. Throws UsageError for seq_len < 1 or max_windows < 0.
std::vector<int64_t> validation_window_starts(const std::vector<int64_t>& shard_tokens, int64_t seq_len,
                                              int64_t max_windows);

}  // namespace cocomix
