// The TopK sparse autoencoder of Gao et al. 2024 (method spec §1) in OpenAI's
// layout: pre_bias [d], encoder.weight [C, d], latent_bias [C], decoder.weight
// [d, C], over residual activations normalised per position without affine.
// Files: SAE_DIR/sae.safetensors (those four names) + SAE_DIR/sae.json
// (d, n_latents, k, layer, teacher_sha256), see docs/file-formats.md.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "cocomix/concept/sae_info.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/position_norm.h"

namespace cocomix {

/// The SAE's intermediate values for h [..., d].
struct SaeCode {
  PositionNorm norm;
  torch::Tensor z_pre;  ///< [..., C] W_enc (x - pre_bias) + latent_bias
  torch::Tensor z;      ///< [..., C] ReLU(TopK_k(z_pre))
  torch::Tensor kept;   ///< [..., k] int64: the latents TopK kept (z is 0 everywhere else)
};

/// Only what TopK kept of h [..., d]: what attribution labels read, without the
/// dense [..., C] z_pre and z (268 MB each for 2048 positions x 32768 latents).
struct SaeKeptCode {
  torch::Tensor kept;    ///< [..., k] int64, the same latents in the same order as SaeCode::kept
  torch::Tensor values;  ///< [..., k] z at those latents: ReLU of the k largest z_pre
};

class TopKSaeImpl : public torch::nn::Module {
 public:
  /// Zero biases; encoder and decoder drawn as in Gao et al.: decoder columns of
  /// unit norm, encoder = decoder^T. Seeded by torch's default generator.
  explicit TopKSaeImpl(const SaeInfo& info);

  SaeCode encode(const torch::Tensor& h);
  SaeKeptCode encode_kept(const torch::Tensor& h);
  /// x_hat = W_dec z + pre_bias (normalised space), [..., C] -> [..., d].
  torch::Tensor decode_normalized(const torch::Tensor& z);
  /// h_hat = x_hat * sigma + mu: the reconstruction in the teacher's space.
  torch::Tensor reconstruct(const SaeCode& code);
  const SaeInfo& info() const { return info_; }

  torch::Tensor pre_bias;              ///< [d]
  torch::Tensor latent_bias;           ///< [C]
  torch::nn::Linear encoder{nullptr};  ///< weight [C, d], no bias
  torch::nn::Linear decoder{nullptr};  ///< weight [d, C], no bias

 private:
  /// z_pre = W_enc (x - pre_bias) + latent_bias of normalised x [..., d].
  torch::Tensor pre_activations(const torch::Tensor& x);

  SaeInfo info_;
};
TORCH_MODULE(TopKSae);

/// The four tensors by their OpenAI names (detached, aliasing the parameters).
TensorMap sae_state(TopKSaeImpl& sae);
/// Copies the four tensors of `tensors` into `sae` (strict: exactly those names,
/// the SAE's shapes, floating point). Throws RuntimeError "SOURCE: tensor NAME: ...".
void load_sae_state(TopKSaeImpl& sae, const TensorMap& tensors, const std::string& source);

/// Loads SAE_DIR/sae.json and SAE_DIR/sae.safetensors (strict: the four names,
/// shapes from sae.json). Throws RuntimeError naming the file and field.
TopKSae load_sae(const std::string& sae_dir);
/// Writes both files atomically into `sae_dir` (created if needed).
void save_sae(TopKSaeImpl& sae, const std::string& sae_dir);

}  // namespace cocomix
