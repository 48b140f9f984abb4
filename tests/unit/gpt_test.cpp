// GPT against Hugging Face GPT2LMHeadModel (tests/reference/make_gpt2_parity.py):
// logits, loss, hidden states, every gradient and 10 AdamW losses in fp32; plus
// the block seam, sequences longer than n_positions, init, dropout and bf16 autocast.
#include "cocomix/model/gpt.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/util/error.h"
#include "model_config.h"

namespace cocomix {
namespace {

// fp32 parity: max |ours - ref| / (1 + |ref|) over every element.
constexpr double kTolerance = 1e-5;
// The 10 AdamW losses, absolute: Adam moves a weight by ~lr whatever the size
// of its gradient, so rounding differences compound over the steps (measured
// 7e-7 while the loss falls by 2.7 nats).
constexpr double kLossTolerance = 1e-5;

struct Parity {
  Config config;
  TensorMap weights;    // the HF state dict (lm_head.weight included)
  TensorMap reference;  // inputs, targets, logits, loss, hidden_2, grad.*, losses
  std::string weights_path;
};

const Parity& parity() {
  static const Parity loaded = [] {
    const char* dir = std::getenv("COCOMIX_REFERENCE_DIR");
    if (dir == nullptr) throw RuntimeError("COCOMIX_REFERENCE_DIR is not set (run through ctest)");
    const std::string base = std::string(dir) + "/gpt2_parity/";
    Parity p;
    p.config = load_config(base + "config.json");
    p.weights_path = base + "model.safetensors";
    p.weights = load_safetensors(p.weights_path);
    p.reference = load_safetensors(base + "reference.safetensors");
    return p;
  }();
  return loaded;
}

const torch::Tensor& expected(const std::string& name) { return parity().reference.at(name); }

GPT reference_model() {
  GPT model(parity().config.model);
  load_gpt_state_dict(*model, parity().weights, parity().weights_path);
  return model;
}

double max_relative_diff(const torch::Tensor& ours, const torch::Tensor& reference) {
  EXPECT_EQ(ours.sizes(), reference.sizes());
  const auto a = ours.detach().to(torch::kDouble), b = reference.to(torch::kDouble);
  return ((a - b).abs() / (1 + b.abs())).max().item<double>();
}

torch::Tensor mean_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat),
                                              targets.reshape({-1}));
}

TEST(Gpt, ParameterNamesAreTheHfStateDictKeys) {
  GPT model(parity().config.model);
  std::set<std::string> ours;
  for (const auto& item : model->named_parameters()) {
    ours.insert(item.key());
    ASSERT_TRUE(parity().weights.count(item.key())) << item.key();
    EXPECT_EQ(item.value().sizes(), parity().weights.at(item.key()).sizes()) << item.key();
  }
  std::set<std::string> hf;
  for (const auto& entry : parity().weights) {
    if (entry.first != "lm_head.weight") hf.insert(entry.first);
  }
  EXPECT_EQ(ours, hf);
  EXPECT_EQ(ours.size(), 4u + 12u * 3u);  // wte, wpe, ln_f x2, 12 per block
  EXPECT_EQ(model->named_parameters().keys().front(), "transformer.wte.weight");
}

TEST(Gpt, LogitsLossAndHiddenStatesMatchHuggingFace) {
  auto model = reference_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto logits = model->forward(expected("inputs"));  // [B, T, V]
  const double logits_diff = max_relative_diff(logits, expected("logits"));
  const double loss_diff =
      max_relative_diff(mean_cross_entropy(logits, expected("targets")).reshape({1}), expected("loss"));
  const double hidden_diff = max_relative_diff(model->hidden_after(expected("inputs"), 2), expected("hidden_2"));
  RecordProperty("logits_max_rel_diff", std::to_string(logits_diff));
  std::printf("logits %.3g, loss %.3g, hidden_2 %.3g\n", logits_diff, loss_diff, hidden_diff);
  EXPECT_LE(logits_diff, kTolerance);
  EXPECT_LE(loss_diff, kTolerance);
  EXPECT_LE(hidden_diff, kTolerance);
}

TEST(Gpt, EveryGradientMatchesHuggingFace) {
  auto model = reference_model();
  model->train();  // dropout is 0: the same function, with training-mode kernels
  mean_cross_entropy(model->forward(expected("inputs")), expected("targets")).backward();
  double worst = 0;
  std::string worst_name;
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    const double diff = max_relative_diff(item.value().grad(), expected("grad." + item.key()));
    EXPECT_LE(diff, kTolerance) << item.key();
    if (diff >= worst) worst = diff, worst_name = item.key();
  }
  std::printf("worst gradient %s: %.3g\n", worst_name.c_str(), worst);
}

TEST(Gpt, TenAdamWStepsMatchHuggingFaceLosses) {
  auto model = reference_model();
  model->train();
  const auto& o = parity().config.optim;
  torch::optim::AdamW optimizer(
      model->parameters(),
      torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  const auto& losses = expected("losses");  // [10]
  double worst = 0;
  for (int64_t step = 0; step < losses.size(0); ++step) {
    optimizer.zero_grad();
    const auto loss = mean_cross_entropy(model->forward(expected("inputs")), expected("targets"));
    loss.backward();
    optimizer.step();
    const double diff = std::abs(loss.item<double>() - losses[step].item<double>());
    EXPECT_LE(diff, kLossTolerance) << "step " << step;
    worst = std::max(worst, diff);
  }
  std::printf("worst loss diff over %lld steps: %.3g\n", static_cast<long long>(losses.size(0)), worst);
}

TEST(Gpt, SplitBlocksEqualTheFullForward) {
  auto model = reference_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto& x = expected("inputs");
  const auto full = model->forward(x);
  const int64_t L = model->config().n_layer;
  for (int64_t k = 0; k <= L; ++k) {
    const auto h = model->run_blocks(model->embed(x), 0, k);  // [B, T, d]
    EXPECT_TRUE(torch::equal(h, model->hidden_after(x, k))) << "k = " << k;
    EXPECT_TRUE(torch::equal(model->head(model->run_blocks(h, k, L)), full)) << "k = " << k;
  }
  EXPECT_THROW(model->run_blocks(model->embed(x), 2, 1), UsageError);
  EXPECT_THROW(model->run_blocks(model->embed(x), 0, L + 1), UsageError);
  EXPECT_THROW(model->hidden_after(x, L + 1), UsageError);
}

TEST(Gpt, BlocksRunOnSequencesLongerThanThePositionTable) {
  auto model = reference_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto& m = model->config();
  const int64_t S = 2 * m.n_positions;  // e.g. T tokens interleaved with T concepts
  torch::manual_seed(3);
  auto h = torch::randn({2, S, m.n_embd});  // [B, 2 n_positions, d]
  const auto out = model->run_blocks(h, 0, m.n_layer);
  ASSERT_EQ(out.sizes(), h.sizes());
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  // Causal: changing the last position leaves every earlier output unchanged.
  h.index_put_({torch::indexing::Slice(), S - 1}, 0.0);
  const auto again = model->run_blocks(h, 0, m.n_layer);
  const auto prefix = torch::indexing::Slice(0, S - 1);
  EXPECT_LE((again.index({torch::indexing::Slice(), prefix}) - out.index({torch::indexing::Slice(), prefix}))
                .abs()
                .max()
                .item<double>(),
            1e-5);
  EXPECT_GT((again.select(1, S - 1) - out.select(1, S - 1)).abs().max().item<double>(), 1e-3);
}

TEST(Gpt, EmbedRejectsSequencesLongerThanThePositionTable) {
  GPT model(parity().config.model);
  const auto too_long = torch::zeros({1, 33}, torch::kLong);
  try {
    model->embed(too_long);
    FAIL() << "expected a RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "GPT.embed: sequence length T = 33 exceeds model.n_positions = 32");
  }
  EXPECT_EQ(model->embed(torch::zeros({1, 32}, torch::kLong)).sizes(), (std::vector<int64_t>{1, 32, 48}));
}

TEST(Gpt, Bf16AutocastIsCloseToFp32) {
  auto model = reference_model();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto fp32 = model->forward(expected("inputs"));
  torch::Tensor bf16;
  {
    AutocastScope autocast(torch::kCPU, /*enabled=*/true);  // bf16
    bf16 = model->forward(expected("inputs"));
  }
  EXPECT_EQ(bf16.scalar_type(), torch::kBFloat16);
  // bf16 keeps 8 mantissa bits (relative step 2^-8 = 0.004) through 3 blocks.
  const double logits_diff = (bf16.to(torch::kFloat) - fp32).abs().max().item<double>();
  const double loss_diff = std::abs(mean_cross_entropy(bf16, expected("targets")).item<double>() -
                                    mean_cross_entropy(fp32, expected("targets")).item<double>());
  std::printf("bf16 vs fp32: logits max abs %.3g (logit scale %.3g), loss %.3g\n", logits_diff,
              fp32.abs().max().item<double>(), loss_diff);
  EXPECT_LE(logits_diff, 0.1);
  EXPECT_LE(loss_diff, 2e-3);
}

TEST(Gpt, BackwardRunsUnderBf16Autocast) {
  auto model = reference_model();
  model->train();
  {
    AutocastScope autocast(torch::kCPU, /*enabled=*/true);  // bf16
    mean_cross_entropy(model->forward(expected("inputs")), expected("targets")).backward();
  }
  const auto& grad = model->transformer->wte->weight.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_EQ(grad.scalar_type(), torch::kFloat);  // fp32 master weights get fp32 gradients
  EXPECT_LE(max_relative_diff(grad, expected("grad.transformer.wte.weight")), 0.02);
}

TEST(Gpt, InitFollowsGpt2AndIsReproducible) {
  const auto config = testing::model_config(1000, 64, 256, 8, 4);
  torch::manual_seed(11);
  GPT a(config);
  torch::manual_seed(11);
  GPT b(config);
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();

  const auto std_of = [&](const std::string& name) { return pa[name].std().item<double>(); };
  const double residual = 0.02 / std::sqrt(2.0 * 8);
  EXPECT_NEAR(std_of("transformer.wte.weight"), 0.02, 0.02 * 0.02);
  EXPECT_NEAR(std_of("transformer.wpe.weight"), 0.02, 0.02 * 0.03);
  EXPECT_NEAR(std_of("transformer.h.3.attn.c_attn.weight"), 0.02, 0.02 * 0.02);
  EXPECT_NEAR(std_of("transformer.h.3.mlp.c_fc.weight"), 0.02, 0.02 * 0.02);
  EXPECT_NEAR(std_of("transformer.h.3.attn.c_proj.weight"), residual, residual * 0.02);
  EXPECT_NEAR(std_of("transformer.h.3.mlp.c_proj.weight"), residual, residual * 0.02);
  EXPECT_EQ(pa["transformer.h.3.attn.c_attn.weight"].sizes(), (std::vector<int64_t>{256, 768}));  // [in, out]
  EXPECT_TRUE(torch::all(pa["transformer.h.0.mlp.c_fc.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(pa["transformer.h.7.ln_2.weight"] == 1).item<bool>());
  EXPECT_TRUE(torch::all(pa["transformer.ln_f.bias"] == 0).item<bool>());
}

TEST(Gpt, DropoutActsOnlyInTrainingMode) {
  ModelConfig config = parity().config.model;
  config.dropout = 0.5;
  GPT model(config);
  load_gpt_state_dict(*model, parity().weights, parity().weights_path);
  torch::NoGradGuard no_grad;
  const auto& x = expected("inputs");
  model->eval();
  EXPECT_LE(max_relative_diff(model->forward(x), expected("logits")), kTolerance);
  model->train();
  EXPECT_FALSE(torch::allclose(model->forward(x), model->forward(x)));
}

}  // namespace
}  // namespace cocomix
