// concept_loss and hidden_prediction_loss.
#include "cocomix/objective/concept_losses.h"

#include <torch/torch.h>

#include "cocomix/util/error.h"

namespace cocomix {

torch::Tensor concept_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto log_probs = torch::log_softmax(logits.to(torch::kFloat32), -1);  // [B, T, C]
  return -log_probs.gather(-1, labels).mean();
}

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
