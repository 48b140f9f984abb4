// load_teacher: Hugging Face GPT-2 directory or cocomix checkpoint, then frozen;
// teacher_hidden_state: its residual after block L_t.
#include "cocomix/concept/teacher.h"

#include <torch/torch.h>

#include <filesystem>

#include "cocomix/io/checkpoint.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/model/hugging_face.h"
#include "cocomix/util/error.h"

namespace cocomix {

GPT load_teacher(const std::string& path) {
  GPT teacher{nullptr};
  if (is_hugging_face_directory(path)) {
    teacher = load_hugging_face_gpt2(path);
  } else {
    auto loaded = load_model(path);
    if (!loaded.model->spec().plain_gpt())
      throw RuntimeError(loaded.checkpoint_dir + ": a \"" + loaded.model->spec().name +
                         "\" checkpoint, not a plain GPT (a teacher must be one: ntp or kd)");
    teacher = loaded.model->gpt();
  }
  teacher->eval();
  for (auto& parameter : teacher->parameters()) parameter.requires_grad_(false);
  return teacher;
}

std::string teacher_weights_file(const std::string& teacher_dir) {
  namespace fs = std::filesystem;
  const auto direct = fs::path(teacher_dir) / "model.safetensors";
  if (fs::is_regular_file(direct)) return direct.string();
  return (fs::path(resolve_checkpoint_dir(teacher_dir)) / "model.safetensors").string();
}

torch::Tensor teacher_hidden_state(GPT& teacher, const torch::Tensor& inputs, int64_t layer,
                                   TeacherPrecision precision) {
  TeacherPrecisionScope scope(inputs.device().type(), precision);
  torch::NoGradGuard no_grad;
  return teacher->run_blocks(teacher->embed(inputs), 0, layer);  // [B, T, d_t]
}

}  // namespace cocomix
