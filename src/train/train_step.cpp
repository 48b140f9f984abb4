// run_optimizer_step: the arithmetic of one training step.
#include "cocomix/train/train_step.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "cocomix/model/autocast.h"

namespace cocomix {

StepOptions step_options_for(const Config& config, c10::DeviceType device) {
  StepOptions options;
  options.grad_accum_steps = config.train.grad_accum_steps;
  options.grad_clip = config.optim.grad_clip;
  options.device = device;
  options.bf16 = resolve_precision(config.train.precision, device) == "bf16";
  return options;
}

StepResult run_optimizer_step(Objective& objective, torch::optim::Optimizer& optimizer, ReplicaSync& sync,
                              const std::vector<torch::Tensor>& parameters, const std::function<Batch()>& next_batch,
                              const StepOptions& options) {
  optimizer.zero_grad(/*set_to_none=*/true);
  double loss_sum = 0;
  std::vector<std::pair<std::string, double>> part_sums;
  for (int64_t micro = 0; micro < options.grad_accum_steps; ++micro) {
    const Batch batch = next_batch();
    ObjectiveOutput out;
    {
      AutocastScope autocast(options.device, options.bf16);
      out = objective.compute(batch);
    }
    sync.prepare_backward(micro + 1 == options.grad_accum_steps);
    // Scaled so the accumulated gradient is that of the mean over all micro-batches.
    (out.loss / static_cast<double>(options.grad_accum_steps)).backward();
    loss_sum += out.loss.item<double>();
    part_sums.resize(out.parts.size());
    for (size_t i = 0; i < out.parts.size(); ++i) {
      part_sums[i].first = out.parts[i].first;
      part_sums[i].second += out.parts[i].second.item<double>();
    }
  }
  sync.reduce_gradients(parameters);
  StepResult result;
  result.loss = sync.mean(loss_sum / static_cast<double>(options.grad_accum_steps));
  for (const auto& [name, sum] : part_sums)
    result.parts.emplace_back(name, sync.mean(sum / static_cast<double>(options.grad_accum_steps)));
  // clip_grad_norm_ with an infinite bound only measures the norm.
  const double max_norm = options.grad_clip > 0 ? options.grad_clip : std::numeric_limits<double>::infinity();
  result.grad_norm = torch::nn::utils::clip_grad_norm_(parameters, max_norm);
  result.skipped = sync.any(!std::isfinite(result.loss) || !std::isfinite(result.grad_norm));
  if (result.skipped) {
    optimizer.zero_grad(true);
    return result;
  }
  optimizer.step();
  return result;
}

}  // namespace cocomix
