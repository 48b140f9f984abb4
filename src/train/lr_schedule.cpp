// Warmup + cosine-to-min_lr schedule (see lr_schedule.h for the formula).
#include "cocomix/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace cocomix {

namespace {
const double kPi = std::acos(-1.0);
}  // namespace

double learning_rate(const OptimConfig& optim, int64_t step, int64_t max_steps) {
  if (step < optim.warmup_steps)
    return optim.lr * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, optim.warmup_steps));
  const double progress = static_cast<double>(step - optim.warmup_steps) /
                          static_cast<double>(std::max<int64_t>(1, max_steps - optim.warmup_steps));
  const double cosine = 0.5 * (1.0 + std::cos(kPi * progress));
  return optim.min_lr + cosine * (optim.lr - optim.min_lr);
}

}  // namespace cocomix
