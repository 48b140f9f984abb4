// FusedAdamW against LibTorch's own torch::optim::AdamW (the same formula as a
// chain of elementwise ops): parameters and state after several steps.
#include "cocomix/train/fused_adamw.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace cocomix {
namespace {

/// Two groups (decayed, not decayed), the third tensor never gets a gradient.
std::vector<torch::optim::OptimizerParamGroup> groups_of(const std::vector<torch::Tensor>& p) {
  const auto options = torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1);
  auto no_decay = options;
  no_decay.weight_decay(0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{p[0], p[2]}, std::make_unique<torch::optim::AdamWOptions>(options));
  groups.emplace_back(std::vector<torch::Tensor>{p[1]}, std::make_unique<torch::optim::AdamWOptions>(no_decay));
  return groups;
}

std::vector<torch::Tensor> fresh_parameters() {
  torch::manual_seed(11);
  return {torch::randn({7, 5}, torch::kFloat64).requires_grad_(), torch::randn({5}, torch::kFloat64).requires_grad_(),
          torch::randn({3}, torch::kFloat64).requires_grad_()};
}

TEST(FusedAdamW, MatchesLibTorchAdamWOverSteps) {
  auto ours = fresh_parameters();
  auto reference = fresh_parameters();
  FusedAdamW fused(groups_of(ours));
  torch::optim::AdamW plain(groups_of(reference));
  torch::manual_seed(12);
  for (int step = 0; step < 6; ++step) {
    const auto g0 = torch::randn({7, 5}, torch::kFloat64), g1 = torch::randn({5}, torch::kFloat64) * 10;
    ours[0].mutable_grad() = g0.clone();
    ours[1].mutable_grad() = g1.clone();
    reference[0].mutable_grad() = g0.clone();
    reference[1].mutable_grad() = g1.clone();
    if (step == 3)  // a changed learning rate (the schedule) takes effect
      for (auto* optimizer : std::vector<torch::optim::Optimizer*>{&fused, &plain})
        for (auto& group : optimizer->param_groups()) group.options().set_lr(1e-3);
    fused.step();
    plain.step();
  }
  for (size_t i = 0; i < ours.size(); ++i)
    EXPECT_LT((ours[i] - reference[i]).abs().max().item<double>(), 1e-12) << "parameter " << i;
  EXPECT_EQ(fused.state().count(ours[2].unsafeGetTensorImpl()), 0u);  // no gradient, no state, unchanged
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = static_cast<const torch::optim::AdamWParamState&>(*fused.state().at(ours[i].unsafeGetTensorImpl()));
    const auto& b =
        static_cast<const torch::optim::AdamWParamState&>(*plain.state().at(reference[i].unsafeGetTensorImpl()));
    EXPECT_EQ(a.step(), 6);
    EXPECT_EQ(a.step(), b.step());
    EXPECT_LT((a.exp_avg() - b.exp_avg()).abs().max().item<double>(), 1e-12);
    EXPECT_LT((a.exp_avg_sq() - b.exp_avg_sq()).abs().max().item<double>(), 1e-12);
  }
}

TEST(FusedAdamW, FirstStepByHand) {
  // Step 1: m = (1-b1) g, v = (1-b2) g², bias-corrected m̂ = g, v̂ = g², so
  // p' = p (1 - lr wd) - lr g / (|g| + eps).
  auto p = torch::tensor({1.0, -2.0}, torch::kFloat64).requires_grad_();
  FusedAdamW optimizer({p}, torch::optim::AdamWOptions(0.5).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
  p.mutable_grad() = torch::tensor({0.25, -4.0}, torch::kFloat64);
  optimizer.step();
  EXPECT_NEAR(p[0].item<double>(), 1.0 * (1 - 0.05) - 0.5 * 0.25 / (0.25 + 1e-8), 1e-12);
  EXPECT_NEAR(p[1].item<double>(), -2.0 * (1 - 0.05) + 0.5 * 4.0 / (4.0 + 1e-8), 1e-12);
}

}  // namespace
}  // namespace cocomix
