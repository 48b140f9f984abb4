// CoCoMixObjective: the student forward for each insertion, the loss (NTP or
// NTP+KD, plus λ·concept or λ·D(ĥ, h_t)), and the checkpoint layout (GPT +
// "concept.*" / "hidden_prediction.*" + pause).
#include "cocomix/concept/cocomix_objective.h"

#include <torch/torch.h>

#include "cocomix/concept/distillation.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/model/parameter_tensors.h"
#include "cocomix/train/autocast.h"
#include "cocomix/train/cross_entropy.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

bool inserts_concepts(Insertion insertion) {
  return insertion == Insertion::kConceptInterleave || insertion == Insertion::kConceptAdd;
}

}  // namespace

torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c) {
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  return torch::stack({h, c.to(h.scalar_type())}, 2).view({B, 2 * T, d});  // [B, T, 2, d] -> [B, 2T, d]
}

CoCoMixObjective::CoCoMixObjective(GPT student, ConceptHead head, HiddenPredictor hidden,
                                   std::unique_ptr<ConceptLabeler> labeler, GPT teacher, const CoCoMixOptions& options)
    : student_(std::move(student)),
      head_(std::move(head)),
      hidden_(std::move(hidden)),
      labeler_(std::move(labeler)),
      teacher_(std::move(teacher)),
      options_(options) {
  if (head_ && hidden_) throw UsageError("CoCoMixObjective: a concept head and a hidden predictor exclude each other");
  if ((inserts_concepts(options_.insertion) && !head_ && !hidden_) || (options_.concept_weight > 0 && !head_))
    throw UsageError("CoCoMixObjective: concept insertion and the concept loss need a concept head");
  if (options_.hidden_weight > 0 && !hidden_)
    throw UsageError("CoCoMixObjective: the hidden-state loss needs a hidden predictor");
  if (options_.insertion == Insertion::kPauseInterleave)
    pause_ = (torch::randn({student_->config().n_embd}) * student_->config().init_std).requires_grad_(true);
}

CoCoMixForward CoCoMixObjective::forward(const torch::Tensor& inputs) {
  const int64_t n_layer = student_->config().n_layer, L_s = options_.insert_layer;
  CoCoMixForward out;
  const auto h = student_->run_blocks(student_->embed(inputs), 0, L_s);  // [B, T, d]
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  if (head_) out.prediction = head_->forward(h);
  if (hidden_) {
    out.predicted_hidden = hidden_->predict(h);                       // [B, T, d_t]
    out.compressed_hidden = hidden_->compress(out.predicted_hidden);  // [B, T, d]
  }
  // The vector a concept insertion inserts: the head's c, or the compressed ĥ.
  const auto& c = head_ ? out.prediction.concepts : out.compressed_hidden;
  bool interleaved = false;
  switch (options_.insertion) {
    case Insertion::kConceptInterleave:
      out.mixed = interleave(h, c);  // [B, 2T, d]
      interleaved = true;
      break;
    case Insertion::kPauseInterleave:
      out.mixed = interleave(h, pause_.expand_as(h));  // [B, 2T, d]
      interleaved = true;
      break;
    case Insertion::kConceptAdd:
      out.mixed = h + c;  // [B, T, d]
      break;
    case Insertion::kNone:
      out.mixed = h;
      break;
  }
  const auto top = student_->run_blocks(out.mixed, L_s, n_layer);
  // Interleaved: the slot after token t (odd position 2t+1) predicts token t+1.
  out.slots = interleaved ? top.view({B, T, 2, d}).select(2, 1) : top;  // [B, T, d]
  return out;
}

ObjectiveOutput CoCoMixObjective::loss_with_labels(const Batch& batch, const torch::Tensor& labels,
                                                   const torch::Tensor& teacher_hidden) {
  const auto out = forward(batch.inputs);
  ObjectiveOutput result;
  if (options_.kd_weight > 0) {
    if (!teacher_) throw UsageError("CoCoMixObjective: KD needs a teacher (built for evaluation?)");
    torch::Tensor teacher_logits;
    {
      torch::NoGradGuard no_grad;
      AutocastScope precision(batch.inputs.device().type(), options_.teacher_bf16);
      teacher_logits = teacher_->forward(batch.inputs);  // [B, T, V]
    }
    const auto logits = student_->head(out.slots);  // [B, T, V]: KD needs them whole
    const int64_t V = logits.size(-1);
    const auto ntp = fused_cross_entropy(logits.reshape({-1, V}).to(torch::kFloat32), batch.targets.reshape({-1}));
    const auto kd = distillation_loss(logits, teacher_logits, options_.kd_temperature);
    result.loss = (1 - options_.kd_weight) * ntp + options_.kd_weight * kd;
    result.parts = {{"ntp_loss", ntp.detach()}, {"kd_loss", kd.detach()}};
  } else {
    const auto ntp = next_token_loss(*student_, out.slots, batch.targets);
    result.loss = ntp;
    result.parts = {{"ntp_loss", ntp.detach()}};
  }
  if (options_.concept_weight > 0) {
    const auto concept_part = concept_loss(out.prediction.logits, labels);
    result.loss = result.loss + options_.concept_weight * concept_part;
    result.parts.emplace_back("concept_loss", concept_part.detach());
  }
  if (options_.hidden_weight > 0) {
    // The target carries no gradient; NTP's gradient reaches ĥ through the insertion.
    const auto hidden_part =
        hidden_prediction_loss(out.predicted_hidden, teacher_hidden.detach(), options_.hidden_loss);
    result.loss = result.loss + options_.hidden_weight * hidden_part;
    result.parts.emplace_back("hidden_loss", hidden_part.detach());
  }
  return result;
}

ObjectiveOutput CoCoMixObjective::compute(const Batch& batch) {
  torch::Tensor labels;
  if (options_.concept_weight > 0) {
    if (batch.concept_labels.defined()) return loss_with_labels(batch, batch.concept_labels);  // a label cache's
    if (!labeler_)
      throw UsageError("CoCoMixObjective: the concept loss needs a teacher and SAE, or labels from a label cache");
    labels = labeler_->label(batch.inputs).labels;  // [B, T, K_attr]
  }
  torch::Tensor teacher_hidden;
  if (options_.hidden_weight > 0) {
    if (!teacher_) throw UsageError("CoCoMixObjective: the hidden-state loss needs a teacher (built for evaluation?)");
    teacher_hidden = teacher_hidden_state(teacher_, batch.inputs, options_.teacher_layer,
                                          options_.teacher_bf16);  // [B, T, d_t], no grad
  }
  return loss_with_labels(batch, labels, teacher_hidden);
}

std::vector<std::pair<std::string, torch::Tensor>> CoCoMixObjective::named_parameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : student_->named_parameters()) out.emplace_back(item.key(), item.value());
  if (head_)
    for (const auto& item : head_->named_parameters()) out.emplace_back(kConceptPrefix + item.key(), item.value());
  if (hidden_)
    for (const auto& item : hidden_->named_parameters())
      out.emplace_back(kHiddenPredictionPrefix + item.key(), item.value());
  if (pause_.defined()) out.emplace_back(kPauseVectorName, pause_);
  return out;
}

void CoCoMixObjective::train(bool on) {
  student_->train(on);
  if (head_) head_->train(on);
  if (hidden_) hidden_->train(on);
}

void CoCoMixObjective::to(const torch::Device& device) {
  student_->to(device);
  if (head_) head_->to(device);
  if (hidden_) hidden_->to(device);
  if (pause_.defined()) pause_ = pause_.detach().to(device).requires_grad_(true);
  if (labeler_) labeler_->to(device);
  if (teacher_) teacher_->to(device);
}

TensorMap CoCoMixObjective::state_dict() {
  TensorMap tensors = gpt_state_dict(*student_);
  if (head_) tensors.merge(parameter_tensors(*head_, kConceptPrefix));
  if (hidden_) tensors.merge(parameter_tensors(*hidden_, kHiddenPredictionPrefix));
  if (pause_.defined()) tensors.emplace(kPauseVectorName, pause_.detach());
  return tensors;
}

void CoCoMixObjective::load_state_dict(const TensorMap& tensors, const std::string& source) {
  TensorMap gpt_part, head_part, hidden_part, pause_part;
  const std::string prefix = kConceptPrefix, hidden_prefix = kHiddenPredictionPrefix;
  for (const auto& [name, tensor] : tensors) {
    if (name.rfind(prefix, 0) == 0)
      head_part.emplace(name.substr(prefix.size()), tensor);
    else if (name.rfind(hidden_prefix, 0) == 0)
      hidden_part.emplace(name.substr(hidden_prefix.size()), tensor);
    else if (name == kPauseVectorName)
      pause_part.emplace(name, tensor);
    else
      gpt_part.emplace(name, tensor);
  }
  torch::OrderedDict<std::string, torch::Tensor> head_parameters, hidden_parameters, pause_parameters;
  if (head_) head_parameters = head_->named_parameters();
  if (hidden_) hidden_parameters = hidden_->named_parameters();
  if (pause_.defined()) pause_parameters.insert(kPauseVectorName, pause_);
  load_gpt_state_dict(*student_, gpt_part, source);
  load_parameter_tensors(head_parameters, head_part, source, "the concept head's", prefix);
  load_parameter_tensors(hidden_parameters, hidden_part, source, "the hidden predictor's", hidden_prefix);
  load_parameter_tensors(pause_parameters, pause_part, source, "the pause vector's");
}

torch::Tensor CoCoMixObjective::final_hidden(const torch::Tensor& inputs) {
  return student_->transformer->ln_f(forward(inputs).slots);  // [B, T, d]
}

}  // namespace cocomix
