// The student's concept head (method spec §3): from the hidden state entering
// block L_s it predicts concept logits over the SAE's C latents, keeps the
// k_pred largest (signed), and compresses them into one continuous concept
// vector c per position, rescaled into the residual stream's statistics.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>

#include "cocomix/model/concept_steering.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

struct ConceptPrediction {
  torch::Tensor logits;       ///< [B, T, C] predicted concept logits (the concept loss reads these)
  torch::Tensor concepts;     ///< [B, T, d] c, to interleave after each token
  torch::Tensor top_indices;  ///< [B, T, k_pred] int64, the kept concepts in descending order of logit
  torch::Tensor top_values;   ///< [B, T, k_pred] their logits: ẑ's nonzero entries before any steering
};

class ConceptHeadImpl : public torch::nn::Module {
 public:
  /// pre_bias 0; predictor and compressor weights N(0, init_std), biases 0.
  ConceptHeadImpl(int64_t d, int64_t n_concepts, int64_t k_pred, double init_std);

  /// x, mu, sigma = LN(h) (no affine, stats keep grad); x -= pre_bias;
  /// logits = x @ W_pred + b_pred; z_hat = TopK_k_pred(logits) (values, no ReLU);
  /// c = (z_hat @ W_comp + b_comp + pre_bias) * sigma + mu. The compression reads
  /// only the k_pred kept rows of W_comp (an embedding-bag sum), not all C.
  /// `steering` changes ẑ before the compression (concept_steering.h), not the
  /// logits or the kept concepts reported.
  ConceptPrediction forward(const torch::Tensor& h, const ConceptSteering& steering = {});

  int64_t k_pred() const { return k_pred_; }

  torch::Tensor pre_bias;      ///< [d]
  Conv1D predictor{nullptr};   ///< weight [d, C], bias [C]
  Conv1D compressor{nullptr};  ///< weight [C, d], bias [d]

 private:
  int64_t k_pred_;
};
TORCH_MODULE(ConceptHead);

}  // namespace cocomix
