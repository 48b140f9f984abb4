// load_model: the student its config describes, filled from disk.
#include "cocomix/model/checkpoint_model.h"

#include <torch/torch.h>

#include "cocomix/io/checkpoint.h"
#include "cocomix/util/error.h"

namespace cocomix {

LoadedModel load_model(const std::string& checkpoint_or_run_dir) {
  const std::string dir = resolve_checkpoint_dir(checkpoint_or_run_dir);
  const auto contents = load_checkpoint(dir, /*with_optimizer=*/false);
  LoadedModel loaded;
  try {
    loaded.config = config_from_json(contents.config, dir + "/config.json");
  } catch (const UsageError& e) {
    // A checkpoint's config.json is a file written by training: one that is not a
    // valid config is a damaged checkpoint (exit 1), as a damaged weights file is.
    throw RuntimeError(e.what());
  }
  // A config without concept.pause_position comes from a build whose pause slots had no position.
  const auto concept_section = contents.config.find("concept");
  if (concept_section != contents.config.end() && concept_section->is_object() &&
      !concept_section->contains("pause_position"))
    loaded.config.concepts.pause_position = PausePosition::kNone;
  loaded.checkpoint_dir = dir;
  loaded.model = CocomixModel(loaded.config.model, loaded.config.concepts);
  loaded.model->load_state_dict(contents.model, dir + "/model.safetensors");
  loaded.model->eval();
  return loaded;
}

}  // namespace cocomix
