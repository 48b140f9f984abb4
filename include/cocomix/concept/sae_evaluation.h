// How well a TopK SAE reconstructs a teacher's activations on a token file.
#pragma once

#include <cstdint>

#include "cocomix/concept/sae.h"
#include "cocomix/data/token_file.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// How well an SAE reconstructs a teacher's activations on a token file.
struct SaeEvaluation {
  double nmse = 0;           ///< pooled E(x_hat, x) in the normalised space
  double fvu = 0;            ///< pooled E(h_hat, h) in the teacher's space
  double dead_fraction = 0;  ///< share of latents that never fired (z > kLatentFiredThreshold) on these tokens
  int64_t windows = 0;
  int64_t tokens = 0;
};

/// Encodes the teacher's activations after block sae.info().layer on the
/// validation windows of `file` (non-overlapping, from 0; at most `max_windows`,
/// 0 = all; `batch` windows per forward) and pools the errors over every token
/// (NormalizedErrorSums). Throws UsageError when the SAE does not fit the teacher
/// (d != n_embd, layer > n_layer) and RuntimeError for a bad token file.
SaeEvaluation evaluate_sae(GPTImpl& teacher, TopKSaeImpl& sae, const TokenFile& file, int64_t seq_len, int64_t batch,
                           int64_t max_windows);

}  // namespace cocomix
