// Loading the frozen teacher of CoCoMix and KD: a GPT-2 from a Hugging Face
// directory (config.json + model.safetensors, names map one to one) or from a
// cocomix NTP checkpoint or run directory. Parameters never require grad, the
// model stays in eval mode (no dropout).
#pragma once

#include <string>

#include "cocomix/model/gpt.h"

namespace cocomix {

/// Throws RuntimeError naming the file and field when the directory holds
/// neither layout, a config field is missing or wrong, or the weights do not fit.
GPT load_teacher(const std::string& path);

}  // namespace cocomix
