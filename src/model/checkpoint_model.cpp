// load_model: the student its config describes, filled from disk.
#include "cocomix/model/checkpoint_model.h"

#include <torch/torch.h>

#include "cocomix/io/checkpoint.h"

namespace cocomix {

LoadedModel load_model(const std::string& checkpoint_or_run_dir) {
  const std::string dir = resolve_checkpoint_dir(checkpoint_or_run_dir);
  const auto contents = load_checkpoint(dir, /*with_optimizer=*/false);
  LoadedModel loaded;
  loaded.config = config_from_json(contents.config, dir + "/config.json");
  loaded.checkpoint_dir = dir;
  loaded.model = CocomixModel(loaded.config.model, loaded.config.concepts);
  loaded.model->load_state_dict(contents.model, dir + "/model.safetensors");
  loaded.model->eval();
  return loaded;
}

}  // namespace cocomix
