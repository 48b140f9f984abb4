// fused_cross_entropy against PyTorch's own cross_entropy: value and gradient.
#include "cocomix/train/cross_entropy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace cocomix {
namespace {

TEST(FusedCrossEntropy, MatchesTorchCrossEntropyAndItsGradient) {
  torch::manual_seed(3);
  const auto base = torch::randn({37, 101}, torch::kFloat64) * 4;  // [N, V], wide range of logits
  const auto targets = torch::randint(101, {37}, torch::kInt64);
  const auto upstream = torch::tensor(0.75, torch::kFloat64);  // a non-unit incoming gradient

  auto ours_in = base.clone().requires_grad_(true);
  auto ours = fused_cross_entropy(ours_in, targets);
  (ours * upstream).backward();

  auto ref_in = base.clone().requires_grad_(true);
  auto ref = torch::nn::functional::cross_entropy(ref_in, targets);
  (ref * upstream).backward();

  EXPECT_NEAR(ours.item<double>(), ref.item<double>(), 1e-12);
  EXPECT_LT((ours_in.grad() - ref_in.grad()).abs().max().item<double>(), 1e-15);
}

TEST(FusedCrossEntropy, Fp32AgreesWithTorch) {
  torch::manual_seed(4);
  const auto base = torch::randn({64, 50257}) * 3;  // GPT-2's vocabulary width
  const auto targets = torch::randint(50257, {64}, torch::kInt64);
  auto ours_in = base.clone().requires_grad_(true);
  fused_cross_entropy(ours_in, targets).backward();
  auto ref_in = base.clone().requires_grad_(true);
  const auto ref = torch::nn::functional::cross_entropy(ref_in, targets);
  ref.backward();
  EXPECT_NEAR(fused_cross_entropy(base, targets).item<double>(), ref.item<double>(), 1e-5);
  EXPECT_LT((ours_in.grad() - ref_in.grad()).abs().max().item<double>(), 1e-9);
}

TEST(FusedCrossEntropy, HandWorkedValue) {
  // Two rows: uniform logits over 4 classes give log(4); logits {0, ln 3} with
  // target 1 give -ln(3/4) = ln(4/3). Mean = (ln 4 + ln 4/3) / 2.
  const auto logits = torch::tensor({0.0, 0.0, 0.0, 0.0, 0.0, std::log(3.0), -1e9, -1e9}, torch::kFloat64).view({2, 4});
  const auto targets = torch::tensor({2, 1}, torch::kInt64);
  EXPECT_NEAR(fused_cross_entropy(logits, targets).item<double>(), (std::log(4.0) + std::log(4.0 / 3.0)) / 2, 1e-12);
}

}  // namespace
}  // namespace cocomix
