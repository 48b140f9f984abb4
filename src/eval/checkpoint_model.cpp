// load_model_for_eval: the same objective type the trainer builds, filled from disk.
#include "cocomix/eval/checkpoint_model.h"

#include <torch/torch.h>

#include "cocomix/concept/objective_factory.h"
#include "cocomix/train/checkpoint.h"
#include "cocomix/util/error.h"

namespace cocomix {

LoadedModel load_model_for_eval(const std::string& checkpoint_or_run_dir) {
  const std::string dir = resolve_checkpoint_dir(checkpoint_or_run_dir);
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
