// ConceptLabeler::label: teacher forward (no autograd below L_t), the gradient
// of its loss at h by torch::autograd::grad, SAE encode, scores, top_k_indices.
#include "cocomix/concept/concept_labeler.h"

#include <torch/torch.h>

#include "cocomix/concept/top_k.h"
#include "cocomix/train/autocast.h"
#include "cocomix/train/objective.h"
#include "cocomix/util/error.h"

namespace cocomix {

LabelSelection parse_label_selection(const std::string& name, const std::string& key) {
  if (name == "attribution") return LabelSelection::kAttribution;
  if (name == "attribution_pre") return LabelSelection::kAttributionPre;
  if (name == "activation") return LabelSelection::kActivation;
  throw UsageError(key + ": unknown label selection \"" + name +
                   "\" (expected attribution, attribution_pre or activation)");
}

ConceptLabeler::ConceptLabeler(GPT teacher, TopKSae sae, int64_t k_attr, LabelSelection selection, bool bf16)
    : teacher_(std::move(teacher)), sae_(std::move(sae)), k_attr_(k_attr), selection_(selection), bf16_(bf16) {
  sae_->eval();
  for (auto& parameter : sae_->parameters()) parameter.requires_grad_(false);
}

void ConceptLabeler::to(const torch::Device& device) {
  teacher_->to(device);
  sae_->to(device);
}

ConceptLabels ConceptLabeler::label(const torch::Tensor& inputs) {
  const int64_t B = inputs.size(0), T = inputs.size(1), layer = sae_->info().layer;
  if (T < 2) throw UsageError("concept labels need windows of at least 2 tokens, got " + std::to_string(T));
  AutocastScope precision(inputs.device().type(), bf16_);
  ConceptLabels out;
  torch::Tensor h;
  {
    torch::NoGradGuard no_grad;                                   // nothing below L_t is differentiated
    h = teacher_->run_blocks(teacher_->embed(inputs), 0, layer);  // [B, T, d_t]
  }
  torch::Tensor g;
  {
    torch::AutoGradMode enable_grad(true);
    h.requires_grad_(true);
    const auto top = teacher_->run_blocks(h, layer, teacher_->config().n_layer);  // [B, T, d_t]
    out.teacher_loss = next_token_loss(*teacher_, top.narrow(1, 0, T - 1), inputs.narrow(1, 1, T - 1));
    g = torch::autograd::grad({out.teacher_loss}, {h})[0];  // [B, T, d_t]
  }
  torch::NoGradGuard no_grad;
  out.hidden = h.detach();
  out.hidden_grad = g;
  out.teacher_loss = out.teacher_loss.detach();
  const auto code = sae_->encode(out.hidden);
  const auto& decoder = sae_->decoder->weight;  // [d_t, C]
  switch (selection_) {
    case LabelSelection::kAttribution:
      out.scores = torch::matmul(g.to(decoder.dtype()), decoder) * code.z;  // [B, T, C]
      break;
    case LabelSelection::kAttributionPre:
      out.scores = torch::matmul(g.to(decoder.dtype()), decoder) * code.z_pre;
      break;
    case LabelSelection::kActivation:
      out.scores = code.z;
      break;
  }
  out.scores = out.scores.to(torch::kFloat32);
  const int64_t C = out.scores.size(-1);
  out.labels = top_k_indices(out.scores.reshape({B * T, C}), k_attr_).view({B, T, k_attr_});
  return out;
}

}  // namespace cocomix
