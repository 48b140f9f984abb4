// load_model_for_eval: the same objective type the trainer builds, filled from disk.
#include "cocomix/eval/checkpoint_model.h"

#include <torch/torch.h>

#include <filesystem>

#include "cocomix/concept/objective_factory.h"
#include "cocomix/train/checkpoint.h"
#include "cocomix/util/error.h"

namespace cocomix {

LoadedModel load_model_for_eval(const std::string& checkpoint_or_run_dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(checkpoint_or_run_dir))
    throw RuntimeError(checkpoint_or_run_dir + ": not a directory (expected a checkpoint or run directory)");
  std::string dir = checkpoint_or_run_dir;
  const bool step_dir = fs::exists(fs::path(dir) / "COMPLETE") || fs::exists(fs::path(dir) / "trainer_state.json");
  if (!step_dir) {
    // A run directory (or its checkpoints/ folder): take the newest complete checkpoint.
    auto latest = latest_checkpoint((fs::path(dir) / "checkpoints").string());
    if (!latest) latest = latest_checkpoint(dir);
    if (!latest) throw RuntimeError(checkpoint_or_run_dir + ": holds no complete checkpoint");
    dir = *latest;
  }
  const auto contents = load_checkpoint(dir, /*with_optimizer=*/false);
  LoadedModel loaded;
  loaded.config = config_from_json(contents.config, dir + "/config.json");
  loaded.checkpoint_dir = dir;
  loaded.objective = make_objective(loaded.config, /*with_teacher=*/false);
  loaded.objective->load_state_dict(contents.model, dir + "/model.safetensors");
  loaded.objective->train(false);
  return loaded;
}

}  // namespace cocomix
