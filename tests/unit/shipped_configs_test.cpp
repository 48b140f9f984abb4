// The configs/ directory: every file loads and validates, and the paper's
// configs carry the method spec's numbers (§5): widths, depths, heads, L_s,
// learning rates, tokens per step and the concept settings.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cocomix/config/config.h"
#include "test_env.h"

namespace cocomix {
namespace {

std::string config_path(const std::string& name) { return test_env_dir("COCOMIX_SOURCE_DIR") + "/configs/" + name; }

TEST(ShippedConfigs, EveryFileLoads) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test_env_dir("COCOMIX_SOURCE_DIR") + "/configs")) {
    EXPECT_NO_THROW(load_config(entry.path().string())) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 14);
}

struct PaperSize {
  const char* name;
  int64_t d, layers, heads, ntp_d, insert_layer;
  double lr, min_lr;
  int64_t tokens_per_step;
};

class PaperConfigs : public ::testing::TestWithParam<PaperSize> {};

TEST_P(PaperConfigs, FollowTheMethodSpec) {
  const auto& size = GetParam();
  const Config cocomix = load_config(config_path(std::string("cocomix_") + size.name + ".json"));
  EXPECT_EQ(cocomix.model.n_embd, size.d);
  EXPECT_EQ(cocomix.model.n_layer, size.layers);
  EXPECT_EQ(cocomix.model.n_head, size.heads);
  EXPECT_EQ(cocomix.concepts.mode, Mode::kCocomix);
  EXPECT_EQ(cocomix.concepts.insert_layer, size.insert_layer);
  EXPECT_EQ(cocomix.concepts.n_concepts, 32768);
  EXPECT_EQ(cocomix.concepts.k_pred, 32);
  EXPECT_EQ(cocomix.concepts.k_attr, 4);
  EXPECT_DOUBLE_EQ(cocomix.concepts.weight, 0.1);
  EXPECT_EQ(cocomix.concepts.selection, LabelSelection::kAttribution);
  for (const char* baseline : {"ntp_", "kd_", "pause_"}) {
    const Config config = load_config(config_path(std::string(baseline) + size.name + ".json"));
    EXPECT_EQ(config.model.n_embd, size.ntp_d) << baseline;  // parameter-matched to CoCoMix
    EXPECT_EQ(config.model.n_layer, size.layers) << baseline;
  }
  for (const char* prefix : {"cocomix_", "ntp_", "kd_", "pause_"}) {
    const Config config = load_config(config_path(std::string(prefix) + size.name + ".json"));
    EXPECT_DOUBLE_EQ(config.optim.lr, size.lr) << prefix;
    EXPECT_DOUBLE_EQ(config.optim.min_lr, size.min_lr) << prefix;
    EXPECT_EQ(config.train.batch_size * config.train.grad_accum_steps * config.data.seq_len, size.tokens_per_step)
        << prefix;
    EXPECT_EQ(config.data.seq_len, 1024) << prefix;
    EXPECT_EQ(config.model.vocab_size, 50257) << prefix;
    // Warmup is 1/300 of the steps.
    EXPECT_EQ(config.optim.warmup_steps, config.train.max_steps / 300) << prefix;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, PaperConfigs,
                         ::testing::Values(PaperSize{"69m", 512, 8, 8, 624, 3, 6e-4, 6e-5, 524288},
                                           PaperSize{"386m", 1024, 24, 16, 1072, 5, 3e-4, 3e-5, 524288},
                                           PaperSize{"1.38b", 2048, 24, 16, 2096, 5, 2e-4, 2e-5, 1048576}),
                         [](const auto& size_info) {
                           std::string name = size_info.param.name;
                           for (auto& ch : name)
                             if (ch == '.') ch = '_';
                           return "size_" + name;
                         });

}  // namespace
}  // namespace cocomix
