// One optimizer step of TopK SAE training, and its optimizer.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "cocomix/concept/sae.h"
#include "cocomix/concept/sae_losses.h"

namespace torch::optim {
class Optimizer;
class AdamW;
}  // namespace torch::optim

namespace cocomix {

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

}  // namespace cocomix
