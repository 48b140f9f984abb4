// Incremental decoding and sampling: for a student of every insertion kind, the
// logits that the KV cache gives at every step equal a full recompute of the
// whole sequence (fp32, 1e-5), and so do a left-padded batch's rows; greedy
// generation gives the same tokens with and without the cache, and a batch the
// tokens each prompt gets alone; the sampling distribution keeps exactly the
// tokens top-k and top-p keep, worked out by hand; seeded sampling repeats.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "cocomix/config/config.h"
#include "cocomix/generate/generator.h"
#include "cocomix/generate/sampling.h"
#include "cocomix/model/cocomix_model.h"
#include "cocomix/util/error.h"
#include "small_student.h"

namespace cocomix {
namespace {

using testing::small_student;

const std::vector<std::string> kModes = {"ntp",   "cocomix",          "intervention", "concept_loss_only",
                                         "pause", "hidden_prediction"};

TEST(Decode, CachedLogitsEqualAFullRecomputeAtEveryStep) {
  torch::NoGradGuard no_grad;
  for (const auto& mode : kModes) {
    auto model = small_student(mode);
    const auto tokens = torch::randint(61, {2, 20}, torch::kLong);  // a batch of two
    auto state = model->begin_decoding();
    // A prompt of 7 tokens, then one token at a time.
    auto cached = model->forward(tokens.narrow(1, 0, 7), &state).slots;
    for (int64_t t = 7; t <= 20; ++t) {
      const auto full = model->forward(tokens.narrow(1, 0, t)).slots;  // [2, t, d]
      const auto cached_logits = torch::linear(model->gpt()->final_norm(cached.select(1, -1)), model->unembedding());
      const auto full_logits = torch::linear(model->gpt()->final_norm(full.select(1, -1)), model->unembedding());
      EXPECT_LT((cached_logits - full_logits).abs().max().item<double>(), 1e-5) << mode << " step " << t;
      if (t < 20) cached = model->forward(tokens.narrow(1, t, 1), &state).slots;
    }
    EXPECT_EQ(state.tokens, 20) << mode;
  }
}

TEST(Decode, ThePromptAtOnceEqualsItTokenByToken) {
  torch::NoGradGuard no_grad;
  auto model = small_student("cocomix");
  const auto tokens = torch::randint(61, {1, 9}, torch::kLong);
  auto at_once = model->begin_decoding(), one_by_one = model->begin_decoding();
  const auto whole = model->forward(tokens, &at_once);
  torch::Tensor last;
  for (int64_t t = 0; t < 9; ++t) last = model->forward(tokens.narrow(1, t, 1), &one_by_one).slots;
  EXPECT_LT((whole.slots.select(1, -1) - last.select(1, -1)).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(at_once.cache[2].size(), 18);  // above L_s: two slots (h_t, c_t) per token
  EXPECT_EQ(at_once.cache[0].size(), 9);   // below L_s: one per token
}

TEST(Generate, GreedyTokensAreTheSameWithAndWithoutTheCache) {
  for (const auto& mode : kModes) {
    auto model = small_student(mode);
    GenerationOptions options;
    options.max_new_tokens = 12;
    const std::vector<int64_t> prompt = {3, 14, 15, 9, 26};
    const auto cached = generate(model, prompt, options);
    options.use_cache = false;
    const auto recomputed = generate(model, prompt, options);
    EXPECT_EQ(cached.tokens, recomputed.tokens) << mode;
    EXPECT_EQ(cached.tokens.size(), 12u) << mode;
    EXPECT_EQ(cached.stop, StopReason::kMaxNewTokens) << mode;
  }
}

TEST(Generate, StopsAtEndOfTextAndAtTheContext) {
  auto model = small_student("cocomix");
  GenerationOptions options;
  options.max_new_tokens = 50;
  const std::vector<int64_t> prompt = {1, 2, 3};
  const auto free_run = generate(model, prompt, options);
  // 3 prompt tokens + 22 generated = n_positions + 1: the last cannot be read.
  EXPECT_EQ(free_run.stop, StopReason::kContext);
  EXPECT_EQ(free_run.tokens.size(), 22u);
  options.end_of_text = free_run.tokens[4];
  const auto stopped = generate(model, prompt, options);
  EXPECT_EQ(stopped.stop, StopReason::kEndOfText);
  ASSERT_FALSE(stopped.tokens.empty());
  EXPECT_EQ(stopped.tokens.back(), options.end_of_text);
  EXPECT_LE(stopped.tokens.size(), 5u);
  EXPECT_THROW(generate(model, {}, options), UsageError);
  EXPECT_THROW(generate(model, std::vector<int64_t>(25, 1), options), UsageError);
  EXPECT_THROW(generate(model, {61}, options), UsageError);
}

TEST(Decode, LeftPaddedRowsEqualEachRowAlone) {
  torch::NoGradGuard no_grad;
  for (const auto& mode : kModes) {
    auto model = small_student(mode);
    // Rows of 3, 7 and 5 prompt tokens, left-padded to 7 with padding ids that must not matter.
    const std::vector<int64_t> lengths = {3, 7, 5};
    const auto tokens = torch::randint(61, {3, 12}, torch::kLong);
    auto columns = torch::randint(61, {3, 7}, torch::kLong);
    auto padding = torch::zeros({3}, torch::kLong);
    for (int64_t b = 0; b < 3; ++b) {
      padding[b] = 7 - lengths[b];
      columns[b].slice(0, 7 - lengths[b]).copy_(tokens[b].slice(0, 0, lengths[b]));
    }
    auto batched = model->begin_decoding(padding);
    auto slots = model->forward(columns, &batched).slots;  // [3, 7, d]
    for (int64_t step = 0; step < 5; ++step) {
      for (int64_t b = 0; b < 3; ++b) {
        const int64_t length = lengths[b] + step;
        const auto alone = model->forward(tokens[b].slice(0, 0, length).unsqueeze(0)).slots;  // [1, length, d]
        EXPECT_LT((slots[b].select(0, -1) - alone[0].select(0, -1)).abs().max().item<double>(), 1e-5)
            << mode << " row " << b << " step " << step;
      }
      auto next = torch::empty({3, 1}, torch::kLong);
      for (int64_t b = 0; b < 3; ++b) next[b][0] = tokens[b][lengths[b] + step];
      slots = model->forward(next, &batched).slots;
    }
  }
}

TEST(Generate, ABatchGivesEachPromptTheTokensItGetsAlone) {
  const std::vector<std::vector<int64_t>> prompts = {{3, 14, 15}, {9, 26, 5, 35, 8, 9, 7}, {60}, {2, 7, 18, 28}};
  for (const auto& mode : kModes) {
    auto model = small_student(mode);
    for (const bool greedy : {true, false}) {
      GenerationOptions options;
      options.max_new_tokens = 10;
      options.sampling.greedy = greedy;
      options.seed = 17;
      options.explain = model->concept_head() ? true : false;
      const auto batch = generate_batch(model, prompts, options);
      ASSERT_EQ(batch.size(), prompts.size());
      for (size_t i = 0; i < prompts.size(); ++i) {
        const auto alone = generate(model, prompts[i], options);
        EXPECT_EQ(batch[i].tokens, alone.tokens) << mode << " prompt " << i << (greedy ? " greedy" : " sampled");
        EXPECT_EQ(batch[i].stop, alone.stop);
        ASSERT_EQ(batch[i].concepts.size(), alone.concepts.size());
        for (size_t t = 0; t < alone.concepts.size(); ++t) {
          EXPECT_EQ(batch[i].concepts[t].token, alone.concepts[t].token);
          EXPECT_EQ(batch[i].concepts[t].ids, alone.concepts[t].ids);
        }
      }
    }
  }
}

TEST(Generate, EachPromptOfABatchCanHaveItsOwnSeed) {
  auto model = small_student("cocomix");
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.sampling.greedy = false;
  const std::vector<std::vector<int64_t>> prompts = {{5, 6}, {5, 6}, {7}};
  const std::vector<uint64_t> seeds = {3, 4, 3};
  const auto batch = generate_batch(model, prompts, options, seeds);
  for (size_t i = 0; i < prompts.size(); ++i) {
    options.seed = seeds[i];
    EXPECT_EQ(batch[i].tokens, generate(model, prompts[i], options).tokens) << "prompt " << i;
  }
  EXPECT_NE(batch[0].tokens, batch[1].tokens);  // one prompt, two seeds
  EXPECT_THROW(generate_batch(model, prompts, options, {1, 2}), UsageError);
}

TEST(Generate, InABatchEachRowStopsOnItsOwn) {
  auto model = small_student("cocomix");
  GenerationOptions options;
  options.max_new_tokens = 40;
  // A 20-token prompt reaches the context (24) after 5 tokens; a 2-token one runs on to 23.
  const std::vector<std::vector<int64_t>> prompts = {std::vector<int64_t>(20, 4), {1, 2}};
  const auto batch = generate_batch(model, prompts, options);
  EXPECT_EQ(batch[0].stop, StopReason::kContext);
  EXPECT_EQ(batch[0].tokens.size(), 5u);
  EXPECT_EQ(batch[1].stop, StopReason::kContext);
  EXPECT_EQ(batch[1].tokens.size(), 23u);
  EXPECT_EQ(batch[1].tokens, generate(model, prompts[1], options).tokens);
  // End-of-text ends one row; the other goes on to max_new_tokens.
  options.max_new_tokens = 8;
  options.end_of_text = batch[1].tokens[2];
  const auto stopped = generate_batch(model, prompts, options);
  EXPECT_EQ(stopped[1].stop, StopReason::kEndOfText);
  EXPECT_EQ(stopped[1].tokens.size(), 3u);
  EXPECT_EQ(stopped[0].tokens, generate(model, prompts[0], options).tokens);
  EXPECT_THROW(generate_batch(model, {{1}, {}}, options), UsageError);
}

TEST(Sampling, TopKAndTopPKeepTheTokensWorkedOutByHand) {
  // softmax of log(p) is p: probabilities 0.4, 0.3, 0.2, 0.1 at ids 2, 0, 3, 1.
  const auto logits = torch::tensor({0.3, 0.1, 0.4, 0.2}).log();
  SamplingOptions options;
  options.greedy = false;
  options.top_k = 2;  // ids 2 and 0: 0.4 / 0.7 and 0.3 / 0.7
  auto p = sampling_distribution(logits, options);
  EXPECT_NEAR(p[2].item<double>(), 4.0 / 7, 1e-6);
  EXPECT_NEAR(p[0].item<double>(), 3.0 / 7, 1e-6);
  EXPECT_EQ(p[1].item<double>(), 0.0);
  EXPECT_EQ(p[3].item<double>(), 0.0);
  options.top_k = 0;
  options.top_p = 0.75;  // 0.4 + 0.3 = 0.7 < 0.75: id 3 is needed too (0.9)
  p = sampling_distribution(logits, options);
  EXPECT_NEAR(p[2].item<double>(), 0.4 / 0.9, 1e-6);
  EXPECT_NEAR(p[3].item<double>(), 0.2 / 0.9, 1e-6);
  EXPECT_EQ(p[1].item<double>(), 0.0);
  options.top_p = 0.1;  // the most likely token always stays
  p = sampling_distribution(logits, options);
  EXPECT_NEAR(p[2].item<double>(), 1.0, 1e-6);
  options.top_p = 1.0;
  options.temperature = 2.0;  // p^(1/2), renormalised
  p = sampling_distribution(logits, options);
  const double z = std::sqrt(0.3) + std::sqrt(0.1) + std::sqrt(0.4) + std::sqrt(0.2);
  EXPECT_NEAR(p[1].item<double>(), std::sqrt(0.1) / z, 1e-6);
}

TEST(Sampling, SeededDrawsRepeatAndGreedyIsTheFirstMaximum) {
  auto model = small_student("cocomix");
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.sampling.greedy = false;
  options.sampling.temperature = 1.5;
  options.seed = 42;
  const auto first = generate(model, {5, 6}, options);
  const auto again = generate(model, {5, 6}, options);
  EXPECT_EQ(first.tokens, again.tokens);
  options.seed = 43;
  const auto other = generate(model, {5, 6}, options);
  EXPECT_NE(first.tokens, other.tokens);
  at::Generator unused;
  EXPECT_EQ(next_token(torch::tensor({1.0, 3.0, 3.0, 2.0}), SamplingOptions{}, unused), 1);
  SamplingOptions bad;
  bad.greedy = false;
  bad.temperature = 0;
  EXPECT_THROW(bad.validate(), UsageError);
  bad.temperature = 1;
  bad.top_p = 1.5;
  EXPECT_THROW(bad.validate(), UsageError);
}

}  // namespace
}  // namespace cocomix
