// The HF-named GPT-2 state dict and its strict loader: round trip, the allowed
// extras (tied lm_head, attention-mask buffers, GPT2Model names), dtype
// conversion, and the exact one-line errors for missing/unexpected/misshaped.
#include "cocomix/model/gpt_weights.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "cocomix/model/gpt.h"
#include "cocomix/util/error.h"
#include "model_config.h"

namespace cocomix {
namespace {

ModelConfig small_config() { return testing::model_config(50, 16, 24, 2, 3); }

// A state dict of a differently seeded model: the values to load.
TensorMap other_weights(uint64_t seed) {
  torch::manual_seed(seed);
  GPT donor(small_config());
  TensorMap state;
  for (const auto& [name, tensor] : gpt_state_dict(*donor)) state.emplace(name, tensor.clone());
  return state;
}

std::string load_error(GPT& model, const TensorMap& tensors) {
  try {
    load_gpt_state_dict(*model, tensors, "w.safetensors");
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

void expect_model_holds(GPT& model, const TensorMap& tensors) {
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), tensors.at(item.key()).to(item.value().dtype()))) << item.key();
  }
}

TEST(GptWeights, StateDictSharesStorageUnderHfNames) {
  GPT model(small_config());
  const auto state = gpt_state_dict(*model);
  EXPECT_EQ(state.size(), 4u + 12u * 2u);
  EXPECT_EQ(state.count("lm_head.weight"), 0u);
  EXPECT_EQ(state.at("transformer.h.1.mlp.c_fc.weight").sizes(), (std::vector<int64_t>{24, 96}));  // [in, out]
  EXPECT_EQ(state.at("transformer.wte.weight").data_ptr(), model->transformer->wte->weight.data_ptr());
  EXPECT_FALSE(state.at("transformer.wte.weight").requires_grad());
}

TEST(GptWeights, LoadsAStateDictExactly) {
  GPT model(small_config());
  const auto weights = other_weights(5);
  load_gpt_state_dict(*model, weights, "w.safetensors");
  expect_model_holds(model, weights);
  EXPECT_TRUE(model->transformer->wte->weight.requires_grad());
}

TEST(GptWeights, AcceptsTiedLmHeadAndAttentionBuffers) {
  GPT model(small_config());
  auto weights = other_weights(6);
  weights["lm_head.weight"] = weights.at("transformer.wte.weight").clone();
  weights["transformer.h.0.attn.bias"] = torch::ones({1, 1, 16, 16}).tril();
  weights["transformer.h.1.attn.masked_bias"] = torch::tensor(-1e4);
  load_gpt_state_dict(*model, weights, "w.safetensors");
  expect_model_holds(model, weights);
}

TEST(GptWeights, AcceptsGpt2ModelNamesWithoutThePrefix) {
  GPT model(small_config());
  const auto weights = other_weights(7);
  TensorMap bare;  // how openai-community/gpt2's model.safetensors names tensors
  for (const auto& [name, tensor] : weights) bare.emplace(name.substr(std::string("transformer.").size()), tensor);
  bare["h.0.attn.bias"] = torch::ones({1, 1, 16, 16});
  load_gpt_state_dict(*model, bare, "w.safetensors");
  expect_model_holds(model, weights);
}

TEST(GptWeights, ConvertsDtypeToTheParameters) {
  GPT model(small_config());
  auto weights = other_weights(8);
  for (auto& entry : weights) entry.second = entry.second.to(torch::kDouble);
  load_gpt_state_dict(*model, weights, "w.safetensors");
  EXPECT_EQ(model->transformer->ln_f->weight.scalar_type(), torch::kFloat);
  expect_model_holds(model, weights);
}

TEST(GptWeights, RejectsAMisshapedTensor) {
  GPT model(small_config());
  auto weights = other_weights(9);
  weights["transformer.h.1.attn.c_attn.weight"] = torch::zeros({72, 24});  // HF layout is [in, out] = [24, 72]
  EXPECT_EQ(load_error(model, weights),
            "w.safetensors: tensor transformer.h.1.attn.c_attn.weight: shape [72, 24] does not match the model's "
            "[24, 72]");
}

TEST(GptWeights, RejectsAMissingTensor) {
  GPT model(small_config());
  auto weights = other_weights(10);
  weights.erase("transformer.h.0.ln_2.bias");
  EXPECT_EQ(load_error(model, weights), "w.safetensors: tensor transformer.h.0.ln_2.bias: missing");
}

TEST(GptWeights, RejectsAnUnexpectedTensor) {
  GPT model(small_config());
  auto weights = other_weights(11);
  weights["transformer.h.2.ln_1.weight"] = torch::ones({24});  // a third block the model does not have
  EXPECT_EQ(load_error(model, weights), "w.safetensors: tensor transformer.h.2.ln_1.weight: unexpected");
}

TEST(GptWeights, RejectsAnUntiedLmHead) {
  GPT model(small_config());
  auto weights = other_weights(12);
  weights["lm_head.weight"] = torch::zeros({50, 24});
  EXPECT_EQ(load_error(model, weights),
            "w.safetensors: tensor lm_head.weight: differs from transformer.wte.weight (the LM head is tied)");
  weights["lm_head.weight"] = torch::zeros({50, 25});
  EXPECT_EQ(load_error(model, weights),
            "w.safetensors: tensor lm_head.weight: shape [50, 25] does not match the model's [50, 24]");
}

TEST(GptWeights, CopiesNothingWhenTheFileDoesNotFit) {
  GPT model(small_config());
  TensorMap before;
  for (const auto& [name, tensor] : gpt_state_dict(*model)) before.emplace(name, tensor.clone());
  auto weights = other_weights(13);
  weights["transformer.zzz"] = torch::zeros({1});  // sorted last: found after every parameter was checked
  EXPECT_EQ(load_error(model, weights), "w.safetensors: tensor transformer.zzz: unexpected");
  expect_model_holds(model, before);
}

}  // namespace
}  // namespace cocomix
