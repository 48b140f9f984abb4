// distillation_loss against the KL expression written out with ATen ops in
// float64 under autograd (the spec's τ²·KL(p_teacher^τ || p_student^τ), mean over
// positions): value and student gradient, across chunk boundaries.
#include "cocomix/objective/distillation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace cocomix {
namespace {

/// The plain expression in float64; returns (loss, d loss / d student).
std::pair<double, torch::Tensor> reference(const torch::Tensor& student, const torch::Tensor& teacher, double tau,
                                           double upstream) {
  const int64_t V = student.size(-1);
  auto s = student.to(torch::kFloat64).detach().requires_grad_(true);
  const auto log_p_s = torch::log_softmax(s.reshape({-1, V}) / tau, 1);
  const auto log_p_t = torch::log_softmax(teacher.to(torch::kFloat64).reshape({-1, V}) / tau, 1);
  const auto loss = (log_p_t.exp() * (log_p_t - log_p_s)).sum(1).mean() * (tau * tau);
  (loss * upstream).backward();
  return {loss.item<double>(), s.grad()};
}

TEST(Distillation, MatchesTheKlExpressionAcrossChunks) {
  torch::manual_seed(5);
  const auto student = torch::randn({3, 7, 37}, torch::kFloat64) * 3;  // [B, T, V]: 21 rows
  const auto teacher = torch::randn({3, 7, 37}, torch::kFloat64) * 3;
  for (const double tau : {1.0, 2.5}) {
    // 1 row, 4 rows (21 = 5·4 + 1: a short last chunk), 21 rows (one chunk), more than all rows.
    for (const int64_t chunk_elements : {int64_t{37}, int64_t{4 * 37 + 5}, int64_t{21 * 37}, int64_t{1} << 22}) {
      auto ours_in = student.clone().requires_grad_(true);
      const auto ours = distillation_loss(ours_in, teacher, tau, chunk_elements);
      (ours * 0.75).backward();  // a non-unit incoming gradient
      const auto [loss, grad] = reference(student, teacher, tau, 0.75);
      EXPECT_NEAR(ours.item<double>(), loss, 1e-12 * std::abs(loss)) << tau << " " << chunk_elements;
      ASSERT_EQ(ours_in.grad().sizes(), student.sizes());
      EXPECT_LT((ours_in.grad() - grad).abs().max().item<double>(), 1e-15) << tau << " " << chunk_elements;
    }
  }
}

TEST(Distillation, Fp32AtGpt2VocabularyWidth) {
  torch::manual_seed(6);
  const auto student = torch::randn({2, 9, 50257}) * 4;
  const auto teacher = torch::randn({2, 9, 50257}) * 4;
  auto ours_in = student.clone().requires_grad_(true);
  const auto ours = distillation_loss(ours_in, teacher, 2.0, 5 * 50257);  // 18 rows in chunks of 5
  ours.backward();
  const auto [loss, grad] = reference(student, teacher, 2.0, 1.0);
  EXPECT_EQ(ours.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(ours.item<double>(), loss, 1e-5 * loss);
  // fp32 softmax of 50257 logits: each probability to ~1e-7 relative, scaled by τ/N.
  EXPECT_LT((ours_in.grad().to(torch::kFloat64) - grad).abs().max().item<double>(), 1e-8);
}

TEST(Distillation, Bf16LogitsGetABf16GradientComputedInFp32) {
  torch::manual_seed(7);
  const auto student = (torch::randn({16, 300}) * 3).to(torch::kBFloat16);
  const auto teacher = (torch::randn({16, 300}) * 3).to(torch::kBFloat16);
  auto ours_in = student.clone().requires_grad_(true);
  const auto ours = distillation_loss(ours_in, teacher, 1.0, 4 * 300);
  ours.backward();
  EXPECT_EQ(ours.scalar_type(), torch::kFloat32);
  EXPECT_EQ(ours_in.grad().scalar_type(), torch::kBFloat16);
  const auto [loss, grad] = reference(student, teacher, 1.0, 1.0);
  EXPECT_NEAR(ours.item<double>(), loss, 1e-5 * loss);
  // The fp32 gradient rounded once to bf16 (8 bits of mantissa).
  EXPECT_TRUE(torch::allclose(ours_in.grad().to(torch::kFloat64), grad, /*rtol=*/1.0 / 128, /*atol=*/1e-9));
}

TEST(Distillation, TeacherGetsNoGradientAndNoGradModeWorks) {
  const auto student = torch::randn({4, 11}, torch::requires_grad());
  const auto teacher = torch::randn({4, 11}, torch::requires_grad());
  distillation_loss(student, teacher, 1.0).backward();
  EXPECT_TRUE(student.grad().defined());
  EXPECT_FALSE(teacher.grad().defined());
  const double expected = reference(student.detach(), teacher.detach(), 1.0, 1.0).first;
  torch::NoGradGuard no_grad;
  const auto value = distillation_loss(student, teacher, 1.0);
  EXPECT_FALSE(value.requires_grad());
  EXPECT_NEAR(value.item<double>(), expected, 1e-6);
}

}  // namespace
}  // namespace cocomix
