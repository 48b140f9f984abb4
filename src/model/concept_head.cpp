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

ConceptPrediction ConceptHeadImpl::forward(const torch::Tensor& h, const ConceptSteering& steering) {
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  const auto norm = normalize_positions(h);
  ConceptPrediction out;
  out.logits = predictor(norm.x - pre_bias);                      // [B, T, C]
  std::tie(out.top_values, out.top_indices) = out.logits.topk(k_pred_, -1);  // [B, T, k_pred] each
  const auto z_hat = steer(out.top_values, out.top_indices, steering);        // [B, T, m], m = k_pred unsteered
  const int64_t m = z_hat.indices.size(-1);
  // z_hat @ W_comp with z_hat zero outside its m entries: the weighted sum of
  // m rows of W_comp. Gradients reach the kept values and those rows.
  const auto compressed = torch::nn::functional::embedding_bag(
      z_hat.indices.reshape({B * T, m}), compressor->weight,
      torch::nn::functional::EmbeddingBagFuncOptions()
          .mode(torch::kSum)
          .per_sample_weights(z_hat.values.reshape({B * T, m}).to(compressor->weight.scalar_type())));  // [B·T, d]
  out.concepts = norm.denormalize(compressed.view({B, T, d}) + compressor->bias + pre_bias);
  return out;
}

}  // namespace cocomix
