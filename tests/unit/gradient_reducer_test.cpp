// GradientReducer: DDP's bucket assignment worked by hand, and two ranks on
// Gloo over loopback (two threads of this process) against plain autograd:
// rank 0's initial weights reach rank 1, gradients come back as the mean of the
// two ranks' gradients, non-final micro-steps accumulate locally only, and the
// metric reductions agree.
#include "cocomix/dist/gradient_reducer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "free_port.h"

namespace cocomix {
namespace {

using Buckets = std::vector<std::vector<size_t>>;

TEST(GradientBuckets, ReverseOrderSmallFirstBucketAndOversizedParameters) {
  // bytes of parameters 0..5; first cap 10, cap 25.
  EXPECT_EQ(assign_gradient_buckets({4, 4, 30, 8, 8, 6}, 10, 25), (Buckets{{5, 4}, {3, 2}, {1, 0}}));
  EXPECT_EQ(assign_gradient_buckets({4, 4, 4}, 100, 100), (Buckets{{2, 1, 0}}));
  EXPECT_EQ(assign_gradient_buckets({50, 1}, 1, 10), (Buckets{{1}, {0}}));
  EXPECT_EQ(assign_gradient_buckets({}, 1, 10), Buckets{});
}

/// A two-parameter model y = tanh(x W^T) . v; rank r's weights start at seed r. A
/// generator of its own: the two rank threads must not race on torch's global one.
std::vector<torch::Tensor> make_parameters(int seed) {
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  return {torch::randn({3, 4}, generator).requires_grad_(), torch::randn({3}, generator).requires_grad_()};
}
torch::Tensor loss_of(const std::vector<torch::Tensor>& p, const torch::Tensor& x) {
  return torch::tanh(torch::matmul(x, p[0].t())).matmul(p[1]).pow(2).mean();
}
torch::Tensor inputs(int rank, int micro) { return torch::linspace(-1, 1, 8).reshape({2, 4}) * (1 + rank + 3 * micro); }

struct RankResult {
  std::vector<torch::Tensor> initial, grads;
  double mean = 0;
  bool any_false = true, any_one = false;
  std::vector<std::string> gathered;
};

RankResult run_rank(int rank, int port) {
  LaunchEnv env;
  env.launcher = "torchrun";
  env.rank = rank;
  env.local_rank = rank;
  env.world_size = 2;
  env.local_world_size = 2;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  DistConfig config;
  config.timeout_seconds = 30;
  config.first_bucket_mb = 1e-5;  // 10 bytes: the 3-element vector alone
  config.bucket_mb = 1;
  auto group = ProcessGroup::create(env, config, "same-config", torch::kCPU, "test.json");
  auto parameters = make_parameters(rank);
  GradientReducer reducer(group, parameters, config);
  EXPECT_EQ(reducer.bucket_count(), 2u);
  RankResult result;
  for (const auto& p : parameters) result.initial.push_back(p.detach().clone());
  // Two micro-steps: the first accumulates locally, the second reduces.
  for (int micro = 0; micro < 2; ++micro) {
    reducer.prepare_backward(micro == 1);
    (loss_of(parameters, inputs(rank, micro)) / 2).backward();
  }
  reducer.reduce_gradients(parameters);
  for (const auto& p : parameters) result.grads.push_back(p.grad().clone());
  result.mean = reducer.mean(rank == 0 ? 1.0 : 4.0);
  result.any_false = reducer.any(false);
  result.any_one = reducer.any(rank == 1);
  result.gathered = reducer.gather_to_first("state of rank " + std::to_string(rank));
  return result;
}

TEST(GradientReducer, TwoGlooRanksAverageGradientsLikeOneProcess) {
  const int port = testing::free_port();
  RankResult r0, r1;
  std::thread t0([&] { r0 = run_rank(0, port); });
  std::thread t1([&] { r1 = run_rank(1, port); });
  t0.join();
  t1.join();

  // Reference: rank 0's initial weights, each rank's two micro-batches, plain autograd.
  auto reference = make_parameters(0);
  for (int rank = 0; rank < 2; ++rank)
    for (int micro = 0; micro < 2; ++micro) (loss_of(reference, inputs(rank, micro)) / 4).backward();
  for (size_t k = 0; k < reference.size(); ++k) {
    EXPECT_TRUE(torch::equal(r1.initial[k], r0.initial[k])) << "rank 1 starts from rank 0's weights";
    EXPECT_TRUE(torch::allclose(r0.grads[k], reference[k].grad(), 1e-6, 1e-7)) << k;
    EXPECT_TRUE(torch::equal(r0.grads[k], r1.grads[k])) << "both ranks hold the same average";
  }
  EXPECT_DOUBLE_EQ(r0.mean, 2.5);
  EXPECT_DOUBLE_EQ(r1.mean, 2.5);
  EXPECT_FALSE(r0.any_false);
  EXPECT_TRUE(r0.any_one);
  EXPECT_TRUE(r1.any_one);
  EXPECT_EQ(r0.gathered, (std::vector<std::string>{"state of rank 0", "state of rank 1"}));
  EXPECT_TRUE(r1.gathered.empty());
}

}  // namespace
}  // namespace cocomix
