// The learning-rate schedule: linear warmup from 0, then a half cosine from
// optim.lr down to optim.min_lr at max_steps - the schedule of transformers'
// get_cosine_with_min_lr_schedule_with_warmup, as a pure function of the step.
#pragma once

#include <cstdint>

#include "cocomix/config/config.h"

namespace cocomix {

/// Learning rate for the 0-based optimizer step `step` of a run of `max_steps`:
/// lr * step / warmup_steps while step < warmup_steps, then
/// min_lr + 0.5 * (1 + cos(pi * progress)) * (lr - min_lr) with
/// progress = (step - warmup_steps) / max(1, max_steps - warmup_steps).
/// Past max_steps the cosine turns up again, exactly as transformers' does.
double learning_rate(const OptimConfig& optim, int64_t step, int64_t max_steps);

}  // namespace cocomix
