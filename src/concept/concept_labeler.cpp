// ConceptLabeler::label: teacher forward (no autograd below L_t), the gradient
// of its loss at h by torch::autograd::grad, SAE encode, scores, top_k_indices
// (post-TopK attribution: only the kept latents are scored, top_k_indices_sparse).
#include "cocomix/concept/concept_labeler.h"

#include <torch/torch.h>

#include <algorithm>

#include "cocomix/concept/attribution.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/concept/top_k.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/cross_entropy.h"
#include "cocomix/util/error.h"

namespace cocomix {

ConceptLabeler::ConceptLabeler(GPT teacher, TopKSae sae, int64_t k_attr, LabelSelection selection,
                               TeacherPrecision precision)
    : teacher_(std::move(teacher)),
      sae_(std::move(sae)),
      k_attr_(k_attr),
      selection_(selection),
      precision_(precision) {
  sae_->eval();
  for (auto& parameter : sae_->parameters()) parameter.requires_grad_(false);
  decoder_columns_ = sae_->decoder->weight.t().contiguous();
}

void ConceptLabeler::to(const torch::Device& device) {
  teacher_->to(device);
  sae_->to(device);
  decoder_columns_ = sae_->decoder->weight.t().contiguous();
}

ConceptLabels ConceptLabeler::label(const torch::Tensor& inputs) {
  const int64_t B = inputs.size(0), T = inputs.size(1), layer = sae_->info().layer;
  if (T < 2) throw UsageError("concept labels need windows of at least 2 tokens, got " + std::to_string(T));
  TeacherPrecisionScope precision(inputs.device().type(), precision_);
  ConceptLabels out;
  auto h =
      teacher_hidden_state(teacher_, inputs, layer, precision_);  // [B, T, d_t]: nothing below L_t is differentiated
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
  const auto& decoder = sae_->decoder->weight;  // [d_t, C]
  const int64_t C = decoder.size(1), d = decoder.size(0);
  if (selection_ == LabelSelection::kAttribution) {
    const auto code = sae_->encode_kept(out.hidden);
    const int64_t m = code.kept.size(-1);
    out.kept = code.kept;                                 // [B, T, m]
    const auto kept = code.kept.reshape({B * T, m});      // [N, m]
    const auto z_kept = code.values.reshape({B * T, m});  // [N, m]
    const auto scores = kept_attribution_scores(g.reshape({B * T, d}), decoder_columns_, kept, z_kept);
    out.kept_scores = scores.view({B, T, m});
    out.labels = top_k_indices_sparse(kept, scores, C, k_attr_).view({B, T, k_attr_});
    return out;
  }
  const auto code = sae_->encode(out.hidden);
  out.scores = selection_ == LabelSelection::kAttributionPre ? dense_attribution_scores(g, decoder, code.z_pre)
                                                             : code.z.to(torch::kFloat32);  // [B, T, C]
  out.labels = top_k_indices(out.scores.reshape({B * T, C}), k_attr_).view({B, T, k_attr_});
  return out;
}

}  // namespace cocomix
