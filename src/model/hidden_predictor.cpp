// HiddenPredictor forward.
#include "cocomix/model/hidden_predictor.h"

#include <torch/torch.h>

namespace cocomix {

HiddenPredictorImpl::HiddenPredictorImpl(int64_t d_s, int64_t width, int64_t d_t, double init_std) {
  c_fc = register_module("c_fc", Conv1D(d_s, width, init_std));
  c_proj = register_module("c_proj", Conv1D(width, d_t, init_std));
  compressor = register_module("compressor", Conv1D(d_t, d_s, init_std));
}

torch::Tensor HiddenPredictorImpl::predict(const torch::Tensor& h) { return c_proj(torch::gelu(c_fc(h))); }

torch::Tensor HiddenPredictorImpl::compress(const torch::Tensor& predicted) { return compressor(predicted); }

}  // namespace cocomix
