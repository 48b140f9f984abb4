// LR schedule: values of transformers' get_cosine_with_min_lr_schedule_with_warmup
// (tests/reference/make_optimizer_reference.py) and points worked out by hand.
#include "cocomix/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace cocomix {
namespace {

OptimConfig schedule(double lr, double min_lr, int64_t warmup_steps) {
  OptimConfig optim;
  optim.lr = lr;
  optim.min_lr = min_lr;
  optim.warmup_steps = warmup_steps;
  return optim;
}

TEST(LrSchedule, MatchesTransformers) {
  const char* dir = std::getenv("COCOMIX_REFERENCE_DIR");
  ASSERT_NE(dir, nullptr) << "COCOMIX_REFERENCE_DIR is not set (run through ctest)";
  std::ifstream in(std::string(dir) + "/lr_schedule.json");
  ASSERT_TRUE(in) << "missing lr_schedule.json: run tests/reference/make_optimizer_reference.py";
  const auto reference = nlohmann::json::parse(in);
  ASSERT_GE(reference["cases"].size(), 4u);
  for (const auto& c : reference["cases"]) {
    const auto optim = schedule(c["lr"], c["min_lr"], c["warmup_steps"]);
    const int64_t max_steps = c["max_steps"];
    const auto& values = c["values"];
    ASSERT_EQ(static_cast<int64_t>(values.size()), max_steps + 4);
    for (int64_t step = 0; step < static_cast<int64_t>(values.size()); ++step)
      EXPECT_NEAR(learning_rate(optim, step, max_steps), values[step].get<double>(), 1e-13 * optim.lr)
          << "lr " << optim.lr << " min_lr " << optim.min_lr << " warmup " << optim.warmup_steps << " max_steps "
          << max_steps << " step " << step;
  }
}

TEST(LrSchedule, HandWorkedPoints) {
  // lr 1e-3 -> min_lr 1e-4, 10 warmup steps, cosine over the remaining 100.
  const auto optim = schedule(1e-3, 1e-4, 10);
  EXPECT_DOUBLE_EQ(learning_rate(optim, 0, 110), 0.0);
  EXPECT_DOUBLE_EQ(learning_rate(optim, 5, 110), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate(optim, 10, 110), 1e-3);
  // progress 1/4: 1e-4 + 0.5 * (1 + cos(pi/4)) * 9e-4 = 1e-4 + 0.853553390593 * 9e-4
  EXPECT_NEAR(learning_rate(optim, 35, 110), 8.681980515339e-4, 1e-15);
  EXPECT_NEAR(learning_rate(optim, 60, 110), 5.5e-4, 1e-15);  // progress 1/2: halfway
  EXPECT_NEAR(learning_rate(optim, 110, 110), 1e-4, 1e-15);   // the end: min_lr
  // No warmup: the first step already runs at the peak rate.
  EXPECT_DOUBLE_EQ(learning_rate(schedule(6e-4, 6e-5, 0), 0, 1000), 6e-4);
  // min_lr == lr: constant after warmup.
  EXPECT_DOUBLE_EQ(learning_rate(schedule(3e-4, 3e-4, 0), 77, 100), 3e-4);
}

}  // namespace
}  // namespace cocomix
