// Objective: the loss terms of the mode table, in one place.
#include "cocomix/objective/objective.h"

#include <torch/torch.h>

#include "cocomix/concept/teacher.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/cross_entropy.h"
#include "cocomix/objective/concept_losses.h"
#include "cocomix/objective/distillation.h"
#include "cocomix/util/error.h"

namespace cocomix {

Objective::Objective(CocomixModel model, const ConceptConfig& concepts, std::unique_ptr<LabelSource> labels,
                     GPT teacher)
    : model_(std::move(model)),
      concepts_(concepts),
      teacher_precision_(parse_teacher_precision(concepts.teacher_precision, "concept.teacher_precision")),
      labels_(std::move(labels)),
      teacher_(std::move(teacher)) {}

ObjectiveOutput Objective::compute(const Batch& batch) {
  const ModeSpec& mode = model_->spec();
  torch::Tensor labels;
  if (mode.concept_loss) {
    if (!labels_) throw UsageError("Objective: the concept loss needs a teacher and SAE, or labels from a label cache");
    labels = labels_->labels(batch);  // [B, T, K_attr]
  }
  torch::Tensor teacher_hidden;
  if (mode.hidden_target) {
    if (!teacher_) throw UsageError("Objective: the hidden-state loss needs a teacher (built for evaluation?)");
    teacher_hidden = teacher_hidden_state(teacher_, batch.inputs, concepts_.teacher_layer,
                                          teacher_precision_);  // [B, T, d_t], no grad
  }
  return loss_with_labels(batch, labels, teacher_hidden);
}

ObjectiveOutput Objective::loss_with_labels(const Batch& batch, const torch::Tensor& labels,
                                            const torch::Tensor& teacher_hidden) {
  const ModeSpec& mode = model_->spec();
  const auto out = model_->forward(batch.inputs);
  GPTImpl& student = *model_->gpt();
  ObjectiveOutput result;
  if (mode.kd) {
    if (!teacher_) throw UsageError("Objective: KD needs a teacher (built for evaluation?)");
    torch::Tensor teacher_logits;
    {
      torch::NoGradGuard no_grad;
      TeacherPrecisionScope precision(batch.inputs.device().type(), teacher_precision_);
      teacher_logits = teacher_->forward(batch.inputs);  // [B, T, V]
    }
    const auto logits = student.head(out.slots);  // [B, T, V]: KD needs them whole
    const int64_t V = logits.size(-1);
    const auto ntp = fused_cross_entropy(logits.reshape({-1, V}).to(torch::kFloat32), batch.targets.reshape({-1}));
    const auto kd = distillation_loss(logits, teacher_logits, concepts_.kd_temperature);
    result.loss = (1 - concepts_.kd_weight) * ntp + concepts_.kd_weight * kd;
    result.parts = {{"ntp_loss", ntp.detach()}, {"kd_loss", kd.detach()}};
  } else {
    const auto ntp = next_token_loss(student, out.slots, batch.targets);
    result.loss = ntp;
    result.parts = {{"ntp_loss", ntp.detach()}};
  }
  if (mode.concept_loss) {
    const auto concept_part = concept_loss(out.prediction.logits, labels);
    result.loss = result.loss + concepts_.weight * concept_part;
    result.parts.emplace_back("concept_loss", concept_part.detach());
  }
  if (mode.hidden_target) {
    // The target carries no gradient; NTP's gradient reaches ĥ through the insertion.
    const auto hidden_part =
        hidden_prediction_loss(out.predicted_hidden, teacher_hidden.detach(), concepts_.hidden_loss);
    result.loss = result.loss + concepts_.weight * hidden_part;
    result.parts.emplace_back("hidden_loss", hidden_part.detach());
  }
  return result;
}

void Objective::to(const torch::Device& device) {
  model_->to(device);
  if (labels_) labels_->to(device);
  if (teacher_) teacher_->to(device);
}

}  // namespace cocomix
