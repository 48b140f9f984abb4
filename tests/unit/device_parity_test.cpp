// The CUDA path against the CPU reference on the same weights: the GPT, the
// objective of every concept mode (student, teacher, SAE labeler), the labels
// and their scores, the chunked LM-head loss, fused AdamW, one whole optimizer
// step, the RNG state a checkpoint saves, the step's single wait for the
// device, and the step over a one-rank NCCL group. fp32 runs with TF32 off and
// tight tolerances; bf16 autocast with looser ones, stated at each check.
//
// Every test is instantiated for "cpu" too: two copies built from the same seed
// on the CPU must then agree bitwise, which checks the harness itself where no
// GPU is present. The "cuda" instances skip without a GPU (scripts/gpu_check.sh
// runs them: --gtest_filter='*/cuda').
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "cocomix/concept/concept_labeler.h"
#include "cocomix/concept/label_source.h"
#include "cocomix/concept/sae.h"
#include "cocomix/config/config.h"
#include "cocomix/config/mode.h"
#include "cocomix/dist/gradient_reducer.h"
#include "cocomix/dist/process_group.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/cocomix_model.h"
#include "cocomix/model/cross_entropy.h"
#include "cocomix/model/gpt.h"
#include "cocomix/objective/objective.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/train/rng_state.h"
#include "cocomix/train/train_step.h"
#include "free_port.h"

#ifdef COCOMIX_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <c10/util/Exception.h>
#endif

namespace cocomix {
namespace {

constexpr int64_t kVocab = 97, kPositions = 32, kBatch = 2, kSeq = 16;
constexpr int64_t kTeacherWidth = 48, kConcepts = 64, kSaeK = 8, kSaeLayer = 1;

/// The device of the instance; skips the test when it is CUDA and there is none.
class DeviceParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "cuda" && !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  torch::Device device() const { return torch::Device(GetParam() == "cuda" ? "cuda:0" : "cpu"); }
  bool on_cpu() const { return GetParam() == "cpu"; }
  /// A tolerance that is 0 on the CPU instance (two copies on one device agree bitwise).
  double tolerance(double cuda_tolerance) const { return on_cpu() ? 0.0 : cuda_tolerance; }
  Tf32Scope exact_fp32_{false};  // the fp32 comparisons run without TF32
};

/// max |a - b| / max |b| (0 when both are 0), `a` brought to the CPU.
double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  const auto reference = b.detach().cpu().to(torch::kFloat64);
  const auto difference = (a.detach().cpu().to(torch::kFloat64) - reference).abs().max().item<double>();
  const double scale = reference.abs().max().item<double>();
  return scale == 0 ? difference : difference / scale;
}

ModelConfig student_model() {
  ModelConfig model;
  model.vocab_size = kVocab;
  model.n_positions = kPositions;
  model.n_embd = 32;
  model.n_layer = 3;
  model.n_head = 4;
  model.dropout = 0;  // the two devices draw different dropout masks
  return model;
}

ModelConfig teacher_model() {
  ModelConfig model = student_model();
  model.n_embd = kTeacherWidth;
  model.n_layer = 2;
  return model;
}

ConceptConfig concepts_of(Mode mode) {
  ConceptConfig concepts;
  concepts.mode = mode;
  concepts.n_concepts = kConcepts;
  concepts.k_pred = 6;
  concepts.k_attr = 4;
  concepts.insert_layer = 1;
  concepts.weight = 0.5;
  concepts.teacher_precision = "fp32";
  concepts.teacher_layer = kSaeLayer;
  concepts.teacher_n_embd = kTeacherWidth;
  return concepts;
}

Batch random_batch(uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  const auto tokens = torch::randint(kVocab, {kBatch, kSeq + 1}, generator, torch::kInt64);  // [B, T+1]
  Batch batch;
  batch.inputs = tokens.slice(1, 0, -1).contiguous();
  batch.targets = tokens.slice(1, 1).contiguous();
  return batch;
}

Batch on(const Batch& batch, const torch::Device& device) {
  Batch moved = batch;
  moved.inputs = batch.inputs.to(device);
  moved.targets = batch.targets.to(device);
  return moved;
}

GPT frozen_teacher() {
  GPT teacher(teacher_model());
  teacher->eval();
  for (auto& parameter : teacher->parameters()) parameter.requires_grad_(false);
  return teacher;
}

TopKSae random_sae() {
  SaeInfo info;
  info.d = kTeacherWidth;
  info.n_latents = kConcepts;
  info.k = kSaeK;
  info.layer = kSaeLayer;
  return TopKSae(info);
}

/// The objective of `mode` with a random teacher and SAE, drawn after manual_seed(seed), on `device`.
std::unique_ptr<Objective> build_objective(Mode mode, const torch::Device& device, uint64_t seed = 3) {
  torch::manual_seed(seed);
  const auto concepts = concepts_of(mode);
  const ModeSpec& spec = mode_spec(mode);
  GPT teacher = frozen_teacher();
  std::unique_ptr<LabelSource> labels;
  if (spec.concept_loss)
    labels = std::make_unique<OnlineLabels>(std::make_unique<ConceptLabeler>(
        frozen_teacher(), random_sae(), concepts.k_attr, concepts.selection, TeacherPrecision::kFp32));
  CocomixModel student(student_model(), concepts);
  auto objective = std::make_unique<Objective>(student, concepts, std::move(labels),
                                               spec.needs_teacher(false) ? teacher : GPT(nullptr));
  objective->to(device);
  return objective;
}

/// Loss, named parts and every gradient of one forward + backward.
struct Pass {
  torch::Tensor loss;
  std::vector<std::pair<std::string, torch::Tensor>> parts;
  std::vector<std::pair<std::string, torch::Tensor>> grads;
};

Pass forward_backward(Objective& objective, const Batch& batch, bool bf16) {
  Pass pass;
  {
    AutocastScope autocast(batch.inputs.device().type(), bf16);
    const auto out = objective.compute(batch);
    pass.loss = out.loss;
    pass.parts = out.parts;
  }
  pass.loss.backward();
  for (const auto& item : objective.model()->named_parameters())
    if (item.value().grad().defined()) pass.grads.emplace_back(item.key(), item.value().grad());
  return pass;
}

void expect_passes_agree(const Pass& device_pass, const Pass& cpu_pass, double loss_tolerance, double grad_tolerance,
                         const std::string& what) {
  EXPECT_LE(relative_difference(device_pass.loss, cpu_pass.loss), loss_tolerance) << what << ": loss";
  ASSERT_EQ(device_pass.parts.size(), cpu_pass.parts.size()) << what;
  for (size_t i = 0; i < cpu_pass.parts.size(); ++i)
    EXPECT_LE(relative_difference(device_pass.parts[i].second, cpu_pass.parts[i].second), loss_tolerance)
        << what << ": " << cpu_pass.parts[i].first;
  ASSERT_EQ(device_pass.grads.size(), cpu_pass.grads.size()) << what;
  ASSERT_FALSE(cpu_pass.grads.empty()) << what;
  for (size_t i = 0; i < cpu_pass.grads.size(); ++i)
    EXPECT_LE(relative_difference(device_pass.grads[i].second, cpu_pass.grads[i].second), grad_tolerance)
        << what << ": gradient of " << cpu_pass.grads[i].first;
}

TEST_P(DeviceParity, GptForwardAndBackward) {
  const auto batch = random_batch(1);
  for (const bool bf16 : {false, true}) {
    torch::manual_seed(2);
    GPT reference(student_model());
    torch::manual_seed(2);
    GPT model(student_model());
    model->to(device());
    const auto run = [&](GPT& gpt, const Batch& b) {
      AutocastScope autocast(b.inputs.device().type(), bf16);
      const auto logits = gpt->forward(b.inputs);  // [B, T, V]
      const auto loss = fused_cross_entropy(logits.reshape({-1, kVocab}).to(torch::kFloat32), b.targets.reshape({-1}));
      loss.backward();
      return std::make_pair(logits, loss);
    };
    const auto [logits, loss] = run(model, on(batch, device()));
    const auto [reference_logits, reference_loss] = run(reference, batch);
    // fp32: summation order only; bf16: products rounded to 8 bits of mantissa on each device in its own order.
    EXPECT_LE(relative_difference(logits, reference_logits), tolerance(bf16 ? 3e-2 : 1e-5)) << "bf16 " << bf16;
    EXPECT_LE(relative_difference(loss, reference_loss), tolerance(bf16 ? 1e-2 : 1e-6)) << "bf16 " << bf16;
    const auto params = model->parameters(), reference_params = reference->parameters();
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_LE(relative_difference(params[i].grad(), reference_params[i].grad()), tolerance(bf16 ? 6e-2 : 1e-4))
          << "parameter " << i << ", bf16 " << bf16;
  }
}

TEST_P(DeviceParity, ObjectiveOfEveryMode) {
  const auto batch = random_batch(4);
  for (const auto& spec : mode_table()) {
    for (const bool bf16 : {false, true}) {
      const auto reference = build_objective(spec.mode, torch::kCPU);
      const auto objective = build_objective(spec.mode, device());
      const auto cpu_pass = forward_backward(*reference, batch, bf16);
      const auto device_pass = forward_backward(*objective, on(batch, device()), bf16);
      // The concept labels are a top-k of attribution scores: the fp32 teacher runs in fp32 under either
      // student precision, so the labels agree and only the student's arithmetic differs.
      expect_passes_agree(device_pass, cpu_pass, tolerance(bf16 ? 2e-2 : 1e-5), tolerance(bf16 ? 8e-2 : 2e-4),
                          std::string(spec.name) + (bf16 ? " bf16" : " fp32"));
    }
  }
}

TEST_P(DeviceParity, ConceptLabelsAndScores) {
  for (const auto selection :
       {LabelSelection::kAttribution, LabelSelection::kAttributionPre, LabelSelection::kActivation}) {
    const auto build = [&](const torch::Device& device) {
      torch::manual_seed(6);
      GPT teacher = frozen_teacher();
      auto labeler = std::make_unique<ConceptLabeler>(teacher, random_sae(), 4, selection, TeacherPrecision::kFp32);
      labeler->to(device);
      return labeler;
    };
    const auto batch = random_batch(7);
    const auto reference = build(torch::kCPU)->label(batch.inputs);
    const auto labels = build(device())->label(batch.inputs.to(device()));
    const std::string what = name_of(selection);
    EXPECT_LE(relative_difference(labels.teacher_loss, reference.teacher_loss), tolerance(1e-6)) << what;
    EXPECT_LE(relative_difference(labels.hidden_grad, reference.hidden_grad), tolerance(1e-4)) << what;
    if (selection == LabelSelection::kAttribution) {
      EXPECT_TRUE(torch::equal(labels.kept.cpu(), reference.kept)) << what;
      EXPECT_LE(relative_difference(labels.kept_scores, reference.kept_scores), tolerance(1e-4)) << what;
    } else {
      EXPECT_LE(relative_difference(labels.scores, reference.scores), tolerance(1e-4)) << what;
    }
    // The label sets: identical wherever the K_attr-th and (K_attr+1)-th scores are not within rounding of a
    // tie; with random weights in fp32 none is, so every set must match.
    const auto sorted = std::get<0>(labels.labels.cpu().sort(-1));
    const auto sorted_reference = std::get<0>(reference.labels.sort(-1));
    EXPECT_TRUE(torch::equal(sorted, sorted_reference)) << what;
  }
}

TEST_P(DeviceParity, ChunkedLmHeadLossAtGpt2Vocabulary) {
  // The real vocabulary: the chunking of the [N, V] logits is what this checks.
  constexpr int64_t V = 50257, d = 64, N = 96;
  auto generator = at::detail::createCPUGenerator(8);
  const auto hidden = torch::randn({N, d}, generator);
  const auto weight = torch::randn({V, d}, generator) * 0.05;
  const auto targets = torch::randint(V, {N}, generator, torch::kInt64);
  const auto run = [&](const torch::Device& device) {
    auto h = hidden.to(device).requires_grad_(true);
    auto w = weight.to(device).requires_grad_(true);
    const auto loss = linear_cross_entropy(h, w, targets.to(device), /*chunk_logits=*/20 * V);  // 5 chunks
    loss.backward();
    return std::make_tuple(loss, h.grad(), w.grad());
  };
  const auto [loss, h_grad, w_grad] = run(device());
  const auto [reference_loss, reference_h_grad, reference_w_grad] = run(torch::kCPU);
  EXPECT_LE(relative_difference(loss, reference_loss), tolerance(1e-6));
  EXPECT_LE(relative_difference(h_grad, reference_h_grad), tolerance(1e-5));
  EXPECT_LE(relative_difference(w_grad, reference_w_grad), tolerance(1e-5));
}

TEST_P(DeviceParity, FusedAdamWSteps) {
  OptimConfig optim;
  optim.lr = 1e-2;
  const auto build = [&](const torch::Device& device) {
    torch::manual_seed(9);
    GPT model(student_model());
    model->to(device);
    return model;
  };
  GPT model = build(device()), reference = build(torch::kCPU);
  const auto named = named_parameters_of(*model), reference_named = named_parameters_of(*reference);
  auto optimizer = make_adamw(named, optim), reference_optimizer = make_adamw(reference_named, optim);
  auto generator = at::detail::createCPUGenerator(10);
  for (int step = 0; step < 3; ++step) {
    const auto params = model->parameters(), reference_params = reference->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      const auto grad = torch::randn(reference_params[i].sizes(), generator) * 0.1;
      reference_params[i].mutable_grad() = grad.clone();
      params[i].mutable_grad() = grad.to(device());
    }
    optimizer->step();
    reference_optimizer->step();
  }
  const auto params = model->parameters(), reference_params = reference->parameters();
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_LE(relative_difference(params[i], reference_params[i]), tolerance(1e-6)) << "parameter " << i;
}

TEST_P(DeviceParity, OneOptimizerStepOfCocomix) {
  Config config;
  config.train.grad_accum_steps = 2;
  config.optim.lr = 1e-3;
  config.train.tf32 = false;
  const auto run = [&](const torch::Device& device) {
    auto objective = build_objective(Mode::kCocomix, device);
    const auto named = named_parameters_of(*objective->model());
    auto optimizer = make_adamw(named, config.optim);
    ReplicaSync single;
    int64_t micro = 0;
    const auto next_batch = [&] { return on(random_batch(20 + static_cast<uint64_t>(micro++)), device); };
    const auto result = run_optimizer_step(*objective, *optimizer, single, objective->model()->parameters(), next_batch,
                                           step_options_for(config, device.type()));
    return std::make_pair(result, objective->model()->parameters());
  };
  const auto [result, params] = run(device());
  const auto [reference_result, reference_params] = run(torch::kCPU);
  EXPECT_NEAR(result.loss, reference_result.loss, tolerance(1e-5) * std::abs(reference_result.loss));
  EXPECT_NEAR(result.grad_norm, reference_result.grad_norm, tolerance(1e-4) * reference_result.grad_norm);
  EXPECT_FALSE(result.skipped);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_LE(relative_difference(params[i], reference_params[i]), tolerance(1e-5)) << "parameter " << i;
}

TEST_P(DeviceParity, RngStateRestoresTheDrawsOfTheDevice) {
  // What a checkpoint saves and a resume restores: the next dropout masks on this device.
  torch::manual_seed(12);
  (void)torch::rand({5}, torch::TensorOptions().device(device()));
  const auto state = capture_rng_state();
  const auto draws = torch::rand({64}, torch::TensorOptions().device(device())).cpu();
  (void)torch::rand({1000}, torch::TensorOptions().device(device()));
  restore_rng_state(state, "test");
  EXPECT_TRUE(torch::equal(torch::rand({64}, torch::TensorOptions().device(device())).cpu(), draws));
}

#ifdef COCOMIX_WITH_CUDA
/// Counts the warnings CUDA's sync debug mode raises for operations that wait for the device.
class SyncCounter : public c10::WarningHandler {
 public:
  void process(const c10::Warning& warning) override {
    if (warning.msg().find("synchroniz") != std::string::npos) ++count;
  }
  int count = 0;
};
#endif

TEST_P(DeviceParity, AnOptimizerStepWaitsForTheDeviceOnce) {
  if (on_cpu()) GTEST_SKIP() << "a CPU step never waits for a device";
#ifdef COCOMIX_WITH_CUDA
  Config config;
  config.train.grad_accum_steps = 4;
  auto objective = build_objective(Mode::kCocomix, device());
  auto optimizer = make_adamw(named_parameters_of(*objective->model()), config.optim);
  ReplicaSync single;
  const auto batch = on(random_batch(30), device());
  const auto step = [&] {
    return run_optimizer_step(
        *objective, *optimizer, single, objective->model()->parameters(), [&] { return batch; },
        step_options_for(config, c10::DeviceType::CUDA));
  };
  step();  // the first step allocates AdamW's state
  torch::cuda::synchronize();
  SyncCounter counter;
  c10::WarningUtils::WarningHandlerGuard guard(&counter);
  c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_WARN);
  step();
  c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
  EXPECT_EQ(counter.count, 1) << "waits for the device in one step of 4 micro-steps";
#endif
}

TEST_P(DeviceParity, OptimizerStepOverAOneRankGroup) {
  // gloo on the CPU instance, NCCL on CUDA: the group's collectives, the gradient buckets and the step.
  LaunchEnv env;
  env.launcher = "torchrun";
  env.master_addr = "127.0.0.1";
  env.master_port = testing::free_port();
  DistConfig dist;
  dist.backend = on_cpu() ? "gloo" : "nccl";
  dist.timeout_seconds = 60;
  const auto group = ProcessGroup::create(env, dist, "digest", device(), "test");
  EXPECT_EQ(group->backend(), dist.backend);
  Config config;
  config.train.grad_accum_steps = 2;
  config.train.tf32 = false;
  const auto run = [&](ReplicaSync* sync, const torch::Device& device) {
    auto objective = build_objective(Mode::kCocomix, device);
    auto parameters = objective->model()->parameters();
    auto optimizer = make_adamw(named_parameters_of(*objective->model()), config.optim);
    std::unique_ptr<GradientReducer> reducer;
    ReplicaSync single;
    if (sync == nullptr) {
      reducer = std::make_unique<GradientReducer>(group, parameters, dist);
      sync = reducer.get();
    }
    int64_t micro = 0;
    const auto next_batch = [&] { return on(random_batch(40 + static_cast<uint64_t>(micro++)), device); };
    const auto result = run_optimizer_step(*objective, *optimizer, *sync, parameters, next_batch,
                                           step_options_for(config, device.type()));
    return std::make_pair(result, objective->model()->parameters());
  };
  ReplicaSync single;
  const auto [grouped, params] = run(nullptr, device());
  const auto [alone, alone_params] = run(&single, device());
  // One rank's mean is its own value: the group changes nothing but the path the gradients take.
  EXPECT_EQ(grouped.loss, alone.loss);
  EXPECT_NEAR(grouped.grad_norm, alone.grad_norm, 1e-6 * alone.grad_norm);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_LE(relative_difference(params[i], alone_params[i]), 1e-6) << "parameter " << i;
}

std::string device_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(Devices, DeviceParity, ::testing::Values("cpu", "cuda"), device_name);

}  // namespace
}  // namespace cocomix
