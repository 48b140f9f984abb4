// One optimizer step, shared by the Trainer and cocomix-bench so that the
// benchmark times exactly what training runs: grad_accum micro-steps under
// autocast, loss scaled by 1/grad_accum, the replica gradient reduction, global
// norm clipping, then the update, or no update when anything is non-finite.
// The step waits for the device once: the loss, its parts and the norm stay on
// the device until one copy after the clipping, which the non-finite verdict
// needs before the update is queued.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/config/config.h"
#include "cocomix/data/batch.h"
#include "cocomix/dist/replica_sync.h"
#include "cocomix/objective/objective.h"

namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace cocomix {

struct StepOptions {
  int64_t grad_accum_steps = 1;
  double grad_clip = 1.0;  ///< 0 = measure the norm without clipping
  c10::DeviceType device = c10::DeviceType::CPU;
  bool bf16 = false;  ///< bf16 autocast around the forward passes
  bool tf32 = false;  ///< TF32 for the fp32 matmuls on CUDA (train.tf32)
};

struct StepResult {
  double loss = 0;       ///< mean loss over the micro-steps (and replicas)
  double grad_norm = 0;  ///< global L2 norm before clipping
  bool skipped = false;  ///< loss or norm non-finite: gradients dropped, no update
  /// The objective's named parts (ntp_loss, concept_loss, ...), each the mean
  /// over the micro-steps (and replicas), in the objective's order.
  std::vector<std::pair<std::string, double>> parts;
};

/// The step options of a config on `device`, with train.precision resolved
/// ("auto" included) as resolve_precision does.
StepOptions step_options_for(const Config& config, c10::DeviceType device);

/// `next_batch` returns each micro-batch already on the device. The caller sets
/// the learning rate beforehand.
StepResult run_optimizer_step(Objective& objective, torch::optim::Optimizer& optimizer, ReplicaSync& sync,
                              const std::vector<torch::Tensor>& parameters, const std::function<Batch()>& next_batch,
                              const StepOptions& options);

}  // namespace cocomix
