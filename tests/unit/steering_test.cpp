// Steering and inspection: the concept head's steered compression equals the
// dense formula of concept_steering.h worked out on a [B, T, C] ẑ; the SAE edit
// equals h + the change of the SAE's dense reconstruction; steered decoding
// with the cache equals a steered full recompute; --explain's concepts are the
// head's TopK; and bad steering is refused with the flag's name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "cocomix/concept/sae.h"
#include "cocomix/config/config.h"
#include "cocomix/generate/generator.h"
#include "cocomix/generate/sae_steering.h"
#include "cocomix/model/cocomix_model.h"
#include "cocomix/model/concept_steering.h"
#include "cocomix/model/position_norm.h"
#include "cocomix/util/error.h"
#include "small_student.h"

namespace cocomix {
namespace {

constexpr int64_t kD = testing::kStudentWidth, kConcepts = testing::kStudentConcepts,
                  kKeep = testing::kStudentKeep;

ConceptHead random_head() {
  torch::manual_seed(11);
  ConceptHead head(kD, kConcepts, kKeep, 0.3);
  torch::NoGradGuard no_grad;
  head->pre_bias.normal_(0, 0.1);
  head->compressor->bias.normal_(0, 0.1);
  head->predictor->bias.normal_(0, 0.1);
  return head;
}

/// c from a dense ẑ [B, T, C]: (ẑ @ W_comp + b_comp + pre_bias) σ + μ.
torch::Tensor dense_compression(ConceptHeadImpl& head, const torch::Tensor& h, const torch::Tensor& z_hat) {
  const auto norm = normalize_positions(h);
  return norm.denormalize(torch::matmul(z_hat, head.compressor->weight) + head.compressor->bias + head.pre_bias);
}

/// The rule written densely: kept entries scaled, a dropped steered concept set
/// to factor × the smallest kept logit at its position.
torch::Tensor dense_steered_z(const torch::Tensor& logits, int64_t k, const ConceptSteering& steering) {
  const auto [values, indices] = logits.topk(k, -1);
  auto z = torch::zeros_like(logits).scatter(-1, indices, values);
  const auto edge = values.select(-1, -1);  // [B, T]
  for (const auto& [id, factor] : steering.factors) {
    const auto kept = (indices == id).any(-1);
    z.select(-1, id).copy_(torch::where(kept, z.select(-1, id) * factor, edge * factor));
  }
  return z;
}

TEST(ConceptSteering, TheHeadCompressesTheSteeredCodeOfTheDenseRule) {
  torch::NoGradGuard no_grad;
  auto head = random_head();
  const auto h = torch::randn({2, 3, kD}) * 3 + 1;  // 6 positions keep at most 30 of the 40 concepts
  const auto plain = head->forward(h);
  // One concept kept at position (0, 0) and one never kept anywhere: both cases of the rule.
  const int64_t kept_id = plain.top_indices[0][0][0].item<int64_t>();
  int64_t dropped_id = 0;
  while ((plain.top_indices == dropped_id).any().item<bool>()) ++dropped_id;
  ASSERT_LT(dropped_id, kConcepts);
  const auto kept_anywhere = (plain.top_indices == kept_id).any(-1);
  ASSERT_TRUE(kept_anywhere.any().item<bool>());
  ASSERT_FALSE(kept_anywhere.all().item<bool>());  // the kept concept is dropped at some positions too

  for (const double factor : {-10.0, -1.0, 0.0, 1.0, 2.5, 10.0}) {
    const ConceptSteering steering{{{kept_id, factor}, {dropped_id, -factor / 2}}};
    const auto steered = head->forward(h, steering);
    const auto expected = dense_compression(*head, h, dense_steered_z(plain.logits, kKeep, steering));
    EXPECT_LT((steered.concepts - expected).abs().max().item<double>(), 1e-5) << "factor " << factor;
    // What the head reports is the prediction, before steering.
    EXPECT_TRUE(torch::equal(steered.top_indices, plain.top_indices));
    EXPECT_TRUE(torch::equal(steered.logits, plain.logits));
  }
  // The unsteered head is the dense TopK compression.
  const auto unsteered = dense_compression(*head, h, dense_steered_z(plain.logits, kKeep, {}));
  EXPECT_LT((plain.concepts - unsteered).abs().max().item<double>(), 1e-5);
  // Factor 1 on a kept concept changes nothing where it is kept.
  const auto same = head->forward(h, ConceptSteering{{{kept_id, 1.0}}}).concepts;
  const auto change = std::get<0>((same - plain.concepts).abs().max(-1));  // [B, T]
  EXPECT_LT(change.masked_select(kept_anywhere).max().item<double>(), 1e-6);
}

TEST(ConceptSteering, ParsesAndRefusesWithTheFlagsName) {
  const auto parsed = parse_concept_factor("123=-2.5", "--steer");
  EXPECT_EQ(parsed.id, 123);
  EXPECT_EQ(parsed.factor, -2.5);
  for (const std::string bad : {"123", "=2", "x=2", "12=", "12=3x", "1.5=2"}) {
    try {
      parse_concept_factor(bad, "--steer");
      ADD_FAILURE() << bad << " parsed";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--steer: \"" + bad + "\"", 0), 0u) << e.what();
    }
  }
  const auto refused = [](const ConceptSteering& steering) {
    try {
      steering.validate(kConcepts, "--steer");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused({{{kConcepts, 1.0}}}), "--steer: concept 40 is outside [0, 40)");
  EXPECT_EQ(refused({{{-1, 1.0}}}), "--steer: concept -1 is outside [0, 40)");
  EXPECT_EQ(refused({{{3, 1.0}, {3, 2.0}}}), "--steer: concept 3 is given twice");
  EXPECT_EQ(refused({{{3, 101.0}}}).rfind("--steer: factor 101", 0), 0u);
  EXPECT_EQ(refused({{{3, std::nan("")}}}).rfind("--steer: factor nan", 0), 0u);
  EXPECT_EQ(refused({{{3, -100.0}, {39, 100.0}}}), "accepted");
}

TEST(SaeSteering, TheResidualGetsTheChangeOfTheDenseReconstruction) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  SaeInfo info;
  info.d = kD;
  info.n_latents = 48;
  info.k = 6;
  info.layer = 2;
  TopKSae sae(info);
  sae->pre_bias.normal_(0, 0.1);
  sae->latent_bias.normal_(0, 0.1);
  const auto h = torch::randn({2, 7, kD}) * 2;
  const auto code = sae->encode(h);
  const int64_t kept_id = code.kept[0][0][0].item<int64_t>();
  const int64_t dropped_id = code.z_pre.sum(torch::IntArrayRef{0, 1}).argmin().item<int64_t>();
  const ConceptSteering latents{{{kept_id, 4.0}, {dropped_id, -3.0}}};
  const auto steering = sae_steering(sae, latents, "--steer-sae");
  EXPECT_EQ(steering.residual_layer, 2);

  // z' by the rule on the dense z (its kept values are ReLU(TopK)), then ĥ' - ĥ.
  auto z_steered = code.z.clone();
  const auto [values, indices] = code.z.gather(-1, code.kept).sort(-1, /*descending=*/true);
  const auto edge = values.select(-1, -1);
  for (const auto& [id, factor] : latents.factors) {
    const auto kept = (code.kept == id).any(-1);
    z_steered.select(-1, id).copy_(torch::where(kept, code.z.select(-1, id) * factor, edge * factor));
  }
  SaeCode steered_code = code;
  steered_code.z = z_steered;
  const auto expected = h + (sae->reconstruct(steered_code) - sae->reconstruct(code));
  EXPECT_LT((steering.edit_residual(h) - expected).abs().max().item<double>(), 1e-5);
  // No latents steered: the residual is unchanged.
  EXPECT_LT((sae_steering(sae, {}, "--steer-sae").edit_residual(h) - h).abs().max().item<double>(), 1e-6);
  EXPECT_THROW(sae_steering(sae, ConceptSteering{{{48, 1.0}}}, "--steer-sae"), UsageError);
}

using testing::small_student;

TEST(SteeredDecode, CachedLogitsEqualASteeredFullRecompute) {
  torch::NoGradGuard no_grad;
  auto model = small_student("cocomix");
  Steering steering;
  steering.concepts = {{{7, 10.0}, {21, -4.0}}};
  steering.residual_layer = 3;  // and a residual edit above L_s, on both slots of every token
  steering.edit_residual = [](const torch::Tensor& h) { return h * 1.5 + 0.25; };
  const auto tokens = torch::randint(61, {1, 16}, torch::kLong);
  auto state = model->begin_decoding();
  auto cached = model->forward(tokens.narrow(1, 0, 6), &state, steering).slots;
  for (int64_t t = 6; t <= 16; ++t) {
    const auto full = model->forward(tokens.narrow(1, 0, t), nullptr, steering).slots;
    EXPECT_LT((cached.select(1, -1) - full.select(1, -1)).abs().max().item<double>(), 1e-5) << "step " << t;
    if (t < 16) cached = model->forward(tokens.narrow(1, t, 1), &state, steering).slots;
  }
  // Steering changes what the model computes.
  const auto plain = model->forward(tokens).slots;
  EXPECT_GT((plain - model->forward(tokens, nullptr, steering).slots).abs().max().item<double>(), 1e-3);
}

TEST(Explain, RecordsTheHeadsTopKAtEveryTokenRead) {
  auto model = small_student("cocomix");
  GenerationOptions options;
  options.max_new_tokens = 6;
  options.explain = true;
  const std::vector<int64_t> prompt = {3, 14, 15, 9};
  for (const bool cache : {true, false}) {
    options.use_cache = cache;
    const auto generation = generate(model, prompt, options);
    ASSERT_EQ(generation.tokens.size(), 6u);
    // Every token read: the prompt and the generated ones but the last.
    std::vector<int64_t> read = prompt;
    read.insert(read.end(), generation.tokens.begin(), generation.tokens.end() - 1);
    ASSERT_EQ(generation.concepts.size(), read.size());
    torch::NoGradGuard no_grad;
    const auto prediction = model->forward(torch::tensor(read).unsqueeze(0)).prediction;
    for (size_t t = 0; t < read.size(); ++t) {
      const auto& row = generation.concepts[t];
      EXPECT_EQ(row.token, read[t]);
      const auto ids = prediction.top_indices[0][static_cast<int64_t>(t)];
      const auto values = prediction.top_values[0][static_cast<int64_t>(t)];
      ASSERT_EQ(row.ids.size(), static_cast<size_t>(kKeep));
      for (int64_t j = 0; j < kKeep; ++j) {
        EXPECT_EQ(row.ids[static_cast<size_t>(j)], ids[j].item<int64_t>()) << "token " << t;
        EXPECT_NEAR(row.values[static_cast<size_t>(j)], values[j].item<double>(), 1e-5);
      }
    }
  }
}

TEST(Explain, AndSteeringNeedAConceptHead) {
  auto model = small_student("ntp");
  GenerationOptions options;
  options.explain = true;
  EXPECT_THROW(generate(model, {1, 2}, options), UsageError);
  options.explain = false;
  options.steering.concepts = {{{1, 2.0}}};
  EXPECT_THROW(generate(model, {1, 2}, options), UsageError);
  auto with_head = small_student("cocomix");
  options.steering.concepts = {{{kConcepts, 2.0}}};
  EXPECT_THROW(generate(with_head, {1, 2}, options), UsageError);
}

}  // namespace
}  // namespace cocomix
