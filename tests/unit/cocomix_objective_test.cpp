// The whole CoCoMix step against tests/reference/make_cocomix_step.py (written
// from the method spec with PyTorch and Hugging Face GPT-2 blocks): teacher
// hidden state and gradient, SAE code, attribution scores and labels for the
// three selections, concept logits, the compressed vector, the interleaved
// sequence, both losses and every student gradient; the same for the
// baselines, and direct hidden-state prediction with each of its three losses
// (ĥ, the compressed ĥ, the interleaved sequence, the losses, every gradient).
// fp32 throughout.
#include "cocomix/objective/objective.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>

#include "cocomix/concept/teacher.h"
#include "cocomix/concept/top_k.h"
#include "cocomix/config/config.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/objective/make_objective.h"
#include "test_env.h"

namespace cocomix {
namespace {

class CoCoMixStep : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_env_dir("COCOMIX_REFERENCE_DIR") + "/cocomix_step";
    ref_ = load_safetensors(dir_ + "/reference.safetensors");
    config_ = load_config(dir_ + "/config.json");
    objective_ = make_objective(config_, /*with_teacher=*/true);
    cocomix_ = objective_.get();
    cocomix_->model()->load_state_dict(load_safetensors(dir_ + "/student.safetensors"), dir_ + "/student.safetensors");
    cocomix_->model()->train(true);  // dropout is 0: train mode must change nothing
    batch_.inputs = ref_.at("inputs");
    batch_.targets = ref_.at("targets");
  }

  /// max |a - b| / max |b|.
  static double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.abs().max().to(torch::kFloat64))
        .item<double>();
  }

  std::string dir_;
  TensorMap ref_;
  Config config_;
  std::unique_ptr<Objective> objective_;
  Objective* cocomix_ = nullptr;
  Batch batch_;
};

TEST_F(CoCoMixStep, TeacherHiddenStateGradientAndSaeCode) {
  const auto out = cocomix_->labeler()->label(batch_.inputs);
  EXPECT_LT(relative_error(out.hidden, ref_.at("teacher_hidden")), 1e-5);
  EXPECT_LT(relative_error(out.hidden_grad, ref_.at("teacher_grad")), 1e-4);
  EXPECT_NEAR(out.teacher_loss.item<double>(), ref_.at("teacher_loss").item<double>(), 1e-5);
  const auto code = cocomix_->labeler()->sae()->encode(out.hidden);
  EXPECT_LT(relative_error(code.z_pre, ref_.at("sae_z_pre")), 1e-5);
  EXPECT_LT(relative_error(code.z, ref_.at("sae_z")), 1e-5);
  // The last position has no prediction inside the window: g = 0 there.
  EXPECT_EQ(out.hidden_grad.select(1, -1).abs().max().item<double>(), 0.0);
}

TEST_F(CoCoMixStep, TieRuleMatchesLexsortOnTheReferenceScores) {
  for (const char* selection : {"attribution", "attribution_pre", "activation"}) {
    const auto scores = ref_.at(std::string("scores_") + selection);  // [B, T, C]
    const auto expected = ref_.at(std::string("labels_") + selection);
    const auto ours = top_k_indices(scores.reshape({-1, scores.size(-1)}), expected.size(-1)).view(expected.sizes());
    EXPECT_TRUE(torch::equal(ours, expected)) << selection;
  }
}

TEST_F(CoCoMixStep, ScoresAndLabelsOfEverySelection) {
  const auto labels_ok = [](const torch::Tensor& ours, const torch::Tensor& expected, const torch::Tensor& scores) {
    // Rows whose reference scores have a near-tie (0 < gap < 1e-4 of the row's scale) among the
    // top K_attr + 1 may legitimately order differently after fp32 rounding; exact ties may not.
    const int64_t k = expected.size(-1), C = scores.size(-1);
    const auto flat = scores.reshape({-1, C});
    const auto sorted = std::get<0>(flat.sort(1, /*descending=*/true)).narrow(1, 0, k + 1);
    const auto gaps = sorted.narrow(1, 0, k) - sorted.narrow(1, 1, k);
    const auto scale = flat.abs().amax(1, true).clamp_min(1e-30);
    const auto near_tie = ((gaps > 0) & (gaps < 1e-4 * scale)).any(1);
    const auto same = (ours.reshape({-1, k}) == expected.reshape({-1, k})).all(1);
    return (same | near_tie).all().item<bool>() && near_tie.sum().item<int64_t>() <= flat.size(0) / 4;
  };
  const auto teacher_path = config_.concepts.teacher_path;
  const auto sae_path = config_.concepts.sae_path;
  for (const char* selection : {"attribution", "attribution_pre", "activation"}) {
    const auto config = load_config(dir_ + "/config.json", {std::string("concept.selection=") + selection});
    ConceptLabeler labeler(load_teacher(teacher_path), load_sae(sae_path), config_.concepts.k_attr,
                           config.concepts.selection);
    const auto out = labeler.label(batch_.inputs);
    const auto& scores = ref_.at(std::string("scores_") + selection);
    // "attribution" scores only the SAE's kept latents; every other latent's score is 0.
    const auto ours = out.scores.defined() ? out.scores
                                           : torch::zeros_like(scores).scatter(-1, out.kept, out.kept_scores);
    EXPECT_EQ(out.scores.defined(), std::string(selection) != "attribution") << selection;
    EXPECT_LT(relative_error(ours, scores), 1e-4) << selection;
    EXPECT_TRUE(labels_ok(out.labels, ref_.at(std::string("labels_") + selection), scores)) << selection;
  }
}

TEST_F(CoCoMixStep, StudentForwardMatches) {
  const auto out = cocomix_->model()->forward(batch_.inputs);
  EXPECT_LT(relative_error(out.prediction.logits, ref_.at("concept_logits")), 1e-5);
  EXPECT_LT(relative_error(out.prediction.concepts, ref_.at("concepts")), 1e-5);
  EXPECT_LT(relative_error(out.mixed, ref_.at("mixed")), 1e-5);
  EXPECT_LT(relative_error(out.slots, ref_.at("slots")), 1e-5);
  // Even positions of the mixed sequence are the tokens' h, odd ones the concepts.
  EXPECT_TRUE(torch::equal(out.mixed.slice(1, 1, torch::indexing::None, 2), out.prediction.concepts));
}

/// Loss parts and every parameter's gradient of `objective` against the
/// reference entries PREFIX{loss,ntp_loss,...} and PREFIXgrad.<name>; the
/// reference's own labels are used so a near-tie cannot move the concept loss.
/// teacher_hidden: hidden_prediction's target (undefined for the other modes).
void expect_step_matches(Objective& objective, const Batch& batch, const TensorMap& ref,
                         const std::string& prefix, int64_t expected_parameters,
                         const torch::Tensor& teacher_hidden = {}) {
  const auto output = objective.loss_with_labels(batch, ref.at("labels_attribution"), teacher_hidden);
  EXPECT_NEAR(output.loss.item<double>(), ref.at(prefix + "loss").item<double>(), 1e-5) << prefix;
  for (const auto& [name, value] : output.parts)
    EXPECT_NEAR(value.item<double>(), ref.at(prefix + name).item<double>(), 1e-5) << prefix << name;
  output.loss.backward();
  int64_t compared = 0;
  for (const auto& [name, parameter] : objective.model()->named_parameters().pairs()) {
    ASSERT_TRUE(parameter.grad().defined()) << prefix << name;
    const auto& expected = ref.at(prefix + "grad." + name);
    EXPECT_LT(((parameter.grad() - expected).abs().max() / expected.abs().max()).item<double>(), 1e-4)
        << prefix << name;
    ++compared;
  }
  EXPECT_EQ(compared, expected_parameters) << prefix;
}

TEST_F(CoCoMixStep, LossesAndEveryStudentGradient) {
  expect_step_matches(*cocomix_, batch_, ref_, "", 3 * 12 + 4 + 5);  // 12 per block, wte/wpe/ln_f, the head's 5
}

TEST_F(CoCoMixStep, ComputeUsesTheLabelerAndReportsBothParts) {
  const auto output = cocomix_->compute(batch_);
  ASSERT_EQ(output.parts.size(), 2u);
  EXPECT_EQ(output.parts[0].first, "ntp_loss");
  EXPECT_EQ(output.parts[1].first, "concept_loss");
  EXPECT_NEAR(output.parts[0].second.item<double>(), ref_.at("ntp_loss").item<double>(), 1e-5);
  EXPECT_NEAR(output.loss.item<double>(),
              (output.parts[0].second + config_.concepts.weight * output.parts[1].second).item<double>(), 1e-6);
}

TEST_F(CoCoMixStep, BaselinesInterventionPauseAndKd) {
  const TensorMap student = load_safetensors(dir_ + "/student.safetensors");
  // "pause_none" is the pause mode with concept.pause_position "none" (the reference's name for it).
  for (const std::string reference_mode : {"intervention", "pause", "pause_none", "kd"}) {
    const bool unpositioned = reference_mode == "pause_none";
    const std::string mode = unpositioned ? "pause" : reference_mode;
    std::vector<std::string> overrides = {"concept.mode=" + mode};
    if (unpositioned) overrides.push_back("concept.pause_position=none");
    const auto config = load_config(dir_ + "/config.json", overrides);
    auto objective = make_objective(config, /*with_teacher=*/true);
    auto* baseline = objective.get();
    TensorMap weights;
    for (const auto& item : student)
      if (mode == "intervention" || item.first.rfind(kConceptPrefix, 0) != 0) weights.insert(item);
    if (mode == "pause") weights.emplace(kPauseVectorName, ref_.at("pause.vector"));
    baseline->model()->load_state_dict(weights, "student.safetensors");
    const int64_t extra = mode == "intervention" ? 5 : mode == "pause" ? 1 : 0;
    expect_step_matches(*baseline, batch_, ref_, reference_mode + ".", 3 * 12 + 4 + extra);
  }
}

/// The hidden_prediction objective of the reference (hidden_config.json, D =
/// `loss`) with the reference's student and hidden predictor weights.
std::unique_ptr<Objective> hidden_prediction_objective(const std::string& dir, const std::string& loss,
                                                       bool with_teacher) {
  const auto config = load_config(dir + "/hidden_config.json", {"concept.hidden_loss=" + loss});
  auto objective = make_objective(config, with_teacher);
  TensorMap weights = load_safetensors(dir + "/hidden.safetensors");
  for (const auto& item : load_safetensors(dir + "/student.safetensors"))
    if (item.first.rfind(kConceptPrefix, 0) != 0) weights.insert(item);
  objective->model()->load_state_dict(weights, "student.safetensors + hidden.safetensors");
  objective->model()->train(true);
  return objective;
}

TEST_F(CoCoMixStep, HiddenPredictionForwardLossesAndEveryGradient) {
  for (const std::string loss : {"l1", "l2", "cosine"}) {
    auto objective = hidden_prediction_objective(dir_, loss, /*with_teacher=*/true);
    auto* hidden = objective.get();
    const std::string prefix = "hidden_" + loss + ".";
    const auto out = hidden->model()->forward(batch_.inputs);
    EXPECT_FALSE(out.prediction.logits.defined()) << loss;
    EXPECT_LT(relative_error(out.predicted_hidden, ref_.at(prefix + "predicted_hidden")), 1e-5) << loss;
    EXPECT_LT(relative_error(out.compressed_hidden, ref_.at(prefix + "compressed_hidden")), 1e-5) << loss;
    EXPECT_LT(relative_error(out.mixed, ref_.at(prefix + "mixed")), 1e-5) << loss;
    EXPECT_TRUE(torch::equal(out.mixed.slice(1, 1, torch::indexing::None, 2), out.compressed_hidden)) << loss;
    // 12 per block, wte/wpe/ln_f, the MLP's 4 and the compressor's 2.
    expect_step_matches(*hidden, batch_, ref_, prefix, 3 * 12 + 4 + 6, ref_.at("teacher_hidden"));
  }
}

TEST_F(CoCoMixStep, HiddenPredictionComputeTakesTheTargetFromTheTeacher) {
  auto objective = hidden_prediction_objective(dir_, "cosine", /*with_teacher=*/true);
  const auto output = objective->compute(batch_);
  ASSERT_EQ(output.parts.size(), 2u);
  EXPECT_EQ(output.parts[1].first, "hidden_loss");
  EXPECT_NEAR(output.parts[1].second.item<double>(), ref_.at("hidden_cosine.hidden_loss").item<double>(), 1e-5);
  EXPECT_NEAR(output.loss.item<double>(), ref_.at("hidden_cosine.loss").item<double>(), 1e-5);
  // Built for evaluation (no teacher): logits work, the training loss says what is missing.
  auto eval = hidden_prediction_objective(dir_, "cosine", /*with_teacher=*/false);
  EXPECT_TRUE(torch::allclose(eval->model()->logits(batch_.inputs), objective->model()->logits(batch_.inputs)));
  EXPECT_THROW(eval->compute(batch_), UsageError);
}

TEST_F(CoCoMixStep, HiddenPredictionCheckpointNamesAndRoundTrip) {
  auto objective = hidden_prediction_objective(dir_, "l2", /*with_teacher=*/false);
  const auto saved = objective->model()->state_dict();
  for (const char* name :
       {"c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias", "compressor.weight", "compressor.bias"})
    EXPECT_EQ(saved.count(std::string(kHiddenPredictionPrefix) + name), 1u) << name;
  EXPECT_EQ(saved.at("hidden_prediction.c_fc.weight").sizes(), torch::IntArrayRef({32, 24}));
  EXPECT_EQ(saved.at("hidden_prediction.compressor.weight").sizes(), torch::IntArrayRef({40, 32}));
  auto other = hidden_prediction_objective(dir_, "l1", /*with_teacher=*/false);
  TensorMap without_compressor = saved;
  without_compressor.erase("hidden_prediction.compressor.bias");
  EXPECT_THROW(other->model()->load_state_dict(without_compressor, "partial.safetensors"), RuntimeError);
  // A cocomix checkpoint does not load into it, nor it into a cocomix objective.
  EXPECT_THROW(other->model()->load_state_dict(cocomix_->model()->state_dict(), "cocomix.safetensors"), RuntimeError);
  EXPECT_THROW(cocomix_->model()->load_state_dict(saved, "hidden.safetensors"), RuntimeError);
}

TEST_F(CoCoMixStep, HiddenPredictionBadTeacherLayerAndWidthFailAtStart) {
  const auto expect_fails = [&](const std::vector<std::string>& overrides, const std::string& message) {
    try {
      make_objective(load_config(dir_ + "/hidden_config.json", overrides), /*with_teacher=*/true);
      ADD_FAILURE() << "no error for " << message;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("hidden_config.json"), std::string::npos) << e.what();
    }
  };
  expect_fails({"concept.teacher_layer=4"}, "concept.teacher_layer: 4 is beyond the teacher's 3 blocks");
  expect_fails({"concept.teacher_n_embd=32"}, "concept.teacher_n_embd: 32 differs from the teacher's n_embd = 40");
  // L_t = n_layer is allowed (the residual after the last block, before ln_f).
  EXPECT_NO_THROW(make_objective(load_config(dir_ + "/hidden_config.json", {"concept.teacher_layer=3"}), true));
}

TEST_F(CoCoMixStep, CheckpointTensorsRoundTrip) {
  const auto saved = cocomix_->model()->state_dict();
  EXPECT_EQ(saved.count("concept.compressor.weight"), 1u);
  auto other = make_objective(config_, /*with_teacher=*/false);
  other->model()->load_state_dict(saved, "memory");
  const auto x = batch_.inputs;
  EXPECT_TRUE(torch::equal(other->model()->logits(x), cocomix_->model()->logits(x)));
  TensorMap without_head;
  for (const auto& item : saved)
    if (item.first.rfind(kConceptPrefix, 0) != 0) without_head.insert(item);
  EXPECT_THROW(other->model()->load_state_dict(without_head, "ntp.safetensors"), RuntimeError);
}

}  // namespace
}  // namespace cocomix
