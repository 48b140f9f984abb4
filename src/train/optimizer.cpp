// AdamW construction (the fused step of train/fused_adamw.h), learning-rate
// setting and exact state save/restore of LibTorch's torch::optim::AdamW state
// (keyed by the parameter's TensorImpl).
#include "cocomix/train/optimizer.h"

#include <torch/torch.h>

#include <cmath>
#include <set>
#include <tuple>

#include "cocomix/train/fused_adamw.h"
#include "cocomix/util/error.h"
#include "cocomix/util/shape_string.h"

namespace cocomix {

NamedParameters named_parameters_of(const torch::nn::Module& module) {
  NamedParameters named;
  for (const auto& item : module.named_parameters()) named.emplace_back(item.key(), item.value());
  return named;
}
namespace {

const char* const kStateFields[] = {"exp_avg", "exp_avg_sq", "step"};

/// The parameters with duplicates (tied weights) removed, first name kept.
NamedParameters unique_parameters(const NamedParameters& named_parameters) {
  NamedParameters unique;
  std::set<const void*> seen;
  for (const auto& named : named_parameters)
    if (seen.insert(named.second.unsafeGetTensorImpl()).second) unique.push_back(named);
  return unique;
}

/// One parameter's state as read from a TensorMap, checked against the parameter.
struct LoadedState {
  torch::Tensor parameter;
  bool present = false;
  int64_t step = 0;
  torch::Tensor exp_avg, exp_avg_sq;
};

torch::Tensor checked_moment(const TensorMap& state, const std::string& key, const torch::Tensor& parameter,
                             const std::string& source) {
  const auto& moment = state.at(key);
  if (!moment.sizes().equals(parameter.sizes()))
    throw RuntimeError(source + ": tensor " + key + ": shape " + shape_string(moment.sizes()) +
                       " does not match the parameter's " + shape_string(parameter.sizes()));
  if (!torch::isFloatingType(moment.scalar_type()))
    throw RuntimeError(source + ": tensor " + key + ": dtype " + std::string(c10::toString(moment.scalar_type())) +
                       " is not a floating-point type");
  // A copy in the parameter's dtype, device and layout; never an alias of `state`.
  return moment.to(parameter.options(), /*non_blocking=*/false, /*copy=*/true).contiguous();
}

int64_t checked_step(const TensorMap& state, const std::string& key, const std::string& source) {
  const auto& step = state.at(key);
  const auto type = step.scalar_type();
  if (step.numel() != 1 || !(type == torch::kInt64 || type == torch::kFloat64 || type == torch::kFloat32))
    throw RuntimeError(source + ": tensor " + key + ": expected one int64 or float64 value, got dtype " +
                       std::string(c10::toString(type)) + " shape " + shape_string(step.sizes()));
  const double value = step.to(torch::kFloat64).item<double>();
  if (!(value >= 0) || std::floor(value) != value)
    throw RuntimeError(source + ": tensor " + key + ": step must be a non-negative integer, got " +
                       std::to_string(value));
  return type == torch::kInt64 ? step.item<int64_t>() : static_cast<int64_t>(value);
}

}  // namespace

std::unique_ptr<torch::optim::AdamW> make_adamw(const NamedParameters& named_parameters, const OptimConfig& optim) {
  const auto options = torch::optim::AdamWOptions(optim.lr)
                           .betas(std::make_tuple(optim.beta1, optim.beta2))
                           .eps(optim.eps)
                           .weight_decay(optim.weight_decay)
                           .amsgrad(false);
  std::vector<torch::Tensor> decayed, not_decayed;
  for (const auto& [name, parameter] : unique_parameters(named_parameters))
    (optim.decay_all_params || parameter.dim() >= 2 ? decayed : not_decayed).push_back(parameter);

  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!decayed.empty()) groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(options));
  if (!not_decayed.empty()) {
    auto no_decay = options;
    no_decay.weight_decay(0.0);
    groups.emplace_back(not_decayed, std::make_unique<torch::optim::AdamWOptions>(no_decay));
  }
  return std::make_unique<FusedAdamW>(groups, options);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

TensorMap adamw_state(const torch::optim::AdamW& optimizer, const NamedParameters& named_parameters) {
  TensorMap tensors;
  const auto& states = optimizer.state();
  for (const auto& [name, parameter] : unique_parameters(named_parameters)) {
    const auto it = states.find(parameter.unsafeGetTensorImpl());
    if (it == states.end()) continue;
    const auto& state = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    tensors.emplace(name + ".exp_avg", state.exp_avg().detach());
    tensors.emplace(name + ".exp_avg_sq", state.exp_avg_sq().detach());
    tensors.emplace(name + ".step", torch::scalar_tensor(state.step(), torch::kInt64));
  }
  return tensors;
}

void load_adamw_state(torch::optim::AdamW& optimizer, const NamedParameters& named_parameters, const TensorMap& state,
                      const std::string& source) {
  // Check everything first, so a bad file leaves the optimizer as it was.
  std::vector<LoadedState> loaded;
  std::set<std::string> expected_keys;
  for (const auto& [name, parameter] : unique_parameters(named_parameters)) {
    LoadedState entry;
    entry.parameter = parameter;
    int found = 0;
    for (const char* field : kStateFields) {
      const std::string key = name + "." + field;
      expected_keys.insert(key);
      found += static_cast<int>(state.count(key));
    }
    if (found > 0) {
      for (const char* field : kStateFields)
        if (state.count(name + "." + field) == 0)
          throw RuntimeError(source + ": tensor " + name + "." + field + ": missing (the other state of parameter " +
                             name + " is present)");
      entry.present = true;
      entry.exp_avg = checked_moment(state, name + ".exp_avg", parameter, source);
      entry.exp_avg_sq = checked_moment(state, name + ".exp_avg_sq", parameter, source);
      entry.step = checked_step(state, name + ".step", source);
    }
    loaded.push_back(std::move(entry));
  }
  for (const auto& item : state)
    if (expected_keys.count(item.first) == 0)
      throw RuntimeError(source + ": tensor " + item.first +
                         ": unexpected (names no parameter of this model; a checkpoint of another model?)");

  auto& states = optimizer.state();
  for (auto& entry : loaded) {
    void* key = entry.parameter.unsafeGetTensorImpl();
    if (!entry.present) {
      states.erase(key);
      continue;
    }
    auto restored = std::make_unique<torch::optim::AdamWParamState>();
    restored->step(entry.step);
    restored->exp_avg(std::move(entry.exp_avg));
    restored->exp_avg_sq(std::move(entry.exp_avg_sq));
    states[key] = std::move(restored);
  }
}

}  // namespace cocomix
