// sae_steering: the residual edit of a steered SAE code.
#include "cocomix/generate/sae_steering.h"

#include <torch/torch.h>

#include "cocomix/concept/sae_evaluation.h"
#include "cocomix/model/position_norm.h"
#include "cocomix/util/error.h"

namespace cocomix {

void check_sae_fits(const TopKSaeImpl& sae, const std::string& sae_dir, CocomixModelImpl& model,
                    const std::string& weights_sha256) {
  const auto& info = sae.info();
  const std::string file = sae_dir + "/sae.json";
  check_sae_fits_teacher(info, model.gpt()->config(), "--sae " + file);
  const std::string mismatch = weights_sha256.empty() ? "" : teacher_mismatch(info, weights_sha256, "this model's");
  if (!mismatch.empty()) throw UsageError("--sae " + file + ": " + mismatch);
}

Steering sae_steering(TopKSae sae, const ConceptSteering& latents, const std::string& flag) {
  latents.validate(sae->info().n_latents, flag);
  Steering steering;
  steering.residual_layer = sae->info().layer;
  // The decoder's columns as rows [C, d], for the embedding-bag sum over the changed latents.
  const auto directions = sae->decoder->weight.detach().t().contiguous();
  steering.edit_residual = [sae, latents, directions](const torch::Tensor& h) mutable {  // h [B, S, d]
    const auto code = sae->encode_kept(h);                                               // [B, S, k] each
    const auto steered = steer(code.values, code.kept, latents);                         // [B, S, k + L]
    const int64_t k = code.values.size(-1), m = steered.values.size(-1);
    // z' - z: the kept entries' change, then the entered latents' whole value.
    const auto change = steered.values - torch::constant_pad_nd(code.values, {0, m - k});
    const int64_t rows = h.numel() / h.size(-1);
    const auto normalized_change = torch::nn::functional::embedding_bag(
        steered.indices.reshape({rows, m}), directions,
        torch::nn::functional::EmbeddingBagFuncOptions()
            .mode(torch::kSum)
            .per_sample_weights(change.reshape({rows, m}).to(directions.scalar_type())));  // [rows, d]: W_dec (z' - z)
    // ĥ' - ĥ = W_dec (z' - z) σ (the SAE's pre_bias and μ cancel).
    return h + normalized_change.view(h.sizes()) * normalize_positions(h).sigma;
  };
  return steering;
}

}  // namespace cocomix
