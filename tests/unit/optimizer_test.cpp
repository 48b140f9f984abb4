// AdamW: parameter groups, losses/parameters/state against torch.optim.AdamW
// (foreach=False) under the transformers schedule, bitwise-identical
// continuation after a state save/load, and errors for bad state files.
#include "cocomix/train/optimizer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>

#include "cocomix/io/safetensors.h"
#include "cocomix/train/lr_schedule.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

const char* const kParameterNames[] = {"fc1.weight", "fc1.bias", "ln.weight", "ln.bias", "fc2.weight", "fc2.bias"};

/// optimizer_reference.safetensors and the OptimConfig it was made with.
struct Reference {
  TensorMap tensors;
  OptimConfig optim;
  int64_t max_steps = 0;
};

const Reference& reference() {
  static const Reference loaded = [] {
    const char* dir = std::getenv("COCOMIX_REFERENCE_DIR");
    if (dir == nullptr) throw std::runtime_error("COCOMIX_REFERENCE_DIR is not set (run through ctest)");
    Reference r;
    StringMap metadata;
    r.tensors = load_safetensors(std::string(dir) + "/optimizer_reference.safetensors", &metadata);
    const auto o = nlohmann::json::parse(metadata.at("optim"));
    r.optim.lr = o["lr"];
    r.optim.min_lr = o["min_lr"];
    r.optim.warmup_steps = o["warmup_steps"];
    r.optim.beta1 = o["beta1"];
    r.optim.beta2 = o["beta2"];
    r.optim.eps = o["eps"];
    r.optim.weight_decay = o["weight_decay"];
    r.max_steps = o["max_steps"];
    return r;
  }();
  return loaded;
}

/// The reference script's TinyMlp, fc2(tanh(ln(fc1(x)))), over named leaf tensors.
struct TinyMlp {
  NamedParameters parameters;

  /// Fresh leaves holding copies of `values` (NAME -> tensor, or PREFIX + NAME).
  TinyMlp(const TensorMap& values, const std::string& prefix) {
    for (const char* name : kParameterNames)
      parameters.emplace_back(name, values.at(prefix + name).clone().set_requires_grad(true));
  }
  /// Copies of another model's current values.
  TinyMlp copy() const {
    TensorMap values;
    for (const auto& [name, p] : parameters) values.emplace(name, p.detach());
    return TinyMlp(values, "");
  }
  const torch::Tensor& at(size_t i) const { return parameters[i].second; }

  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y) const {
    auto h = torch::linear(x, at(0), at(1));                       // [16, 8]
    h = torch::layer_norm(h, {8}, at(2), at(3), 1e-5);             // [16, 8]
    const auto out = torch::linear(torch::tanh(h), at(4), at(5));  // [16, 3]
    return torch::mse_loss(out, y);
  }
};

OptimConfig config(bool decay_all_params) {
  auto optim = reference().optim;
  optim.decay_all_params = decay_all_params;
  return optim;
}

/// One optimizer step at the scheduled rate; returns the loss before it.
double train_step(TinyMlp& model, torch::optim::AdamW& optimizer, const OptimConfig& optim, int64_t step) {
  const auto& r = reference();
  set_learning_rate(optimizer, learning_rate(optim, step, r.max_steps));
  optimizer.zero_grad();
  auto loss = model.loss(r.tensors.at("x"), r.tensors.at("y"));
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

class AdamWModes : public ::testing::TestWithParam<bool> {
 protected:
  bool decay_all() const { return GetParam(); }
  std::string prefix() const { return decay_all() ? "decay_all." : "matrices_only."; }
};

TEST_P(AdamWModes, MatchesTorchAdamW) {
  const auto& r = reference();
  const auto optim = config(decay_all());
  TinyMlp model(r.tensors, "init.");
  auto optimizer = make_adamw(model.parameters, optim);
  const auto losses = r.tensors.at(prefix() + "losses");
  const auto lrs = r.tensors.at(prefix() + "lrs");
  ASSERT_EQ(losses.size(0), r.max_steps);
  for (int64_t step = 0; step < r.max_steps; ++step) {
    EXPECT_NEAR(learning_rate(optim, step, r.max_steps), lrs[step].item<double>(), 1e-15) << "step " << step;
    const double loss = train_step(model, *optimizer, optim, step);
    EXPECT_NEAR(loss, losses[step].item<double>(), 1e-5 * std::abs(losses[step].item<double>())) << "step " << step;
  }
  // The losses must actually move, or the comparison above proves little.
  EXPECT_LT(losses[r.max_steps - 1].item<double>(), 0.9 * losses[0].item<double>());

  const auto state = adamw_state(*optimizer, model.parameters);
  EXPECT_EQ(state.size(), 3 * model.parameters.size());
  for (const auto& [name, p] : model.parameters) {
    const auto& expected = r.tensors.at(prefix() + "final." + name);
    EXPECT_TRUE(torch::allclose(p.detach(), expected, 1e-5, 1e-6))
        << name << " max diff " << (p.detach() - expected).abs().max().item<double>();
    const std::string s = prefix() + "state." + name;
    EXPECT_TRUE(torch::allclose(state.at(name + ".exp_avg"), r.tensors.at(s + ".exp_avg"), 1e-5, 1e-7)) << name;
    EXPECT_TRUE(torch::allclose(state.at(name + ".exp_avg_sq"), r.tensors.at(s + ".exp_avg_sq"), 1e-5, 1e-10)) << name;
    EXPECT_EQ(state.at(name + ".step").dim(), 0);
    EXPECT_EQ(state.at(name + ".step").item<int64_t>(), r.tensors.at(s + ".step").item<double>());
  }
}

TEST_P(AdamWModes, ContinuesBitwiseAfterStateReload) {
  const auto& r = reference();
  const auto optim = config(decay_all());

  TinyMlp straight(r.tensors, "init.");
  auto straight_optimizer = make_adamw(straight.parameters, optim);
  std::vector<double> straight_losses;
  for (int64_t step = 0; step < 6; ++step)
    straight_losses.push_back(train_step(straight, *straight_optimizer, optim, step));

  TinyMlp first(r.tensors, "init.");
  auto first_optimizer = make_adamw(first.parameters, optim);
  for (int64_t step = 0; step < 3; ++step) train_step(first, *first_optimizer, optim, step);
  const auto path = (std::filesystem::temp_directory_path() /
                     ("cocomix_optimizer_test_" + std::to_string(::getpid()) + ".safetensors"))
                        .string();
  save_safetensors(path, adamw_state(*first_optimizer, first.parameters));
  const auto saved = load_safetensors(path);
  std::filesystem::remove(path);

  TinyMlp resumed = first.copy();
  auto resumed_optimizer = make_adamw(resumed.parameters, optim);
  load_adamw_state(*resumed_optimizer, resumed.parameters, saved, path);
  for (int64_t step = 3; step < 6; ++step)
    EXPECT_EQ(train_step(resumed, *resumed_optimizer, optim, step), straight_losses[step]) << "step " << step;

  const auto straight_state = adamw_state(*straight_optimizer, straight.parameters);
  const auto resumed_state = adamw_state(*resumed_optimizer, resumed.parameters);
  ASSERT_EQ(straight_state.size(), resumed_state.size());
  for (size_t i = 0; i < straight.parameters.size(); ++i)
    EXPECT_TRUE(torch::equal(straight.at(i), resumed.at(i))) << straight.parameters[i].first;
  for (const auto& [key, tensor] : straight_state) EXPECT_TRUE(torch::equal(tensor, resumed_state.at(key))) << key;
}

INSTANTIATE_TEST_SUITE_P(Optimizer, AdamWModes, ::testing::Bool(),
                         [](const auto& param_info) { return param_info.param ? "DecayAll" : "MatricesOnly"; });

double group_weight_decay(const torch::optim::AdamW& optimizer, size_t group) {
  return static_cast<const torch::optim::AdamWOptions&>(optimizer.param_groups().at(group).options()).weight_decay();
}

TEST(Optimizer, GroupsByDimension) {
  TinyMlp model(reference().tensors, "init.");
  auto optim = config(false);
  optim.weight_decay = 0.01;  // LibTorch's own default: must still not leak into the no-decay group
  auto optimizer = make_adamw(model.parameters, optim);
  ASSERT_EQ(optimizer->param_groups().size(), 2u);
  EXPECT_EQ(optimizer->param_groups()[0].params().size(), 2u);  // fc1.weight, fc2.weight
  EXPECT_EQ(optimizer->param_groups()[1].params().size(), 4u);  // biases, LayerNorm
  EXPECT_TRUE(optimizer->param_groups()[0].params()[1].is_same(model.at(4)));
  EXPECT_DOUBLE_EQ(group_weight_decay(*optimizer, 0), 0.01);
  EXPECT_DOUBLE_EQ(group_weight_decay(*optimizer, 1), 0.0);
  const auto& options = static_cast<const torch::optim::AdamWOptions&>(optimizer->param_groups()[1].options());
  EXPECT_DOUBLE_EQ(std::get<1>(options.betas()), reference().optim.beta2);
  EXPECT_DOUBLE_EQ(options.eps(), reference().optim.eps);

  auto all = make_adamw(model.parameters, config(true));
  ASSERT_EQ(all->param_groups().size(), 1u);
  EXPECT_EQ(all->param_groups()[0].params().size(), 6u);
  EXPECT_DOUBLE_EQ(group_weight_decay(*all, 0), reference().optim.weight_decay);

  set_learning_rate(*optimizer, 0.125);
  for (const auto& group : optimizer->param_groups()) EXPECT_DOUBLE_EQ(group.options().get_lr(), 0.125);
}

TEST(Optimizer, TiedWeightIsOptimizedOnce) {
  TinyMlp model(reference().tensors, "init.");
  auto named = model.parameters;
  named.emplace_back("tied.weight", model.at(0));
  auto optimizer = make_adamw(named, config(true));
  EXPECT_EQ(optimizer->param_groups()[0].params().size(), 6u);
  train_step(model, *optimizer, config(true), 5);
  const auto state = adamw_state(*optimizer, named);
  EXPECT_EQ(state.size(), 18u);
  EXPECT_EQ(state.count("tied.weight.step"), 0u);
}

/// The reference AdamW state after max_steps, named as adamw_state names it
/// (step stored as float64, as PyTorch keeps it).
TensorMap reference_state() {
  TensorMap state;
  const std::string prefix = "decay_all.state.";
  for (const auto& [key, tensor] : reference().tensors)
    if (key.compare(0, prefix.size(), prefix) == 0) state.emplace(key.substr(prefix.size()), tensor);
  return state;
}

std::string load_error(TensorMap state, torch::optim::AdamW& optimizer, const NamedParameters& named) {
  try {
    load_adamw_state(optimizer, named, state, "opt.safetensors");
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST(Optimizer, LoadsPyTorchStateAndParameterWithoutState) {
  TinyMlp model(reference().tensors, "init.");
  auto optimizer = make_adamw(model.parameters, config(true));
  auto state = reference_state();
  for (const char* field : {".exp_avg", ".exp_avg_sq", ".step"}) state.erase(std::string("fc2.bias") + field);
  load_adamw_state(*optimizer, model.parameters, state, "opt.safetensors");
  const auto restored = adamw_state(*optimizer, model.parameters);
  EXPECT_EQ(restored.size(), 15u);
  EXPECT_EQ(restored.count("fc2.bias.exp_avg"), 0u);
  EXPECT_EQ(restored.at("fc1.weight.step").scalar_type(), torch::kInt64);
  EXPECT_EQ(restored.at("fc1.weight.step").item<int64_t>(), reference().max_steps);
  EXPECT_TRUE(torch::equal(restored.at("ln.weight.exp_avg_sq"), state.at("ln.weight.exp_avg_sq")));
}

TEST(Optimizer, RejectsBadStateAndLeavesOptimizerUntouched) {
  TinyMlp model(reference().tensors, "init.");
  auto optimizer = make_adamw(model.parameters, config(true));

  auto missing = reference_state();
  missing.erase("fc1.bias.exp_avg_sq");
  EXPECT_EQ(load_error(missing, *optimizer, model.parameters),
            "opt.safetensors: tensor fc1.bias.exp_avg_sq: missing (the other state of parameter fc1.bias is present)");

  auto misshaped = reference_state();
  misshaped["fc2.weight.exp_avg"] = torch::zeros({8, 3});
  EXPECT_EQ(load_error(misshaped, *optimizer, model.parameters),
            "opt.safetensors: tensor fc2.weight.exp_avg: shape [8, 3] does not match the parameter's [3, 8]");

  auto bad_step = reference_state();
  bad_step["ln.bias.step"] = torch::tensor({1.0, 2.0}, torch::kFloat64);
  EXPECT_EQ(load_error(bad_step, *optimizer, model.parameters),
            "opt.safetensors: tensor ln.bias.step: expected one int64 or float64 value, got dtype Double shape [2]");

  auto unexpected = reference_state();
  unexpected["h.0.attn.weight.exp_avg"] = torch::zeros({2});
  EXPECT_EQ(load_error(unexpected, *optimizer, model.parameters),
            "opt.safetensors: tensor h.0.attn.weight.exp_avg: unexpected (names no parameter of this model; a "
            "checkpoint of another model?)");

  EXPECT_TRUE(optimizer->state().empty());
}

}  // namespace
}  // namespace cocomix
