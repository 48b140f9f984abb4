// Loads a trained model for evaluation from a checkpoint directory (or a run
// directory, whose newest complete checkpoint is taken): its config.json
// rebuilds the model, model.safetensors fills it, dropout off.
#pragma once

#include <memory>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/train/objective.h"

namespace cocomix {

struct LoadedModel {
  Config config;                         ///< the checkpoint's resolved config
  std::unique_ptr<Objective> objective;  ///< the model, in eval mode
  std::string checkpoint_dir;            ///< the step directory actually loaded
};

/// Throws RuntimeError naming the file when the checkpoint is incomplete or does not fit its config.
LoadedModel load_model_for_eval(const std::string& checkpoint_or_run_dir);

}  // namespace cocomix
