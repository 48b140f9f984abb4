// Batched log-likelihood scoring of (context tokens, continuation tokens)
// requests the way lm-evaluation-harness's HFLM does it: requests sorted longest
// first, each truncated from the left to the model's context (the last
// max_length tokens of context + continuation, without its final token, are
// the input), right-padded into one forward per batch; the log-softmax (fp32)
// of the continuation positions gives the summed log-probability and whether
// greedy decoding would have produced the continuation.
#pragma once

#include <cstdint>
#include <vector>

#include "cocomix/eval/perplexity.h"

namespace cocomix {

struct TokenRequest {
  std::vector<int64_t> context;       ///< non-empty
  std::vector<int64_t> continuation;  ///< non-empty, at most max_length tokens
};

struct LoglikelihoodResult {
  double logprob = 0;   ///< sum of log P(continuation token | everything before it)
  bool greedy = false;  ///< every continuation token is the argmax of its position
};

struct ScorerOptions {
  int64_t max_length = 1024;  ///< the model's context (n_positions)
  int64_t batch_size = 8;     ///< requests per forward pass
  bool bf16 = false;          ///< bf16 autocast for the forward passes
};

/// Scores every request (results in request order). Throws RuntimeError for an
/// empty context or continuation or a continuation longer than max_length.
std::vector<LoglikelihoodResult> score_requests(const LogitsFunction& logits_of,
                                                const std::vector<TokenRequest>& requests,
                                                const ScorerOptions& options);

/// lm_eval.utils.get_rolling_token_windows(tokens, prefix, max_length, context_len=1)
/// made disjoint (make_disjoint_window): the requests whose summed log-probabilities
/// are the rolling log-likelihood of `tokens`. The first window's context is [prefix].
std::vector<TokenRequest> rolling_windows(const std::vector<int64_t>& tokens, int64_t prefix, int64_t max_length);

}  // namespace cocomix
