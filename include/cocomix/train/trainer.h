// The training loop, wired from small components: objective (loss), window
// sampler (data), AdamW + schedule, gradient accumulation and clipping, bf16
// autocast, replica sync (data parallel), metrics, validation, checkpoints and
// exact resume. One Trainer per run directory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cocomix/config/config.h"

namespace cocomix {

struct RunOptions {
  std::string out_dir;  ///< OUT: metrics.jsonl, config.json, checkpoints/, tensorboard/
  bool resume = false;  ///< continue from the newest complete checkpoint in OUT/checkpoints
};

struct TrainSummary {
  int64_t steps = 0;          ///< optimizer steps completed (including earlier sessions)
  double last_loss = 0;       ///< training loss of the last step
  double last_val_loss = -1;  ///< last validation loss (-1 when there was no validation)
  int64_t skipped_steps = 0;  ///< non-finite steps skipped over the whole run
  bool interrupted = false;   ///< stopped early by SIGINT/SIGTERM (a checkpoint was saved)
  std::string last_checkpoint;
};

class Trainer {
 public:
  /// Checks everything that can be checked before work starts (config, data
  /// files, output directory, the checkpoint to resume) and builds the model.
  Trainer(Config config, RunOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Trains until train.max_steps or a stop signal.
  TrainSummary run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cocomix
