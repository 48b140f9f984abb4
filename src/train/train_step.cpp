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
  options.tf32 = config.train.tf32;
  return options;
}

namespace {

/// torch::nn::utils::clip_grad_norm_'s arithmetic (the L2 norm of the
/// per-gradient L2 norms; every gradient times min(1, max_norm / (norm + 1e-6)))
/// without its copy of the norm to the host: returns the norm on the device.
torch::Tensor clip_grad_norm_on_device(const std::vector<torch::Tensor>& parameters, double max_norm) {
  std::vector<torch::Tensor> grads;
  for (const auto& parameter : parameters)
    if (parameter.grad().defined()) grads.push_back(parameter.grad());
  if (grads.empty()) return torch::zeros({}, torch::kFloat64);
  std::vector<torch::Tensor> norms;
  norms.reserve(grads.size());
  for (const auto& grad : grads) norms.push_back(grad.norm(2));
  const auto total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
  const auto coefficient = torch::clamp(max_norm / (total + 1e-6), std::nullopt, 1.0);
  for (auto& grad : grads) grad.mul_(coefficient);
  return total;
}

}  // namespace

StepResult run_optimizer_step(Objective& objective, torch::optim::Optimizer& optimizer, ReplicaSync& sync,
                              const std::vector<torch::Tensor>& parameters, const std::function<Batch()>& next_batch,
                              const StepOptions& options) {
  optimizer.zero_grad(/*set_to_none=*/true);
  Tf32Scope tf32(options.tf32);
  // The loss and its parts summed on the device in float64: the same sums as adding up each
  // micro-step's value on the host, without waiting for the device after every micro-step.
  std::vector<torch::Tensor> sums;  // loss, then the parts
  std::vector<std::string> part_names;
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
    std::vector<torch::Tensor> values{out.loss.detach()};
    part_names.clear();
    for (const auto& [name, value] : out.parts) {
      part_names.push_back(name);
      values.push_back(value);
    }
    sums.resize(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      const auto value = values[i].to(torch::kFloat64);
      sums[i] = sums[i].defined() ? sums[i] + value : value;
    }
  }
  sync.reduce_gradients(parameters);
  // clipping with an infinite bound only measures the norm.
  const double max_norm = options.grad_clip > 0 ? options.grad_clip : std::numeric_limits<double>::infinity();
  sums.push_back(clip_grad_norm_on_device(parameters, max_norm).to(sums[0].device(), torch::kFloat64));
  const auto host = torch::stack(sums).cpu();  // the step's one wait for the device
  const double* values = host.data_ptr<double>();
  const auto accum = static_cast<double>(options.grad_accum_steps);
  StepResult result;
  result.loss = sync.mean(values[0] / accum);
  for (size_t i = 0; i < part_names.size(); ++i)
    result.parts.emplace_back(part_names[i], sync.mean(values[i + 1] / accum));
  result.grad_norm = values[sums.size() - 1];
  result.skipped = sync.any(!std::isfinite(result.loss) || !std::isfinite(result.grad_norm));
  if (result.skipped) {
    optimizer.zero_grad(true);
    return result;
  }
  optimizer.step();
  return result;
}

}  // namespace cocomix
