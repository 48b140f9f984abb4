// The fused CPU GELU(tanh) against the same function evaluated in float64 by
// ATen ops, forward and backward (autograd), float32 and bfloat16. The reference
// is written x * sigmoid(2u), which equals 0.5 x (1 + tanh(u)) but does not
// underflow: 1 + tanh(u) is exactly 0 in float64 below x ~ -5.5 (and in float32,
// ATen's gelu, below x ~ -3.7), where the true value is still ~1e-20.
#include "cocomix/model/gelu.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace cocomix {
namespace {

/// gelu_tanh in float64: x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)).
torch::Tensor reference_gelu(const torch::Tensor& x64) {
  const double sqrt_2_over_pi = std::sqrt(2.0 / M_PI);
  return x64 * torch::sigmoid(2.0 * sqrt_2_over_pi * (x64 + 0.044715 * x64.pow(3)));
}

/// Inputs covering the whole range: the normal bulk, the tails where the gate
/// saturates, the clamp of the exp argument, zeros and exact GPT-2 magnitudes.
torch::Tensor test_inputs() {
  torch::manual_seed(0);
  return torch::cat({torch::randn({100003}) * 3, torch::linspace(-30, 30, 6001),
                     torch::tensor({0.0f, -0.0f, 1e-30f, -1e-30f, 100.0f, -100.0f, 1e4f, -1e4f})});
}

TEST(GeluTanh, Float32ForwardAndBackwardMatchFloat64Reference) {
  const auto x = test_inputs().requires_grad_();
  const auto grad_out = torch::randn_like(x);
  const auto y = gelu_tanh(x);
  y.backward(grad_out);

  const auto x64 = x.detach().to(torch::kFloat64).requires_grad_();
  const auto y64 = reference_gelu(x64);
  y64.backward(grad_out.to(torch::kFloat64));
  // Relative 1e-5: in float32, u's rounding (~1e-7 |u|) is amplified by |2u|, ~35 at x ~ -7. The
  // gradient's absolute 1e-6 covers x ~ -0.75, where the derivative crosses zero. The absolute
  // 1e-30: the kernel clamps exp's argument at 88, so it returns |x| e^-88 where the exact value underflows.
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), y64, 1e-5, 1e-30));
  EXPECT_TRUE(torch::allclose(x.grad().to(torch::kFloat64), x64.grad(), 1e-5, 1e-6));
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
}

TEST(GeluTanh, Bfloat16IsTheFloat32ResultRoundedOnce) {
  const auto x = test_inputs().to(torch::kBFloat16).requires_grad_();
  const auto grad_out = torch::randn(x.sizes()).to(torch::kBFloat16);
  const auto y = gelu_tanh(x);
  y.backward(grad_out);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(x.grad().scalar_type(), torch::kBFloat16);

  const auto x32 = x.detach().to(torch::kFloat32).requires_grad_();
  const auto y32 = gelu_tanh(x32);
  y32.backward(grad_out.to(torch::kFloat32));
  EXPECT_TRUE(torch::equal(y, y32.to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(x.grad(), x32.grad().to(torch::kBFloat16)));

  const auto x64 = x.detach().to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), reference_gelu(x64), 1.0 / 256, 1e-30));  // one bf16 ulp
}

TEST(GeluTanh, PropagatesNonFiniteValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto y = gelu_tanh(torch::tensor({nan, 1.0f}));
  EXPECT_TRUE(std::isnan(y[0].item<float>()));
  const auto yb = gelu_tanh(torch::tensor({nan, 1.0f}).to(torch::kBFloat16));
  EXPECT_TRUE(std::isnan(yb[0].item<float>()));
  const auto x = torch::tensor({1.0f, 2.0f}).requires_grad_();
  gelu_tanh(x).backward(torch::tensor({nan, 1.0f}));
  EXPECT_TRUE(std::isnan(x.grad()[0].item<float>()));
  EXPECT_FALSE(std::isnan(x.grad()[1].item<float>()));
}

TEST(GeluTanh, NonContiguousAndFloat64FallBackToATen) {
  const auto x = torch::randn({64, 32}).t();  // not contiguous
  EXPECT_TRUE(torch::allclose(gelu_tanh(x), torch::gelu(x, "tanh"), 2e-6, 1e-30));
  const auto x64 = torch::randn({100}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(gelu_tanh(x64), torch::gelu(x64, "tanh")));
}

}  // namespace
}  // namespace cocomix
