// fused_cross_entropy and linear_cross_entropy against PyTorch's own
// cross_entropy (after torch::linear): value and gradients.
#include "cocomix/model/cross_entropy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cocomix/model/autocast.h"

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
  // Both are exp(x - logsumexp) in fp32 (PyTorch's via log_softmax): a few ulps of
  // logsumexp (~15 here) apart, a relative 1e-6 of the gradient.
  const double largest = ref_in.grad().abs().max().item<double>();
  EXPECT_LT((ours_in.grad() - ref_in.grad()).abs().max().item<double>(), 5e-6 * largest);
}

TEST(FusedCrossEntropy, HandWorkedValue) {
  // Two rows: uniform logits over 4 classes give log(4); logits {0, ln 3} with
  // target 1 give -ln(3/4) = ln(4/3). Mean = (ln 4 + ln 4/3) / 2.
  const auto logits = torch::tensor({0.0, 0.0, 0.0, 0.0, 0.0, std::log(3.0), -1e9, -1e9}, torch::kFloat64).view({2, 4});
  const auto targets = torch::tensor({2, 1}, torch::kInt64);
  EXPECT_NEAR(fused_cross_entropy(logits, targets).item<double>(), (std::log(4.0) + std::log(4.0 / 3.0)) / 2, 1e-12);
}

/// The reference: torch::linear, then PyTorch's cross_entropy.
torch::Tensor reference_linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight,
                                             const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(torch::linear(hidden, weight), targets);
}

TEST(LinearCrossEntropy, ChunkedMatchesLinearThenCrossEntropy) {
  torch::manual_seed(5);
  const auto hidden = torch::randn({37, 16}, torch::kFloat64);      // [N, d]
  const auto weight = torch::randn({101, 16}, torch::kFloat64) * 0.5;  // [V, d]
  const auto targets = torch::randint(101, {37}, torch::kInt64);
  const auto upstream = torch::tensor(0.75, torch::kFloat64);
  for (const int64_t chunk_logits : {int64_t{101} * 5, int64_t{1} << 25}) {  // 8 chunks (last one short), one chunk
    auto h = hidden.clone().requires_grad_(true), w = weight.clone().requires_grad_(true);
    auto ours = linear_cross_entropy(h, w, targets, chunk_logits);
    (ours * upstream).backward();
    auto h_ref = hidden.clone().requires_grad_(true), w_ref = weight.clone().requires_grad_(true);
    auto ref = reference_linear_cross_entropy(h_ref, w_ref, targets);
    (ref * upstream).backward();
    EXPECT_NEAR(ours.item<double>(), ref.item<double>(), 1e-12) << chunk_logits;
    EXPECT_LT((h.grad() - h_ref.grad()).abs().max().item<double>(), 1e-14) << chunk_logits;
    EXPECT_LT((w.grad() - w_ref.grad()).abs().max().item<double>(), 1e-14) << chunk_logits;
  }
}

TEST(LinearCrossEntropy, TiedWeightGradientAddsToTheEmbeddingGradient) {
  // The GPT use: the same weight is the embedding table and the head.
  torch::manual_seed(6);
  const auto weight = torch::randn({50, 8}, torch::kFloat64);
  const auto ids = torch::randint(50, {9}, torch::kInt64), targets = torch::randint(50, {9}, torch::kInt64);
  auto w = weight.clone().requires_grad_(true);
  linear_cross_entropy(torch::tanh(w.index_select(0, ids)), w, targets, 50 * 2).backward();
  auto w_ref = weight.clone().requires_grad_(true);
  reference_linear_cross_entropy(torch::tanh(w_ref.index_select(0, ids)), w_ref, targets).backward();
  EXPECT_LT((w.grad() - w_ref.grad()).abs().max().item<double>(), 1e-14);
}

TEST(LinearCrossEntropy, Bf16AutocastAgreesWithAutocastLinear) {
  torch::manual_seed(7);
  const auto hidden = torch::randn({64, 64});
  const auto weight = torch::randn({3000, 64}) * 0.05;
  const auto targets = torch::randint(3000, {64}, torch::kInt64);
  auto h = hidden.clone().requires_grad_(true), w = weight.clone().requires_grad_(true);
  auto h_ref = hidden.clone().requires_grad_(true), w_ref = weight.clone().requires_grad_(true);
  torch::Tensor ours, ref;
  {
    AutocastScope autocast(c10::DeviceType::CPU, true);
    ours = linear_cross_entropy(h, w, targets, 3000 * 16);  // 4 chunks
    ref = torch::nn::functional::cross_entropy(torch::linear(h_ref, w_ref).to(torch::kFloat32), targets);
  }
  EXPECT_EQ(ours.scalar_type(), torch::kFloat32);
  ours.backward();
  ref.backward();
  EXPECT_EQ(w.grad().scalar_type(), torch::kFloat32);
  // Same bf16 logits; the gradients differ only in bf16 rounding of their sums.
  EXPECT_NEAR(ours.item<double>(), ref.item<double>(), 1e-5);
  const auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).abs().max() / b.abs().max()).item<double>();
  };
  EXPECT_LT(relative(h.grad(), h_ref.grad()), 1e-2);
  EXPECT_LT(relative(w.grad(), w_ref.grad()), 1e-2);
}

}  // namespace
}  // namespace cocomix
