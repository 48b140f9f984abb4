// The attribution score of the method spec §2 (paper Eq. 1): how much each SAE
// latent drives the teacher's next-token loss, the gradient g = dL/dh at the
// teacher's layer L_t projected on the latent's decoder direction, times the
// latent's activation: score_i = (g · W_dec[:, i]) · z_i.
#pragma once

#include <torch/types.h>

namespace cocomix {

/// g · W_dec[:, kept] for each row: g [N, d], columns = W_dec^T [C, d] contiguous
/// (each latent's direction a row, for the gather), kept [N, m] int64 -> [N, m]
/// (gathered columns and a batched dot, in row chunks that bound the
/// [rows, m, d] gather; never the [N, C] product).
torch::Tensor decoder_dots(const torch::Tensor& g, const torch::Tensor& columns, const torch::Tensor& kept);

/// The scores of the SAE's kept latents (post-TopK z, the released code's
/// "attribution"): (g · W_dec[:, kept]) * z_kept, fp32 [N, m]. Every other
/// latent has z = 0 and score 0. g [N, d], columns [C, d], kept and z_kept [N, m].
torch::Tensor kept_attribution_scores(const torch::Tensor& g, const torch::Tensor& columns, const torch::Tensor& kept,
                                      const torch::Tensor& z_kept);

/// The dense scores over all C latents against pre-activations ("attribution_pre"):
/// (g · W_dec) ⊙ z_pre, fp32 [..., C]. g [..., d], decoder [d, C], z_pre [..., C].
torch::Tensor dense_attribution_scores(const torch::Tensor& g, const torch::Tensor& decoder,
                                       const torch::Tensor& z_pre);

}  // namespace cocomix
