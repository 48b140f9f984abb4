// Loading the frozen teacher of CoCoMix and KD: a GPT-2 from a Hugging Face
// directory (config.json + model.safetensors, names map one to one) or from a
// cocomix NTP checkpoint or run directory. Parameters never require grad, the
// model stays in eval mode (no dropout). Also the one capture of its residual
// stream after block L_t (the concept labels' h and hidden_prediction's target).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "cocomix/model/autocast.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// Throws RuntimeError naming the file and field when the directory holds
/// neither layout, a config field is missing or wrong, or the weights do not fit.
GPT load_teacher(const std::string& path);

/// The safetensors file of a teacher directory: DIR/model.safetensors for a
/// Hugging Face directory or a checkpoint step directory, else the newest
/// complete checkpoint's under DIR/checkpoints (a run directory). Throws
/// RuntimeError naming DIR when there is none. Its hash identifies the teacher.
std::string teacher_weights_file(const std::string& teacher_dir);

/// The residual stream after block `layer` (1 = after the first block), i.e. HF's
/// hidden_states[layer] for layer < n_layer (HF applies ln_f to the last entry;
/// this never does): inputs [B, T] int64 -> [B, T, d_t], computed without
/// autograd, at `precision` whatever the caller's autocast and TF32 settings.
/// Only blocks [0, layer) run.
torch::Tensor teacher_hidden_state(GPT& teacher, const torch::Tensor& inputs, int64_t layer,
                                   TeacherPrecision precision);

}  // namespace cocomix
