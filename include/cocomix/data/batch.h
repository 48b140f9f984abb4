// One training or validation batch read from a token corpus: for each window
// start, T input ids and the T next-token targets, as int64 tensors ready for
// the embedding and the cross-entropy.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "cocomix/data/token_corpus.h"

namespace cocomix {

/// Inputs and next-token targets of B windows.
struct Batch {
  torch::Tensor inputs;         ///< [B, T] int64: tokens start .. start+T-1 of each window
  torch::Tensor targets;        ///< [B, T] int64: tokens start+1 .. start+T
  std::vector<int64_t> starts;  ///< each window's first token in the corpus (what per-window data is keyed by)
};

/// Copies the windows at corpus indices `starts` (each seq_len + 1 tokens inside
/// one shard) into CPU int64 tensors, checking every id against `vocab_size` as
/// it goes. Throws RuntimeError "FILE: token id 70000 at position 1234 is >=
/// model.vocab_size 50257" for an id out of range (a shard's path and the position
/// in it), and RuntimeError naming the shard for a window that leaves it;
/// UsageError for seq_len < 1 or no starts.
Batch read_batch(const TokenCorpus& corpus, const std::vector<int64_t>& starts, int64_t seq_len, int64_t vocab_size);

/// The validation windows of `corpus` (validation_window_starts: non-overlapping
/// windows of each shard, at most `max_windows` taken from the shards in turn,
/// 0 = all) read `batch_size` at a time by read_batch, each batch handed to
/// `visit` in corpus order. Returns the number of windows. Throws RuntimeError
/// "SPEC: N tokens hold no validation window of T+1" when there is none,
/// UsageError for batch_size < 1.
int64_t for_each_validation_batch(const TokenCorpus& corpus, int64_t seq_len, int64_t max_windows,
                                  int64_t batch_size, int64_t vocab_size,
                                  const std::function<void(const Batch&)>& visit);

}  // namespace cocomix
