// make_sae_optimizer and sae_train_step.
#include "cocomix/train/sae_step.h"

#include <torch/torch.h>

#include "cocomix/train/optimizer.h"

namespace cocomix {

std::unique_ptr<torch::optim::AdamW> make_sae_optimizer(TopKSaeImpl& sae, double lr, double eps) {
  const NamedParameters named = named_parameters_of(sae);
  OptimConfig adam;
  adam.lr = lr;
  adam.beta1 = 0.9;
  adam.beta2 = 0.999;
  adam.eps = eps;
  adam.weight_decay = 0;  // Adam: AdamW's decoupled decay term vanishes
  adam.decay_all_params = true;
  return make_adamw(named, adam);
}

SaeStepResult sae_train_step(TopKSaeImpl& sae, torch::optim::Optimizer& optimizer, DeadLatentTracker& tracker,
                             const torch::Tensor& h, int64_t k_aux, double aux_coef) {
  TORCH_CHECK(h.dim() == 2, "sae_train_step: expected activations [N, d]");
  optimizer.zero_grad();
  const auto code = sae.encode(h);
  tracker.update(code.z);  // before AuxK: latents firing in this batch are alive for it
  const auto losses = sae_losses(sae, h, code, tracker.dead_mask(), k_aux, aux_coef);
  losses.total.backward();
  // OpenAI's training_loop_ renormalises the decoder, then removes the parallel
  // gradient, then steps; renormalising right after the step instead keeps the
  // columns at unit norm for every forward and in every saved file.
  remove_parallel_decoder_gradient(sae);
  optimizer.step();
  normalize_decoder_columns(sae);
  SaeStepResult result;
  result.loss = losses.total.item<double>();
  result.nmse = losses.nmse.item<double>();
  result.aux = losses.aux.item<double>();
  result.fvu = losses.fvu;
  return result;
}

}  // namespace cocomix
