// load_teacher: Hugging Face GPT-2 directory or cocomix checkpoint, then frozen;
// teacher_hidden_state: its residual after block L_t.
#include "cocomix/concept/teacher.h"

#include <torch/torch.h>

#include "cocomix/eval/checkpoint_model.h"
#include "cocomix/model/hugging_face.h"
#include "cocomix/train/autocast.h"
#include "cocomix/util/error.h"

namespace cocomix {

GPT load_teacher(const std::string& path) {
  GPT teacher{nullptr};
  if (is_hugging_face_directory(path)) {
    teacher = load_hugging_face_gpt2(path);
  } else {
    auto loaded = load_model_for_eval(path);
    auto* ntp = dynamic_cast<NextTokenObjective*>(loaded.objective.get());
    if (ntp == nullptr)
      throw RuntimeError(loaded.checkpoint_dir + ": not a next-token-prediction checkpoint (a teacher must be a GPT)");
    teacher = ntp->model();
  }
  teacher->eval();
  for (auto& parameter : teacher->parameters()) parameter.requires_grad_(false);
  return teacher;
}

torch::Tensor teacher_hidden_state(GPT& teacher, const torch::Tensor& inputs, int64_t layer, bool bf16) {
  AutocastScope precision(inputs.device().type(), bf16);
  torch::NoGradGuard no_grad;
  return teacher->run_blocks(teacher->embed(inputs), 0, layer);  // [B, T, d_t]
}

}  // namespace cocomix
