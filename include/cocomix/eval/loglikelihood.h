// Batched log-likelihood scoring of (context tokens, continuation tokens)
// requests the way lm-evaluation-harness's HFLM does it: requests sorted longest
// first, each truncated from the left to the model's context (the last
// max_length tokens of context + continuation, without its final token, are
// the input), right-padded into one forward per batch. Only the continuation
// positions go through the LM head and the fp32 log-softmax (RowScorer): their
// summed log-probability and, when asked, whether greedy decoding would have
// produced the continuation.
#pragma once

#include <cstdint>
#include <vector>

#include "cocomix/eval/row_scorer.h"

namespace cocomix {

struct TokenRequest {
  std::vector<int64_t> context;       ///< non-empty
  std::vector<int64_t> continuation;  ///< non-empty, at most max_length tokens
};

struct LoglikelihoodResult {
  double logprob = 0;   ///< sum of log P(continuation token | everything before it)
  bool greedy = false;  ///< every continuation token is the argmax of its position (when ScorerOptions::greedy)
};

struct ScorerOptions {
  int64_t max_length = 1024;  ///< the model's context (n_positions)
  int64_t batch_size = 8;     ///< requests per forward pass
  bool bf16 = false;          ///< bf16 autocast for the forward passes (and bf16 logits, fp32 log-softmax)
  bool greedy = false;        ///< compute LoglikelihoodResult::greedy (lambada's acc); false leaves it false
  int64_t chunk_rows = RowScorerOptions{}.chunk_rows;  ///< continuation rows per LM-head chunk
};

/// Scores every request (results in request order). Throws RuntimeError for an
/// empty context or continuation or a continuation longer than max_length.
std::vector<LoglikelihoodResult> score_requests(const ScoringModel& model,
                                                const std::vector<TokenRequest>& requests,
                                                const ScorerOptions& options);

/// lm_eval.utils.get_rolling_token_windows(tokens, prefix, max_length, context_len=1)
/// made disjoint (make_disjoint_window): the requests whose summed log-probabilities
/// are the rolling log-likelihood of `tokens`. The first window's context is [prefix].
std::vector<TokenRequest> rolling_windows(const std::vector<int64_t>& tokens, int64_t prefix, int64_t max_length);

}  // namespace cocomix
