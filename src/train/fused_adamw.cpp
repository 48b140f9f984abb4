// FusedAdamW::step: gathers each group's tensors and their LibTorch state into
// the lists aten::_fused_adamw_ takes, after advancing the step counts.
#include "cocomix/train/fused_adamw.h"

#include <torch/torch.h>

#include "cocomix/util/error.h"

namespace cocomix {

torch::Tensor FusedAdamW::step(LossClosure closure) {
  if (closure) throw UsageError("FusedAdamW::step: a loss closure is not supported");
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    if (options.amsgrad()) throw UsageError("FusedAdamW: amsgrad is not supported");
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (auto& param : group.params()) {
      if (!param.grad().defined()) continue;
      auto& slot = state_[param.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(param, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(param, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
      state.step(state.step() + 1);
      params.push_back(param);
      grads.push_back(param.grad());
      exp_avgs.push_back(state.exp_avg());
      exp_avg_sqs.push_back(state.exp_avg_sq());
      // The kernel reads the (already advanced) count as a float tensor on the parameter's device.
      steps.push_back(torch::scalar_tensor(static_cast<double>(state.step()),
                                           torch::TensorOptions().dtype(torch::kFloat32).device(param.device())));
    }
    if (params.empty()) continue;
    const auto [beta1, beta2] = options.betas();
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, options.lr(), beta1, beta2,
                      options.weight_decay(), options.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
  return {};
}

}  // namespace cocomix
