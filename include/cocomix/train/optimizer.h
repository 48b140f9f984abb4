// AdamW for the student: parameter groups (weight decay on every parameter, or
// on matrices only), setting the scheduled learning rate, and the optimizer
// state as named tensors so a checkpoint restores it exactly.
// State layout in a TensorMap (optimizer.safetensors): for each parameter NAME
// that has state, NAME.exp_avg and NAME.exp_avg_sq (shape and dtype of the
// parameter) and NAME.step (0-dim int64: optimizer steps this parameter took).
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/config/config.h"
#include "cocomix/io/safetensors.h"

namespace torch::optim {
class Optimizer;
class AdamW;
}  // namespace torch::optim

namespace cocomix {

/// Parameters by name, in model order (what Module::named_parameters() yields).
using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

/// module.named_parameters() as NamedParameters (names and order kept).
NamedParameters named_parameters_of(const torch::nn::Module& module);

/// AdamW (a FusedAdamW) over `named_parameters` with optim's lr, betas, eps and weight decay.
/// decay_all_params: one group. Otherwise group 0 holds the parameters with
/// dim >= 2 (weight_decay = optim.weight_decay) and group 1 the rest (biases,
/// LayerNorm; weight_decay = 0); an empty group is left out. A tensor listed
/// twice (tied weights) is optimized once, under its first name.
/// The trainer sets the scheduled rate with set_learning_rate before each step.
std::unique_ptr<torch::optim::AdamW> make_adamw(const NamedParameters& named_parameters, const OptimConfig& optim);

/// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// The state of every parameter that has some (took at least one step), named as
/// in the header comment. exp_avg / exp_avg_sq alias the live state: save them
/// before the next step.
TensorMap adamw_state(const torch::optim::AdamW& optimizer, const NamedParameters& named_parameters);

/// Restores state written by adamw_state so the next step is bitwise identical
/// to an uninterrupted run. A parameter with none of its three entries gets no
/// state (it had taken no step). Throws RuntimeError "SOURCE: tensor ENTRY: ..."
/// when an entry is missing, misshaped, of a wrong dtype, or names no parameter;
/// the optimizer is left untouched then.
void load_adamw_state(torch::optim::AdamW& optimizer, const NamedParameters& named_parameters, const TensorMap& state,
                      const std::string& source);

}  // namespace cocomix
