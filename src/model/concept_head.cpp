// ConceptHead forward.
#include "cocomix/model/concept_head.h"

#include <torch/torch.h>

#include "cocomix/model/position_norm.h"

namespace cocomix {

ConceptHeadImpl::ConceptHeadImpl(int64_t d, int64_t n_concepts, int64_t k_pred, double init_std) : k_pred_(k_pred) {
  pre_bias = register_parameter("pre_bias", torch::zeros({d}));
  predictor = register_module("predictor", Conv1D(d, n_concepts, init_std));
  compressor = register_module("compressor", Conv1D(n_concepts, d, init_std));
}

ConceptPrediction ConceptHeadImpl::forward(const torch::Tensor& h) {
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  const auto norm = normalize_positions(h);
  ConceptPrediction out;
  out.logits = predictor(norm.x - pre_bias);                      // [B, T, C]
  auto [top_values, top_indices] = out.logits.topk(k_pred_, -1);  // [B, T, k_pred] each
  // z_hat @ W_comp with z_hat zero outside the kept k_pred: the weighted sum of
  // k_pred rows of W_comp. Gradients reach the kept values and those rows.
  const auto compressed = torch::nn::functional::embedding_bag(
      top_indices.reshape({B * T, k_pred_}), compressor->weight,
      torch::nn::functional::EmbeddingBagFuncOptions()
          .mode(torch::kSum)
          .per_sample_weights(top_values.reshape({B * T, k_pred_}).to(compressor->weight.scalar_type())));  // [B·T, d]
  out.concepts = norm.denormalize(compressed.view({B, T, d}) + compressor->bias + pre_bias);
  out.top_indices = top_indices;
  return out;
}

}  // namespace cocomix
