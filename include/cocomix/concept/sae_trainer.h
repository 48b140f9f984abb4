// Training the TopK SAE of concept/sae.h (method spec §1, Gao et al. 2024) on a
// frozen teacher's residual stream after block L, computed window by window
// from a token file (activations are never stored): normalised MSE plus the
// AuxK dead-latent loss, Adam, unit-norm decoder columns, dead-latent counts,
// metrics, and atomic checkpoints that resume exactly. Used by `cocomix-sae train`.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cocomix/concept/sae.h"
#include "cocomix/data/token_file.h"
#include "cocomix/model/gpt.h"

namespace torch::optim {
class Optimizer;
class AdamW;
}  // namespace torch::optim

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

/// Adam over the SAE's parameters as Gao et al. / OpenAI's train.py run it:
/// betas (0.9, 0.999), `eps`, no weight decay (a FusedAdamW with weight decay
/// 0, so train/optimizer.h saves and restores its state).
std::unique_ptr<torch::optim::AdamW> make_sae_optimizer(TopKSaeImpl& sae, double lr, double eps);

/// What one optimizer step reports.
struct SaeStepResult {
  double loss = 0;  ///< total
  double nmse = 0;
  double aux = 0;
  double fvu = 0;
};

/// One training step on activations h [N, d]: encode, update `tracker`, losses,
/// backward, remove_parallel_decoder_gradient, optimizer step,
/// normalize_decoder_columns. The optimizer holds the SAE's parameters.
SaeStepResult sae_train_step(TopKSaeImpl& sae, torch::optim::Optimizer& optimizer, DeadLatentTracker& tracker,
                             const torch::Tensor& h, int64_t k_aux, double aux_coef);

/// How well an SAE reconstructs a teacher's activations on a token file.
struct SaeEvaluation {
  double nmse = 0;           ///< pooled E(x_hat, x) in the normalised space
  double fvu = 0;            ///< pooled E(h_hat, h) in the teacher's space
  double dead_fraction = 0;  ///< share of latents that never fired (z > kLatentFiredThreshold) on these tokens
  int64_t windows = 0;
  int64_t tokens = 0;
};

/// Encodes the teacher's activations after block sae.info().layer on the
/// validation windows of `file` (non-overlapping, from 0; at most `max_windows`,
/// 0 = all; `batch` windows per forward) and pools the errors over every token
/// (NormalizedErrorSums). Throws UsageError when the SAE does not fit the teacher
/// (d != n_embd, layer > n_layer) and RuntimeError for a bad token file.
SaeEvaluation evaluate_sae(GPTImpl& teacher, TopKSaeImpl& sae, const TokenFile& file, int64_t seq_len, int64_t batch,
                           int64_t max_windows);

/// Everything `cocomix-sae train` takes. Defaults follow Gao et al. / OpenAI's
/// train.py where they transfer to small runs.
struct SaeTrainOptions {
  std::string teacher;             ///< Hugging Face GPT-2 dir or cocomix checkpoint / run dir
  int64_t layer = 0;               ///< L: activations after block L (in [1, teacher n_layer])
  int64_t latents = 0;             ///< C
  int64_t k = 0;                   ///< k_sae, in [1, C]
  std::string data;                ///< training token file
  std::string val;                 ///< validation token file ("" = none)
  std::string format = "auto";     ///< token file layout: "auto", "llmc", "u16"
  int64_t steps = 1000;            ///< optimizer steps
  int64_t batch = 32;              ///< windows per step (N = batch * seq_len tokens)
  int64_t seq_len = 64;            ///< T; Gao et al. use a context of 64 tokens
  double lr = 1e-4;                ///< Adam learning rate (OpenAI's train.py: 1e-4 for C = 32768), constant
  double adam_eps = 6.25e-10;      ///< OpenAI's train.py; betas (0.9, 0.999), no weight decay
  int64_t k_aux = 0;               ///< AuxK latents per token; 0 = min(d / 2, C)
  double aux_coef = 1.0 / 32;      ///< alpha of the AuxK term (Gao et al.)
  int64_t dead_tokens = 10000000;  ///< a latent is dead after this many tokens without firing (Gao et al.: 10M)
  uint64_t seed = 1337;            ///< SAE init and window order
  int64_t threads = 0;             ///< intra-op threads; 0 = every core
  std::string out_dir;             ///< OUT: sae.json, sae.safetensors, metrics.jsonl, checkpoints/
  bool resume = false;             ///< continue from the newest complete checkpoint in OUT/checkpoints
  int64_t log_every = 10;          ///< steps between metrics records and progress lines
  int64_t checkpoint_every = 200;  ///< steps between checkpoints (also at the end and on SIGINT/SIGTERM)
  int64_t keep_checkpoints = 2;    ///< newest complete checkpoints kept
  int64_t eval_every = 0;          ///< steps between validation passes on `val`; 0 = at the end only
  int64_t val_windows = 64;        ///< validation windows per pass (0 = the whole file)

  /// Throws UsageError naming the flag for impossible values (k > C, sizes < 1, ...).
  void validate() const;
  /// The options as JSON (OUT/checkpoints/*/config.json).
  nlohmann::json to_json() const;
};

/// How a run ended.
struct SaeTrainSummary {
  int64_t steps = 0;         ///< steps completed (this run and any it resumed)
  bool interrupted = false;  ///< stopped by SIGINT/SIGTERM (checkpoint saved, no SAE files)
  double last_fvu = 0;       ///< training FVU of the last step
  double val_fvu = -1;       ///< of the last validation pass; < 0 without --val
};

/// Runs the whole training: checks every input before any work (UsageError for
/// bad flags, a layer out of range, an out dir holding checkpoints without
/// --resume; RuntimeError for unreadable teacher, data or checkpoint files),
/// then trains, logging and checkpointing, and finally writes OUT/sae.json and
/// OUT/sae.safetensors (save_sae; teacher_sha256 = sha256 of the teacher's
/// weights file). The layout of OUT is in docs/file-formats.md.
SaeTrainSummary train_sae(const SaeTrainOptions& options);

/// The safetensors file of a teacher directory: DIR/model.safetensors for a
/// Hugging Face directory or a checkpoint step directory, else the newest
/// complete checkpoint's under DIR/checkpoints (a run directory). Throws
/// RuntimeError naming DIR when there is none.
std::string teacher_weights_file(const std::string& teacher_dir);

}  // namespace cocomix
