// The loss terms and decoder constraints of TopK SAE training (Gao et al. 2024,
// arXiv 2406.04093 §A.2; OpenAI's sparse_autoencoder train.py + kernels.py):
// the normalised error, dead-latent counts and AuxK, unit-norm decoder columns,
// and the geometric-median init of pre_bias.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "cocomix/concept/sae.h"

namespace cocomix {

/// The error of `prediction` relative to always predicting the mean of `target`:
///
///     E(pred, t) = sum_{n,j} (pred_nj - t_nj)^2 / sum_{n,j} (t_nj - tbar_j)^2,
///     tbar_j = (1/N) sum_n t_nj            (rows n = tokens, columns j = dims)
///
/// over [N, d] (both the same shape). This is Gao et al.'s normalised MSE (the
/// MSE divided by that of predicting the mean activation; their kernels.py
/// normalized_mse computes it per batch exactly so) and, read as a share of the
/// total variance, the fraction of variance unexplained. 0 when the
/// denominator is 0 (OpenAI's train.py zeroes a NaN AuxK loss the same way).
/// The denominator carries no gradient when `target` carries none.
torch::Tensor normalized_squared_error(const torch::Tensor& prediction, const torch::Tensor& target);

/// Pooled E(pred, target) over many batches (validation): accumulates
/// sum (pred - t)^2, sum_n t_n [d] and sum t^2 in float64, so that the mean
/// tbar is the one of all rows seen, not of each batch.
class NormalizedErrorSums {
 public:
  /// prediction, target: [N, d].
  void add(const torch::Tensor& prediction, const torch::Tensor& target);
  /// E over every row added; 0 when nothing (or no variance) was added.
  double value() const;

 private:
  double squared_error_ = 0;
  double target_squares_ = 0;
  torch::Tensor target_sum_;  ///< [d] float64
  int64_t rows_ = 0;
};

/// Latent i has fired on a token when its SAE activation z_i exceeds this
/// (OpenAI's train.py counts `vals > 1e-3`).
constexpr double kLatentFiredThreshold = 1e-3;

/// Tokens since each latent last fired. A latent is dead once it has not fired
/// for `dead_tokens` tokens (Gao et al.: 10M). Updated once per batch, before
/// the AuxK loss of that batch is formed (as OpenAI's train.py does), so a
/// latent that fires in a batch is alive for that batch's AuxK.
class DeadLatentTracker {
 public:
  DeadLatentTracker(int64_t n_latents, int64_t dead_tokens);
  /// z [N, C] (one batch of N tokens): latents with some z > kLatentFiredThreshold
  /// restart at 0, every other counter grows by N.
  void update(const torch::Tensor& z);
  /// [C] bool: tokens since fired >= dead_tokens.
  torch::Tensor dead_mask() const;
  /// Share of latents that are dead, in [0, 1].
  double dead_fraction() const;
  /// [C] int64 counters (saved in checkpoints as "tokens_since_fired").
  const torch::Tensor& tokens_since_fired() const { return tokens_since_fired_; }
  /// Restores counters written by tokens_since_fired(); RuntimeError naming
  /// `source` when the shape or dtype does not fit.
  void restore(const torch::Tensor& counters, const std::string& source);

 private:
  torch::Tensor tokens_since_fired_;  ///< [C] int64
  int64_t dead_tokens_;
};

/// AuxK's latents (Gao et al. §A.2): of z_pre [N, C], only the dead latents
/// ([C] bool) compete; per row the k_aux largest of them are kept, ReLU
/// applied, everything else 0. k_aux is capped at the number of dead latents;
/// with none dead the result is all zeros. [N, C], gradient through the kept values.
torch::Tensor auxk_latents(const torch::Tensor& z_pre, const torch::Tensor& dead, int64_t k_aux);

/// The loss terms of one batch.
struct SaeLosses {
  torch::Tensor total;  ///< nmse + aux_coef * aux (scalar, with gradient)
  torch::Tensor nmse;   ///< E(x_hat, x) in the SAE's normalised space, x = LN(h) (with gradient)
  torch::Tensor aux;    ///< AuxK: E(e_hat, e), 0 when no latent is dead (with gradient)
  double fvu = 0;       ///< E(h_hat, h) in the teacher's space (h_hat = reconstruct), no gradient
};

/// The two losses for activations h [N, d] and its code = sae.encode(h):
///
///     nmse = E(x_hat, x),       x_hat = W_dec z + pre_bias
///     aux  = E(e_hat, e),       e = x - x_hat (detached), e_hat = W_dec z_aux
///     total = nmse + aux_coef * aux
///
/// with z_aux = auxk_latents(z_pre, dead, k_aux). This is Gao et al.'s
/// L + alpha L_aux (§A.2: "e = x - x_hat, L_aux = ||e - e_hat||^2, e_hat = W_dec z",
/// alpha = 1/32), each term normalised as in OpenAI's train.py (their main term
/// divides by a fixed mean-prediction MSE of a statistics sample, here by the
/// batch's; their AuxK term is E per batch as here). Their e_hat also adds
/// pre_bias on both sides, which only lets AuxK move pre_bias; here it does not.
SaeLosses sae_losses(TopKSaeImpl& sae, const torch::Tensor& h, const SaeCode& code, const torch::Tensor& dead,
                     int64_t k_aux, double aux_coef);

/// Removes from each decoder column's gradient its component along the column
/// (g_j -= (w_j . g_j) w_j, w_j = decoder.weight[:, j], assumed unit norm):
/// OpenAI's unit_norm_decoder_grad_adjustment_, applied before the optimizer step.
void remove_parallel_decoder_gradient(TopKSaeImpl& sae);

/// Scales every decoder column to unit L2 norm (after each step and at init).
void normalize_decoder_columns(TopKSaeImpl& sae);

/// The geometric median of points [N, d] by Weiszfeld's iteration (started at
/// the mean, `iterations` rounds): OpenAI's train.py initialises pre_bias so.
torch::Tensor geometric_median(const torch::Tensor& points, int64_t iterations = 100);

}  // namespace cocomix
