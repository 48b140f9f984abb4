// The direct hidden-state prediction baseline (method spec §4): a 2-layer MLP
// predicts the frozen teacher's residual h_t after block L_t from the student's
// h_s entering block L_s, trained with an L1, L2 or cosine loss against h_t; a
// linear compressor maps the prediction to the student's width, and that vector
// is interleaved after every token exactly like CoCoMix's c.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "cocomix/model/gpt.h"

namespace cocomix {

class HiddenPredictorImpl : public torch::nn::Module {
 public:
  /// Weights N(0, init_std), biases 0 (HF Conv1D layout, weight [in, out]).
  HiddenPredictorImpl(int64_t d_s, int64_t width, int64_t d_t, double init_std);

  /// ĥ = c_proj(GELU(c_fc(h))), GELU exact (erf, torch.nn.GELU's default):
  /// h [B, T, d_s] -> [B, T, d_t].
  torch::Tensor predict(const torch::Tensor& h);
  /// ĥ [B, T, d_t] -> [B, T, d_s], the vector interleaved after each token.
  torch::Tensor compress(const torch::Tensor& predicted);

  Conv1D c_fc{nullptr};        ///< weight [d_s, width], bias [width]
  Conv1D c_proj{nullptr};      ///< weight [width, d_t], bias [d_t]
  Conv1D compressor{nullptr};  ///< weight [d_t, d_s], bias [d_s]
};
TORCH_MODULE(HiddenPredictor);

}  // namespace cocomix
