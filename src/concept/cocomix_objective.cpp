// CoCoMixObjective: student forward with interleaved concepts, both losses,
// and the checkpoint layout (GPT tensors + "concept.*").
#include "cocomix/concept/cocomix_objective.h"

#include <torch/torch.h>

#include "cocomix/model/gpt_weights.h"
#include "cocomix/util/error.h"

namespace cocomix {

torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c) {
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  return torch::stack({h, c.to(h.scalar_type())}, 2).view({B, 2 * T, d});  // [B, T, 2, d] -> [B, 2T, d]
}

CoCoMixObjective::CoCoMixObjective(GPT student, ConceptHead head, std::unique_ptr<ConceptLabeler> labeler,
                                   int64_t insert_layer, double concept_weight)
    : student_(std::move(student)),
      head_(std::move(head)),
      labeler_(std::move(labeler)),
      insert_layer_(insert_layer),
      concept_weight_(concept_weight) {}

CoCoMixForward CoCoMixObjective::forward(const torch::Tensor& inputs) {
  const int64_t n_layer = student_->config().n_layer;
  CoCoMixForward out;
  const auto h = student_->run_blocks(student_->embed(inputs), 0, insert_layer_);  // [B, T, d]
  out.prediction = head_->forward(h);
  out.mixed = interleave(h, out.prediction.concepts);                        // [B, 2T, d]
  const auto top = student_->run_blocks(out.mixed, insert_layer_, n_layer);  // [B, 2T, d]
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  out.slots = top.view({B, T, 2, d}).select(2, 1);  // [B, T, d]: c_t's slot predicts token t+1
  return out;
}

std::pair<torch::Tensor, torch::Tensor> CoCoMixObjective::losses(const Batch& batch, const torch::Tensor& labels) {
  const auto out = forward(batch.inputs);
  return {next_token_loss(*student_, out.slots, batch.targets), concept_loss(out.prediction.logits, labels)};
}

ObjectiveOutput CoCoMixObjective::compute(const Batch& batch) {
  if (!labeler_) throw UsageError("CoCoMixObjective::compute: no teacher (built for evaluation)");
  const auto labels = labeler_->label(batch.inputs).labels;  // [B, T, K_attr]
  const auto [ntp, concept_part] = losses(batch, labels);
  return {ntp + concept_weight_ * concept_part, {{"ntp_loss", ntp.detach()}, {"concept_loss", concept_part.detach()}}};
}

std::vector<std::pair<std::string, torch::Tensor>> CoCoMixObjective::named_parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : student_->named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : head_->named_parameters()) out.emplace_back(kConceptPrefix + item.key(), item.value());
  return out;
}

void CoCoMixObjective::train(bool on) {
  student_->train(on);
  head_->train(on);
}

void CoCoMixObjective::to(const torch::Device& device) {
  student_->to(device);
  head_->to(device);
  if (labeler_) labeler_->to(device);
}

TensorMap CoCoMixObjective::state_dict() {
  TensorMap tensors = gpt_state_dict(*student_);
  for (const auto& item : head_->named_parameters())
    tensors.emplace(kConceptPrefix + item.key(), item.value().detach());
  return tensors;
}

void CoCoMixObjective::load_state_dict(const TensorMap& tensors, const std::string& source) {
  TensorMap gpt_part;
  TensorMap head_part;
  const std::string prefix = kConceptPrefix;
  for (const auto& [name, tensor] : tensors) {
    if (name.rfind(prefix, 0) == 0)
      head_part.emplace(name.substr(prefix.size()), tensor);
    else
      gpt_part.emplace(name, tensor);
  }
  load_gpt_state_dict(*student_, gpt_part, source);
  torch::NoGradGuard no_grad;
  auto parameters = head_->named_parameters();
  for (const auto& item : head_part)
    if (!parameters.contains(item.first))
      throw RuntimeError(source + ": tensor " + prefix + item.first + ": unexpected (not a concept-head tensor)");
  for (auto& item : parameters) {
    const auto it = head_part.find(item.key());
    if (it == head_part.end())
      throw RuntimeError(source + ": tensor " + prefix + item.key() + ": missing (a checkpoint of an NTP model?)");
    if (!it->second.sizes().equals(item.value().sizes()))
      throw RuntimeError(source + ": tensor " + prefix + item.key() + ": shape " + c10::str(it->second.sizes()) +
                         " does not match the concept head's " + c10::str(item.value().sizes()));
    item.value().copy_(it->second);
  }
}

torch::Tensor CoCoMixObjective::logits(const torch::Tensor& inputs) { return student_->head(forward(inputs).slots); }

}  // namespace cocomix
