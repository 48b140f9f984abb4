// Validation perplexity: exp of the mean next-token cross-entropy over
// non-overlapping T-token windows of a token file. Used by the trainer's
// periodic validation and by cocomix-eval, so both report the same number.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "cocomix/data/token_corpus.h"
#include "cocomix/eval/row_scorer.h"

namespace cocomix {

struct PerplexityOptions {
  int64_t seq_len = 1024;      ///< window length T
  int64_t batch_size = 8;      ///< windows per forward pass
  int64_t max_windows = 0;     ///< 0 = every full window of the file
  int64_t vocab_size = 50257;  ///< ids >= this are an error
  bool bf16 = false;           ///< bf16 autocast for the forward passes (bf16 logits, fp32 log-softmax)
  torch::Device device = torch::kCPU;
};

struct PerplexityResult {
  double loss = 0;        ///< mean cross-entropy (nats per token)
  double perplexity = 0;  ///< exp(loss)
  int64_t tokens = 0;     ///< predicted tokens
  int64_t windows = 0;
};

/// Evaluates without gradients; the caller puts the model in eval mode.
PerplexityResult evaluate_perplexity(const ScoringModel& model, const TokenCorpus& corpus,
                                     const PerplexityOptions& options);

}  // namespace cocomix
