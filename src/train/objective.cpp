// Next-token loss and the NTP objective.
#include "cocomix/train/objective.h"

#include <torch/torch.h>

#include "cocomix/model/gpt_weights.h"
#include "cocomix/train/cross_entropy.h"

namespace cocomix {

torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto vocab = logits.size(-1);
  // fp32 even under bf16 autocast: the loss is the number we report.
  return fused_cross_entropy(logits.reshape({-1, vocab}).to(torch::kFloat32), targets.reshape({-1}));
}

ObjectiveOutput NextTokenObjective::compute(const Batch& batch) {
  auto logits = model_->forward(batch.inputs);  // [B, T, V]
  auto loss = next_token_loss(logits, batch.targets);
  return {loss, {{"ntp_loss", loss.detach()}}};
}

std::vector<std::pair<std::string, torch::Tensor>> NextTokenObjective::named_parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model_->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

TensorMap NextTokenObjective::state_dict() { return gpt_state_dict(*model_); }

void NextTokenObjective::load_state_dict(const TensorMap& tensors, const std::string& source) {
  load_gpt_state_dict(*model_, tensors, source);
}

}  // namespace cocomix
