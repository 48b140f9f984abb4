// The training windows of one rank: one corpus (data.train_path) or a weighted
// mixture of corpora (data.train_sources), each source with its own
// WindowSampler and epochs, with one JSON state that resumes exactly and refuses
// data that changed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/config/config.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/data/window_sampler.h"

namespace cocomix {

/// One source of training windows.
struct TrainingSource {
  std::string name;
  double weight;
  TokenCorpus corpus;
  WindowSampler sampler;
  int64_t drawn = 0;  ///< windows this rank has taken from it
};

/// Which source each window comes from: window c of rank r (counting every
/// window the rank has drawn) takes the first source i with u < (w_0 + ... +
/// w_i) / (w_0 + ... + w_{n-1}), where u = (splitmix64(stream_seed(stream_seed(
/// seed, 2^32), r) + c) >> 11) / 2^53 is uniform in [0, 1). So a source's
/// weight is exactly the probability that a window comes from it, every draw
/// independent of the others, and the choice is a function of (seed, r, c):
/// resuming needs only the count c. Source i's windows come from its own
/// WindowSampler seeded with stream_seed(seed, i), which starts a new epoch of
/// that source whenever the source's current one is used up.
class TrainingData {
 public:
  /// Opens every source of config.data.sources() (directories: their "train"
  /// split) and sets up its sampler for `rank` of `world_size`. Throws
  /// RuntimeError naming the source's path for a corpus that cannot be opened or
  /// holds fewer than one window per rank; all corpora must share one token width
  /// and, among those whose manifests record one, one tokenizer.
  TrainingData(const Config& config, int rank, int world_size);

  /// The next `count` windows of this rank, read and checked against `vocab_size`.
  /// Batch::starts are corpus indices within each window's own source.
  Batch next_batch(int64_t count, int64_t vocab_size);

  /// {"windows": c, "sources": [{"name", "path", "shards": shard_list, "sampler"}, ...]}.
  nlohmann::json state() const;
  /// Resumes from state(). Throws RuntimeError naming `source` for a malformed
  /// state, other sources, or a source whose shard list changed (naming the change).
  void restore(const nlohmann::json& state, const std::string& source);

  const std::vector<TrainingSource>& sources() const { return sources_; }
  /// Windows this rank has drawn in all.
  int64_t windows() const { return windows_; }

 private:
  size_t choose(int64_t window) const;

  int64_t seq_len_;
  std::vector<TrainingSource> sources_;
  std::vector<double> cumulative_;  ///< (w_0 + ... + w_i) / sum of the weights
  uint64_t choice_key_;             ///< stream_seed(stream_seed(seed, 2^32), rank)
  int64_t windows_ = 0;
};

}  // namespace cocomix
