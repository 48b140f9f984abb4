// Next-token loss and the NTP objective.
#include "cocomix/train/objective.h"

#include <torch/torch.h>

#include "cocomix/model/gpt_weights.h"
#include "cocomix/train/cross_entropy.h"

namespace cocomix {

torch::Tensor next_token_loss(GPTImpl& model, const torch::Tensor& h, const torch::Tensor& targets) {
  const auto normed = model.transformer->ln_f(h);  // [B, S, d]
  return linear_cross_entropy(normed.reshape({-1, normed.size(-1)}), model.transformer->wte->weight,
                              targets.reshape({-1}));
}

torch::Tensor Objective::logits(const torch::Tensor& inputs) {
  return torch::linear(final_hidden(inputs), unembedding());  // [B, T, V]
}

torch::Tensor NextTokenObjective::final_hidden(const torch::Tensor& inputs) {
  return model_->transformer->ln_f(model_->run_blocks(model_->embed(inputs), 0, model_->config().n_layer));
}

ObjectiveOutput NextTokenObjective::compute(const Batch& batch) {
  const auto h = model_->run_blocks(model_->embed(batch.inputs), 0, model_->config().n_layer);  // [B, T, d]
  auto loss = next_token_loss(*model_, h, batch.targets);
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
