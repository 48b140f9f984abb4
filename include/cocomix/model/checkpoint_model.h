// Loads a trained model from a checkpoint directory (or a run directory, whose
// newest complete checkpoint is taken): its config.json rebuilds the student of
// its mode, model.safetensors fills it, dropout off. The one way a checkpoint
// becomes a model, for evaluation, export, generation and teachers.
#pragma once

#include <string>

#include "cocomix/config/config.h"
#include "cocomix/model/cocomix_model.h"

namespace cocomix {

struct LoadedModel {
  Config config;                ///< the checkpoint's resolved config
  CocomixModel model{nullptr};  ///< in eval mode
  std::string checkpoint_dir;   ///< the step directory actually loaded
};

/// Throws RuntimeError naming the file when the checkpoint is incomplete or does not fit its config.
LoadedModel load_model(const std::string& checkpoint_or_run_dir);

}  // namespace cocomix
