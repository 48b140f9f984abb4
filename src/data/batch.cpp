// read_batch: each window is copied once from its shard's map into its [B, T] input row;
// the target row is the input row shifted by one plus the window's last token,
// and the vocabulary check rides along with that shift.
#include "cocomix/data/batch.h"

#include <torch/torch.h>

#include <algorithm>

#include "cocomix/data/window_sampler.h"
#include "cocomix/util/error.h"

namespace cocomix {

Batch read_batch(const TokenCorpus& corpus, const std::vector<int64_t>& starts, int64_t seq_len, int64_t vocab_size) {
  if (seq_len < 1) throw UsageError("read_batch: seq_len must be positive, got " + std::to_string(seq_len));
  if (starts.empty()) throw UsageError("read_batch: no windows to read");
  const auto batch = static_cast<int64_t>(starts.size());
  const auto options = torch::TensorOptions().dtype(torch::kInt64);
  Batch out;
  out.starts = starts;
  out.inputs = torch::empty({batch, seq_len}, options);  // [B, T]
  out.targets = torch::empty({batch, seq_len}, options);
  int64_t* inputs = out.inputs.data_ptr<int64_t>();
  int64_t* targets = out.targets.data_ptr<int64_t>();
  const auto check = [&](int64_t id, int64_t position) {
    if (id < vocab_size) return;
    const size_t shard = corpus.shard_of(position);
    throw RuntimeError(corpus.shards()[shard].path + ": token id " + std::to_string(id) + " at position " +
                       std::to_string(position - corpus.shard_begin(shard)) + " is >= model.vocab_size " +
                       std::to_string(vocab_size));
  };
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t start = starts[static_cast<size_t>(b)];
    int64_t* input_row = inputs + b * seq_len;
    int64_t* target_row = targets + b * seq_len;
    const size_t shard = start >= 0 && start < corpus.size() ? corpus.shard_of(start) : 0;
    const int64_t local = start - corpus.shard_begin(shard);
    const int64_t shard_tokens = corpus.shards()[shard].layout.tokens;
    if (start < 0 || start >= corpus.size() || local > shard_tokens - seq_len - 1)
      throw RuntimeError(corpus.shards()[shard].path + ": window at token " + std::to_string(local) +
                         " (seq_len + 1 = " + std::to_string(seq_len + 1) + " tokens) does not fit in the " +
                         (corpus.shards().size() == 1 ? "file" : "shard") + "'s " + std::to_string(shard_tokens) +
                         " tokens");
    corpus.read(start, seq_len, input_row);  // tokens start .. start+T-1
    int64_t last = 0;
    corpus.read(start + seq_len, 1, &last);  // token start+T
    for (int64_t t = 0; t < seq_len; ++t) {
      check(input_row[t], start + t);
      if (t > 0) target_row[t - 1] = input_row[t];
    }
    check(last, start + seq_len);
    target_row[seq_len - 1] = last;
  }
  return out;
}

int64_t for_each_validation_batch(const TokenCorpus& corpus, int64_t seq_len, int64_t max_windows,
                                  int64_t batch_size, int64_t vocab_size,
                                  const std::function<void(const Batch&)>& visit) {
  if (batch_size < 1) throw UsageError("validation batch size must be positive, got " + std::to_string(batch_size));
  const auto starts = validation_window_starts(corpus.shard_tokens(), seq_len, max_windows);
  if (starts.empty())
    throw RuntimeError(corpus.spec() + ": " + std::to_string(corpus.size()) +
                       (corpus.shards().size() == 1
                            ? " tokens are fewer than one validation window of " + std::to_string(seq_len + 1)
                            : " tokens in " + std::to_string(corpus.shards().size()) +
                                  " shards hold no validation window of " + std::to_string(seq_len + 1) +
                                  " tokens (a window stays inside one shard)"));
  for (size_t first = 0; first < starts.size(); first += static_cast<size_t>(batch_size)) {
    const size_t last = std::min(starts.size(), first + static_cast<size_t>(batch_size));
    visit(read_batch(corpus, {starts.begin() + static_cast<std::ptrdiff_t>(first),
                            starts.begin() + static_cast<std::ptrdiff_t>(last)},
                     seq_len, vocab_size));
  }
  return static_cast<int64_t>(starts.size());
}

}  // namespace cocomix
