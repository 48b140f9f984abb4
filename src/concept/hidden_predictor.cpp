// HiddenPredictor forward and the hidden-state prediction loss.
#include "cocomix/concept/hidden_predictor.h"

#include <torch/torch.h>

#include "cocomix/util/error.h"

namespace cocomix {

HiddenLoss parse_hidden_loss(const std::string& name, const std::string& key) {
  if (name == "l1") return HiddenLoss::kL1;
  if (name == "l2") return HiddenLoss::kL2;
  if (name == "cosine") return HiddenLoss::kCosine;
  throw UsageError(key + ": unknown hidden-state loss \"" + name + "\" (expected l1, l2 or cosine)");
}

HiddenPredictorImpl::HiddenPredictorImpl(int64_t d_s, int64_t width, int64_t d_t, double init_std) {
  c_fc = register_module("c_fc", Conv1D(d_s, width, init_std));
  c_proj = register_module("c_proj", Conv1D(width, d_t, init_std));
  compressor = register_module("compressor", Conv1D(d_t, d_s, init_std));
}

torch::Tensor HiddenPredictorImpl::predict(const torch::Tensor& h) { return c_proj(torch::gelu(c_fc(h))); }

torch::Tensor HiddenPredictorImpl::compress(const torch::Tensor& predicted) { return compressor(predicted); }

torch::Tensor hidden_prediction_loss(const torch::Tensor& predicted, const torch::Tensor& target, HiddenLoss loss) {
  const auto p = predicted.to(torch::kFloat32), t = target.to(torch::kFloat32);  // [B, T, d_t]
  switch (loss) {
    case HiddenLoss::kL1:
      return (p - t).abs().mean();
    case HiddenLoss::kL2:
      return (p - t).square().mean();
    case HiddenLoss::kCosine:
      return (1 - torch::cosine_similarity(p, t, /*dim=*/-1)).mean();  // over B·T
  }
  throw UsageError("hidden_prediction_loss: unknown loss");
}

}  // namespace cocomix
