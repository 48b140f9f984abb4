// Parameter and FLOP counts against values worked out by hand for GPT-2 small,
// and against the parameters the GPT module actually allocates.
#include "cocomix/model/flops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cocomix/model/gpt.h"
#include "model_config.h"

namespace cocomix {
namespace {

TEST(Flops, Gpt2SmallParameterCount) {
  const ModelConfig small;  // defaults: V 50257, 1024 positions, d 768, 12 layers
  // wte 50257*768 = 38,597,376; wpe 1024*768 = 786,432;
  // 12 blocks * (12*768^2 + 13*768 = 7,087,872) = 85,054,464; ln_f 1,536.
  EXPECT_EQ(gpt_parameter_count(small, true), 124'439'808);
  EXPECT_EQ(gpt_parameter_count(small, false), 85'056'000);
}

TEST(Flops, Gpt2SmallTrainingFlopsPerToken) {
  const ModelConfig small;
  // 6 * 124,439,808 = 746,638,848; 12 * 12 * 768 * 1024 = 113,246,208.
  EXPECT_DOUBLE_EQ(gpt_training_flops_per_token(small, 1024), 859'885'056.0);
  // 12 * 12 * 768 * 256 = 28,311,552.
  EXPECT_DOUBLE_EQ(gpt_training_flops_per_token(small, 256), 746'638'848.0 + 28'311'552.0);
}

TEST(Flops, CountMatchesTheModulesParameters) {
  const auto config = testing::model_config(97, 40, 32, 3, 4);
  GPT model(config);
  int64_t total = 0;
  for (const auto& p : model->parameters()) total += p.numel();
  EXPECT_EQ(gpt_parameter_count(config, true), total);
  const int64_t embeddings = model->transformer->wte->weight.numel() + model->transformer->wpe->weight.numel();
  EXPECT_EQ(gpt_parameter_count(config, false), total - embeddings);
}

}  // namespace
}  // namespace cocomix
