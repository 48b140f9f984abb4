// frozen_shapes_of: the teacher's config.json and the SAE's sae.json, read for their sizes.
#include "cocomix/concept/plan_shapes.h"

#include <filesystem>

#include "cocomix/concept/labeler_from_config.h"
#include "cocomix/concept/sae.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/model/hugging_face.h"
#include "cocomix/util/json_field.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;

/// The teacher directory's model: a Hugging Face GPT-2 directory, or a cocomix checkpoint or run.
ModelConfig read_teacher(const std::string& path, std::string& file) {
  if (is_hugging_face_directory(path)) {
    file = (fs::path(path) / kHuggingFaceConfigFile).string();
    return model_config_from_hugging_face(read_hugging_face_config(path), file);
  }
  file = (fs::path(resolve_checkpoint_dir(path)) / "config.json").string();
  return config_from_json(read_json_file(file), file).model;
}

}  // namespace

FrozenShapes frozen_shapes_of(const Config& config) {
  const auto& k = config.concepts;
  const bool labels_from_cache = !k.label_cache.empty();
  FrozenShapes shapes;
  if (!k.spec().needs_teacher(labels_from_cache)) return shapes;
  const bool teacher_read = !k.teacher_path.empty() && fs::is_directory(k.teacher_path);
  if (teacher_read) {
    std::string file;
    shapes.teacher = read_teacher(k.teacher_path, file);
    shapes.notes.push_back("teacher: " + file);
  } else {
    shapes.notes.push_back("teacher: GPT-2 small assumed (concept.teacher_path \"" + k.teacher_path +
                           "\" is not a directory here)");
  }
  if (!k.spec().needs_sae(labels_from_cache)) return shapes;
  const std::string sae_file = (fs::path(k.sae_path) / "sae.json").string();
  if (!k.sae_path.empty() && fs::is_regular_file(sae_file)) {
    // sae.json's sizes, read as load_sae reads them, and checked as training checks them.
    const SaeInfo info = read_sae_info(sae_file);
    if (teacher_read) check_sae_pairing(config, info, shapes.teacher, sae_file);
    shapes.sae = {info.d, info.n_latents, info.k, info.layer};
    shapes.notes.push_back("SAE: " + sae_file);
  } else {
    shapes.sae.d = shapes.teacher.n_embd;
    shapes.sae.n_latents = k.n_concepts;
    shapes.sae.k = 32;
    shapes.sae.layer = shapes.teacher.n_layer / 2;
    shapes.notes.push_back("SAE: assumed " + std::to_string(k.n_concepts) + " latents (concept.n_concepts) of width " +
                           std::to_string(shapes.sae.d) + ", k 32, on teacher layer " +
                           std::to_string(shapes.sae.layer) + " (" + sae_file + " is not there)");
  }
  return shapes;
}

}  // namespace cocomix
