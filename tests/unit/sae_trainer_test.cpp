// SAE training pieces (concept/sae_losses.h, concept/sae_evaluation.h,
// train/sae_step.h, train/sae_trainer.h): the normalised error and AuxK
// selection by hand, dead-latent counting, the geometric median, one whole
// training step (losses, every gradient, the Adam update, unit-norm decoder)
// against tests/reference/make_sae_reference.py, option checks, teacher files.
#include "cocomix/train/sae_trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cocomix/concept/sae_evaluation.h"
#include "cocomix/concept/sae_losses.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/train/sae_step.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "temp_dir.h"
#include "test_env.h"

namespace cocomix {
namespace {

TEST(SaeTrainer, NormalizedSquaredErrorByHand) {
  // Target rows (1, 0), (3, 2): column means (2, 1), squared deviations sum to 4.
  // Prediction (1, 1), (2, 2): squared errors 0 + 1 + 1 + 0 = 2. E = 2 / 4.
  const auto target = torch::tensor({{1.0f, 0.0f}, {3.0f, 2.0f}});
  const auto prediction = torch::tensor({{1.0f, 1.0f}, {2.0f, 2.0f}});
  EXPECT_NEAR(normalized_squared_error(prediction, target).item<double>(), 0.5, 1e-7);
  // Predicting the column means exactly gives 1; the target itself 0.
  EXPECT_NEAR(normalized_squared_error(torch::tensor({{2.0f, 1.0f}, {2.0f, 1.0f}}), target).item<double>(), 1.0, 1e-7);
  EXPECT_EQ(normalized_squared_error(target, target).item<double>(), 0.0);
  // No variance in the target: 0 instead of a division by zero, gradient finite.
  const auto flat = torch::ones({3, 2});
  const auto guess = torch::zeros({3, 2}, torch::requires_grad());
  const auto loss = normalized_squared_error(guess, flat);
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(guess.grad()).all().item<bool>());
}

TEST(SaeTrainer, PooledErrorUsesTheMeanOfAllRows) {
  torch::manual_seed(1);
  auto shifted = torch::randn({10, 3});
  shifted.slice(0, 5, 10) += 4.0;  // the halves have different means
  const auto prediction = shifted + 0.3 * torch::randn({10, 3});
  NormalizedErrorSums sums;
  sums.add(prediction.slice(0, 0, 5), shifted.slice(0, 0, 5));
  sums.add(prediction.slice(0, 5, 10), shifted.slice(0, 5, 10));
  const double pooled = normalized_squared_error(prediction, shifted).item<double>();
  EXPECT_NEAR(sums.value(), pooled, 1e-6);
  const double per_half = 0.5 * (normalized_squared_error(prediction.slice(0, 0, 5), shifted.slice(0, 0, 5)) +
                                 normalized_squared_error(prediction.slice(0, 5, 10), shifted.slice(0, 5, 10)))
                                    .item<double>();
  EXPECT_GT(std::abs(per_half - pooled), 0.01);  // the pooling matters here
  EXPECT_EQ(NormalizedErrorSums().value(), 0.0);
}

TEST(SaeTrainer, DeadLatentCountingByHand) {
  DeadLatentTracker tracker(4, /*dead_tokens=*/5);
  // Batch of 2 tokens: latent 0 fires; latent 1 only reaches 1e-4 (< 1e-3: not fired).
  tracker.update(torch::tensor({{0.5f, 0.0f, 0.0f, 0.0f}, {0.0f, 1e-4f, 0.0f, 0.0f}}));
  EXPECT_TRUE(torch::equal(tracker.tokens_since_fired(), torch::tensor({0, 2, 2, 2}, torch::kInt64)));
  EXPECT_EQ(tracker.dead_fraction(), 0.0);
  // Batch of 3 tokens: latent 2 fires.
  tracker.update(torch::tensor({{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 2.f, 0.f}, {0.f, 0.f, 0.f, 0.f}}));
  EXPECT_TRUE(torch::equal(tracker.tokens_since_fired(), torch::tensor({3, 5, 0, 5}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(tracker.dead_mask(), torch::tensor({false, true, false, true})));
  EXPECT_DOUBLE_EQ(tracker.dead_fraction(), 0.5);
  // A dead latent that fires is alive again at once.
  tracker.update(torch::tensor({{0.f, 1.f, 0.f, 0.f}}));
  EXPECT_TRUE(torch::equal(tracker.dead_mask(), torch::tensor({false, false, false, true})));

  DeadLatentTracker restored(4, 5);
  restored.restore(tracker.tokens_since_fired(), "state");
  EXPECT_TRUE(torch::equal(restored.tokens_since_fired(), tracker.tokens_since_fired()));
  EXPECT_THROW(restored.restore(torch::zeros({3}, torch::kInt64), "state"), RuntimeError);
  EXPECT_THROW(restored.restore(torch::zeros({4}), "state"), RuntimeError);
}

TEST(SaeTrainer, AuxkLatentsByHand) {
  const auto z_pre = torch::tensor({{5.0f, -1.0f, 3.0f, 2.0f, 0.5f}, {-4.0f, 1.0f, -2.0f, 6.0f, 9.0f}});
  const auto dead = torch::tensor({false, true, true, true, false});
  // Only latents 1-3 compete: row 0 keeps 3 and 2, row 1 keeps 6 and 1 (latent 4's 9 is alive).
  EXPECT_TRUE(torch::equal(auxk_latents(z_pre, dead, 2),
                           torch::tensor({{0.f, 0.f, 3.f, 2.f, 0.f}, {0.f, 1.f, 0.f, 6.f, 0.f}})));
  // k_aux above the dead count keeps every dead latent; ReLU zeroes the negative ones.
  EXPECT_TRUE(torch::equal(auxk_latents(z_pre, dead, 5),
                           torch::tensor({{0.f, 0.f, 3.f, 2.f, 0.f}, {0.f, 1.f, 0.f, 6.f, 0.f}})));
  EXPECT_TRUE(torch::equal(auxk_latents(z_pre, torch::zeros({5}, torch::kBool), 2), torch::zeros_like(z_pre)));
}

TEST(SaeTrainer, GeometricMedianOfCollinearPoints) {
  // The median of 0, 1, 10 on a line is 1 (the mean would be 3.67).
  const auto points = torch::tensor({{0.0f, 2.0f}, {1.0f, 2.0f}, {10.0f, 2.0f}});
  const auto median = geometric_median(points);
  EXPECT_NEAR(median[0].item<double>(), 1.0, 1e-4);
  EXPECT_NEAR(median[1].item<double>(), 2.0, 1e-4);
  // Symmetric points: the centre.
  const auto square = torch::tensor({{1.0f, 1.0f}, {-1.0f, 1.0f}, {1.0f, -1.0f}, {-1.0f, -1.0f}}) + 3.0;
  EXPECT_TRUE(torch::allclose(geometric_median(square), torch::full({2}, 3.0f), 1e-5, 1e-5));
}

/// One step of tests/reference/make_sae_reference.py.
class SaeStepReference : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_env_dir("COCOMIX_REFERENCE_DIR") + "/sae_step";
    ref_ = load_safetensors(dir_ + "/reference.safetensors");
    meta_ = nlohmann::json::parse(read_whole_file(dir_ + "/meta.json"));
    sae_ = load_sae(dir_ + "/sae");
    const auto dead_tokens = meta_["dead_tokens"].get<int64_t>();
    tracker_ = std::make_unique<DeadLatentTracker>(sae_->info().n_latents, dead_tokens);
    // Latents dead before the batch sit at the threshold; the rest fired just now.
    tracker_->restore(ref_.at("dead_before").to(torch::kInt64) * dead_tokens, "reference");
  }

  static double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.abs().max().to(torch::kFloat64))
        .item<double>();
  }

  std::string dir_;
  TensorMap ref_;
  nlohmann::json meta_;
  TopKSae sae_{nullptr};
  std::unique_ptr<DeadLatentTracker> tracker_;
};

TEST_F(SaeStepReference, LossesMatch) {
  const auto& h = ref_.at("h");
  const auto code = sae_->encode(h);
  tracker_->update(code.z);
  EXPECT_TRUE(torch::equal(tracker_->dead_mask(), ref_.at("dead")));
  const auto k_aux = meta_["k_aux"].get<int64_t>();
  EXPECT_LT(relative_error(auxk_latents(code.z_pre, tracker_->dead_mask(), k_aux), ref_.at("z_aux")), 1e-5);
  const auto losses = sae_losses(*sae_, h, code, tracker_->dead_mask(), k_aux, meta_["aux_coef"].get<double>());
  EXPECT_NEAR(losses.nmse.item<double>(), ref_.at("nmse").item<double>(), 1e-5);
  EXPECT_NEAR(losses.aux.item<double>(), ref_.at("aux").item<double>(), 1e-5);
  EXPECT_NEAR(losses.total.item<double>(), ref_.at("total").item<double>(), 1e-5);
  EXPECT_NEAR(losses.fvu, ref_.at("fvu").item<double>(), 1e-5);
  EXPECT_GT(losses.aux.item<double>(), 0.1);  // the case does exercise AuxK
}

TEST_F(SaeStepReference, TrainStepMatchesGradientsAndAdamUpdate) {
  const auto decoder_before = sae_->decoder->weight.detach().clone();
  auto optimizer = make_sae_optimizer(*sae_, meta_["lr"].get<double>(), meta_["eps"].get<double>());
  const auto result = sae_train_step(*sae_, *optimizer, *tracker_, ref_.at("h"), meta_["k_aux"].get<int64_t>(),
                                     meta_["aux_coef"].get<double>());
  EXPECT_NEAR(result.loss, ref_.at("total").item<double>(), 1e-5);
  EXPECT_NEAR(tracker_->dead_fraction(), ref_.at("dead").to(torch::kFloat64).mean().item<double>(), 1e-12);
  for (const auto& item : sae_->named_parameters()) {
    const auto& name = item.key();
    // Gradients (the decoder's with its parallel part removed) as the step saw them.
    EXPECT_LT(relative_error(item.value().grad(), ref_.at("grad." + name)), 1e-4) << name;
    // Adam's first step moves each entry by about lr; a 1e-3 share of it is the tolerance.
    const double max_diff = (item.value().detach() - ref_.at("after." + name)).abs().max().item<double>();
    EXPECT_LT(max_diff, 1e-6) << name;
  }
  // The removed gradient part: no component along the (old) columns.
  const auto along = (decoder_before * sae_->decoder->weight.grad()).sum(0);
  EXPECT_LT(along.abs().max().item<double>(), 1e-6);
  // Unit-norm columns after the step.
  const auto norms = sae_->decoder->weight.norm(2, 0);
  EXPECT_LT((norms - 1).abs().max().item<double>(), 1e-6);
}

TEST(SaeTrainer, DecoderConstraintsWithoutTheReference) {
  torch::manual_seed(2);
  SaeInfo info;
  info.d = 8;
  info.n_latents = 32;
  info.k = 4;
  info.layer = 1;
  TopKSae sae(info);
  auto optimizer = make_sae_optimizer(*sae, 1e-2, 6.25e-10);
  DeadLatentTracker tracker(32, 16);
  const auto h = torch::randn({24, 8}) * 5 + 1;
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    const auto before = sae->decoder->weight.detach().clone();
    const auto result = sae_train_step(*sae, *optimizer, tracker, h, /*k_aux=*/4, 1.0 / 32);
    if (step == 0) first = result.nmse;
    last = result.nmse;
    EXPECT_LT((sae->decoder->weight.norm(2, 0) - 1).abs().max().item<double>(), 1e-6);
    EXPECT_LT((before * sae->decoder->weight.grad()).sum(0).abs().max().item<double>(), 1e-5);
    EXPECT_GE(tracker.dead_fraction(), 0.0);
  }
  EXPECT_LT(last, 0.5 * first);  // it learns the repeated batch
}

TEST(SaeTrainer, OptionChecks) {
  SaeTrainOptions o;
  o.teacher = "t";
  o.data = "d";
  o.out_dir = "o";
  o.layer = 1;
  o.latents = 16;
  o.k = 4;
  EXPECT_NO_THROW(o.validate());
  auto expect_usage = [](SaeTrainOptions bad, const std::string& fragment) {
    try {
      bad.validate();
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  auto bad = o;
  bad.k = 17;
  expect_usage(bad, "--k: 17 exceeds --latents 16");
  bad = o;
  bad.layer = 0;
  expect_usage(bad, "--layer");
  bad = o;
  bad.teacher = "";
  expect_usage(bad, "--teacher");
  bad = o;
  bad.lr = -1;
  expect_usage(bad, "--lr");
  bad = o;
  bad.k_aux = 17;
  expect_usage(bad, "--k-aux");
  bad = o;
  bad.format = "bin";
  expect_usage(bad, "bin");
  EXPECT_EQ(o.to_json()["latents"], 16);
}

TEST(SaeTrainer, TeacherWeightsFile) {
  testing::TempDir dir;
  const std::string hf = dir.path() + "/hf";
  std::filesystem::create_directories(hf);
  write_file_atomically(hf + "/model.safetensors", "x");
  EXPECT_EQ(teacher_weights_file(hf), hf + "/model.safetensors");
  // A run directory: the newest complete checkpoint's file.
  const std::string run = dir.path() + "/run";
  CheckpointContents contents;
  contents.model = {{"w", torch::zeros({1})}};
  save_checkpoint(run + "/checkpoints", 3, contents, 5);
  save_checkpoint(run + "/checkpoints", 7, contents, 5);
  EXPECT_EQ(teacher_weights_file(run), run + "/checkpoints/step_00000007/model.safetensors");
  EXPECT_THROW(teacher_weights_file(dir.path() + "/nothing"), RuntimeError);
}

}  // namespace
}  // namespace cocomix
