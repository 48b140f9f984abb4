// Module parameters as named tensors and back. Every weight file (GPT, concept
// head, pause vector, SAE) is read through load_parameter_tensors: strict both
// ways, and every check runs before the first copy, so a bad file leaves the
// module as it was.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>

#include "cocomix/io/safetensors.h"

namespace cocomix {

/// `module`'s parameters, detached (aliasing them), named PREFIX + parameter name.
TensorMap parameter_tensors(const torch::nn::Module& module, const std::string& prefix = "");

/// Copies tensors[name] into every parameter. Throws RuntimeError
/// "SOURCE: tensor PREFIX+NAME: missing" / ": unexpected" / ": shape [a, b] does
/// not match OWNER [c, d]" (owner e.g. "the model's").
void load_parameter_tensors(const torch::OrderedDict<std::string, torch::Tensor>& parameters, const TensorMap& tensors,
                            const std::string& source, const std::string& owner, const std::string& prefix = "");

}  // namespace cocomix
