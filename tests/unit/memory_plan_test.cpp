// The memory plan (model/memory_plan.h) against independent references: the
// parameters the real modules allocate and the state AdamW really keeps, a
// hand-worked sum for configs/ntp_69m.json, and what the autograd graph of a
// CPU training micro-step really keeps, measured by a counting CPU allocator
// (every tensor storage on the CPU is allocated through c10's CPU allocator).
#include "cocomix/model/memory_plan.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cocomix/concept/concept_labeler.h"
#include "cocomix/concept/plan_shapes.h"
#include "cocomix/concept/sae.h"
#include "cocomix/config/config.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/cocomix_model.h"
#include "cocomix/objective/objective.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/util/cpu_features.h"
#include "cocomix/util/error.h"
#include "model_config.h"
#include "temp_dir.h"
#include "test_env.h"

namespace cocomix {
namespace {

// ---- a counting CPU allocator ---------------------------------------------------

/// The live bytes of the allocations made through CountingCpuAllocator, and their
/// peak. Never destroyed: a tensor allocated while counting may be freed later.
struct AllocationCounts {
  std::mutex mutex;
  std::unordered_map<void*, size_t> sizes;
  std::atomic<int64_t> live{0};
  std::atomic<int64_t> peak{0};
  c10::Allocator* base = nullptr;  ///< the allocator it wraps (c10's default CPU allocator)
};

AllocationCounts& counts() {
  static auto* counts = new AllocationCounts;
  return *counts;
}

void counted_delete(void* pointer) {
  auto& c = counts();
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    const auto it = c.sizes.find(pointer);
    if (it != c.sizes.end()) {
      bytes = it->second;
      c.sizes.erase(it);
    }
  }
  c.live -= static_cast<int64_t>(bytes);
  c.base->raw_deallocate(pointer);
}

/// Allocates through the default CPU allocator and counts the bytes asked for
/// (exact: not malloc's rounding). Context = data, so raw_allocate works too
/// (oneDNN allocates its scratch through it).
class CountingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    auto& c = counts();
    void* pointer = c.base->raw_allocate(bytes);
    if (pointer != nullptr) {
      std::lock_guard<std::mutex> lock(c.mutex);
      c.sizes[pointer] = bytes;
    }
    const int64_t now = c.live += static_cast<int64_t>(bytes);
    int64_t peak = c.peak.load();
    while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {
    }
    return {pointer, pointer, &counted_delete, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &counted_delete; }
  void copy_data(void* dest, const void* src, size_t count) const override { default_copy_data(dest, src, count); }
};

/// Counts every CPU allocation while it lives, on one intra-op thread (the
/// kernels' per-thread scratch then does not depend on the machine).
class CountAllocations {
 public:
  CountAllocations() : threads_(torch::get_num_threads()) {
    static CountingCpuAllocator allocator;
    auto& c = counts();
    if (c.base == nullptr) c.base = c10::GetCPUAllocator();
    c10::SetCPUAllocator(&allocator, /*priority=*/255);
  }
  ~CountAllocations() {
    c10::SetCPUAllocator(counts().base, /*priority=*/255);
    torch::set_num_threads(threads_);
  }
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;

  int64_t live() const { return counts().live.load(); }
  int64_t peak() const { return counts().peak.load(); }
  void reset_peak() { counts().peak = counts().live.load(); }

 private:
  int threads_;
};

TEST(MemoryPlan, CountingAllocatorSeesTensors) {
  torch::set_num_threads(1);
  CountAllocations counting;
  const int64_t before = counting.live();
  counting.reset_peak();
  {
    const auto a = torch::empty({1000}, torch::kFloat32);
    const auto b = torch::empty({10, 10}, torch::kBFloat16);
    EXPECT_EQ(counting.live() - before, 4000 + 200);
  }
  EXPECT_EQ(counting.live(), before);
  EXPECT_EQ(counting.peak() - before, 4200);
}

// ---- configs ------------------------------------------------------------------

/// A small run on the CPU: V 512, 128 positions, d 64, 4 blocks of 4 heads, T 64, B 4;
/// C 256 concepts, k_pred 8, L_s 1, K_attr 4.
Config small_config(const std::string& mode, bool bf16, double dropout, int64_t checkpointing = 0) {
  Config config;
  config.source = "test";
  config.model = testing::model_config(512, 128, 64, 4, 4);
  config.model.dropout = dropout;
  config.data.seq_len = 64;
  config.train.batch_size = 4;
  config.train.device = "cpu";
  config.train.precision = bf16 ? "bf16" : "fp32";
  config.train.activation_checkpointing = checkpointing;
  config.concepts.mode = find_mode(mode)->mode;
  config.concepts.n_concepts = 256;
  config.concepts.k_pred = 8;
  config.concepts.k_attr = 4;
  config.concepts.insert_layer = 1;
  config.concepts.teacher_layer = 2;
  config.concepts.teacher_n_embd = 48;
  config.concepts.teacher_precision = bf16 ? "bf16" : "fp32";
  return config;
}

/// The small teacher of the concept modes: the student's vocabulary, d 48, 4 blocks of 4 heads;
/// its SAE: 192 latents, k 8, on layer 2.
FrozenShapes small_frozen() {
  FrozenShapes frozen;
  frozen.teacher = testing::model_config(512, 128, 48, 4, 4);
  frozen.sae = SaeShape{48, 192, 8, 2};
  return frozen;
}

MemoryPlanOptions cpu_options(bool bf16) {
  MemoryPlanOptions options;
  options.bf16 = bf16;
  options.cpu_amx_bf16 = cpu_has_amx_bf16();  // what model/gpt.cpp decides on this machine
  return options;
}

GPT frozen_teacher(const ModelConfig& config) {
  GPT teacher(config);
  teacher->eval();
  for (auto& parameter : teacher->parameters()) parameter.requires_grad_(false);
  return teacher;
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

// ---- parameters, gradients, AdamW ------------------------------------------------

TEST(MemoryPlan, ParameterCountsAreTheModulesOwn) {
  for (const auto& spec : mode_table()) {
    const Config config = small_config(spec.name, false, 0.1);
    torch::manual_seed(1);
    CocomixModel model(config.model, config.concepts);
    EXPECT_EQ(student_parameter_count(config), parameter_count(*model)) << spec.name;
  }
  // By hand for cocomix: GPT (V + P)·d + L·(12d² + 13d) + 2d = 40,960 + 199,936 + 128 = 241,024;
  // concept head pre_bias 64 + predictor 64·256 + 256 + compressor 256·64 + 64 = 33,152.
  EXPECT_EQ(student_parameter_count(small_config("cocomix", false, 0.1)), 241'024 + 33'152);
  EXPECT_EQ(student_parameter_count(small_config("ntp", false, 0.1)), 241'024);
  const FrozenShapes frozen = small_frozen();
  EXPECT_EQ(sae_parameter_count(frozen.sae), parameter_count(*TopKSae(SaeInfo{48, 192, 8, 2, ""})));
}

TEST(MemoryPlan, Ntp69mStateByHand) {
  const Config config = load_config(test_env_dir("COCOMIX_SOURCE_DIR") + "/configs/ntp_69m.json");
  // wte + wpe (50,257 + 1,024) x 624 = 31,999,344; 8 blocks x (12 x 624² + 13 x 624 = 4,680,624)
  // = 37,444,992; ln_f 1,248: N = 69,445,584.
  const int64_t N = 69'445'584;
  const MemoryPlan plan = plan_memory(config, FrozenShapes{}, MemoryPlanOptions{});
  EXPECT_EQ(plan.trainable_parameters, N);
  EXPECT_EQ(plan.weights_bytes, 277'782'336);   // 4N
  EXPECT_EQ(plan.gradient_bytes, 277'782'336);  // 4N
  EXPECT_EQ(plan.adamw_bytes, 555'564'672);     // 8N: exp_avg + exp_avg_sq
  EXPECT_EQ(plan.ddp_bucket_bytes, 0);
  EXPECT_EQ(plan.teacher_bytes, 0);
  EXPECT_EQ(plan.persistent_bytes, 1'111'129'344);
  MemoryPlanOptions eight;
  eight.world_size = 8;
  EXPECT_EQ(plan_memory(config, FrozenShapes{}, eight).ddp_bucket_bytes, 277'782'336);
}

TEST(MemoryPlan, AdamwKeepsTwoFp32MomentsPerParameter) {
  const Config config = small_config("cocomix", false, 0.0);
  torch::manual_seed(2);
  CocomixModel model(config.model, config.concepts);
  const auto named = named_parameters_of(*model);
  auto optimizer = make_adamw(named, config.optim);
  for (auto& parameter : model->parameters()) parameter.mutable_grad() = torch::ones_like(parameter);
  optimizer->step();
  int64_t state_bytes = 0, moments = 0;
  for (const auto& [name, tensor] : adamw_state(*optimizer, named)) {
    if (tensor.dim() == 0) continue;  // the step count
    state_bytes += tensor.numel() * static_cast<int64_t>(tensor.element_size());
    ++moments;
  }
  EXPECT_EQ(moments, 2 * static_cast<int64_t>(named.size()));
  EXPECT_EQ(plan_memory(config, FrozenShapes{}, cpu_options(false)).adamw_bytes, state_bytes);
}

// ---- activations -------------------------------------------------------------------

struct Measured {
  int64_t kept = 0;           ///< live after the forward (the graph alive, only the loss held) minus before
  int64_t peak = 0;           ///< the largest live during forward + backward minus before
  int64_t forward_peak = 0;   ///< the largest live during the forward minus before
  int64_t backward_peak = 0;  ///< the largest live during the backward minus before
};

/// One training micro-step of `objective` on random tokens, measured after a warm-up step (so the
/// gradients exist, as from the second micro-step of an optimizer step on).
Measured measure_step(Objective& objective, const Config& config, bool bf16, const FrozenShapes& frozen) {
  const int64_t B = config.train.batch_size, T = config.data.seq_len;
  torch::manual_seed(3);
  Batch batch;
  const auto tokens = torch::randint(config.model.vocab_size, {B, T + 1}, torch::kInt64);
  batch.inputs = tokens.slice(1, 0, T).contiguous();
  batch.targets = tokens.slice(1, 1).contiguous();
  const ModeSpec& mode = config.concepts.spec();
  const auto labels = mode.concept_loss
                          ? torch::randint(config.concepts.n_concepts, {B, T, config.concepts.k_attr}, torch::kInt64)
                          : torch::Tensor();
  const auto hidden = mode.hidden_target ? torch::randn({B, T, frozen.teacher.n_embd}) : torch::Tensor();
  const auto step = [&] {
    AutocastScope autocast(c10::DeviceType::CPU, bf16);
    return objective.loss_with_labels(batch, labels, hidden);
  };
  CountAllocations counting;
  torch::set_num_threads(1);
  step().loss.backward();
  Measured measured;
  const int64_t before = counting.live();
  counting.reset_peak();
  {
    ObjectiveOutput out = step();
    measured.kept = counting.live() - before;
    measured.forward_peak = counting.peak() - before;
    counting.reset_peak();
    out.loss.backward();
    measured.backward_peak = counting.peak() - before;
  }
  measured.peak = std::max(measured.forward_peak, measured.backward_peak);
  return measured;
}

Measured measure(const Config& config, bool bf16) {
  torch::manual_seed(4);
  const FrozenShapes frozen = small_frozen();
  const ModeSpec& mode = config.concepts.spec();
  CocomixModel model(config.model, config.concepts);
  model->gpt()->set_activation_checkpointing(config.train.activation_checkpointing);
  GPT teacher = mode.kd ? frozen_teacher(frozen.teacher) : GPT(nullptr);
  Objective objective(model, config.concepts, nullptr, teacher);
  return measure_step(objective, config, bf16, frozen);
}

// What the formulas leave out are scalars (the loss, its parts, running sums: a few bytes
// each), far below 1% of the kept bytes here (0.6-20 MB). 1% is the tolerance: a tensor of
// [B, T, d] fp32 left out or counted twice is 65 KB, 0.3-10% of these figures.
constexpr double kKeptTolerance = 0.01;
// The plan's peaks must cover the measured ones but for those scalars.
constexpr int64_t kScalarBytes = 256;

void expect_kept_matches(const std::string& mode, bool bf16, double dropout, int64_t checkpointing) {
  const Config config = small_config(mode, bf16, dropout, checkpointing);
  const MemoryPlan plan = plan_memory(config, small_frozen(), cpu_options(bf16));
  const Measured measured = measure(config, bf16);
  const std::string what =
      mode + (bf16 ? " bf16" : " fp32") + " dropout " + std::to_string(dropout) + " checkpointing " +
      std::to_string(checkpointing) + ": measured peak forward " + std::to_string(measured.forward_peak) +
      ", backward " + std::to_string(measured.backward_peak) + "; plan transients forward " +
      std::to_string(plan.forward_transient_bytes) + ", backward " + std::to_string(plan.backward_transient_bytes);
  EXPECT_NEAR(static_cast<double>(plan.activation_bytes), static_cast<double>(measured.kept),
              kKeptTolerance * static_cast<double>(measured.kept))
      << what;
  // The transients are estimates: the plan's step peak must cover the measured one and not
  // exceed it by more than a third (the estimate takes every transient at its largest moment).
  EXPECT_GE(plan.step_peak_bytes, measured.peak - kScalarBytes) << what;
  EXPECT_LE(static_cast<double>(plan.step_peak_bytes), 1.34 * static_cast<double>(measured.peak)) << what;
}

TEST(MemoryPlan, ActivationsNtpFp32) {
  expect_kept_matches("ntp", false, 0.1, 0);  // CPU math attention: keeps [B, nh, T, T]
  expect_kept_matches("ntp", false, 0.0, 0);  // CPU flash attention
}

TEST(MemoryPlan, ActivationsNtpBf16) {
  expect_kept_matches("ntp", true, 0.1, 0);
  expect_kept_matches("ntp", true, 0.0, 0);
}

TEST(MemoryPlan, ActivationsCocomix) {
  expect_kept_matches("cocomix", false, 0.1, 0);
  expect_kept_matches("cocomix", true, 0.1, 0);
  expect_kept_matches("cocomix", true, 0.0, 0);
}

TEST(MemoryPlan, ActivationsOtherModes) {
  for (const char* mode :
       {"intervention", "concept_loss_only", "insertion_only", "kd", "pause", "pause_kd", "hidden_prediction"})
    expect_kept_matches(mode, false, 0.1, 0);
}

TEST(MemoryPlan, CheckpointingKeepsBlockInputsOnly) {
  for (const char* mode : {"ntp", "cocomix"}) {
    for (const bool bf16 : {false, true}) {
      const auto kept = [&](int64_t every) {
        return plan_memory(small_config(mode, bf16, 0.1, every), small_frozen(), cpu_options(bf16)).activation_bytes;
      };
      EXPECT_LT(kept(1), kept(2)) << mode;
      EXPECT_LT(kept(2), kept(0)) << mode;
      expect_kept_matches(mode, bf16, 0.1, 1);
      expect_kept_matches(mode, bf16, 0.1, 2);
    }
  }
}

TEST(MemoryPlan, CudaBlockClosedForm) {
  // CUDA bf16 with dropout: 38·Nd + 16N + 4·B·nh·S (memory_plan.h), here GPT-2 small at B 8, T 1024.
  const BlockShape shape{8, 1024, 768, 12, 0.1, /*cuda=*/true, /*bf16=*/true, false};
  const int64_t N = 8 * 1024;
  EXPECT_EQ(block_activation_bytes(shape), 38 * N * 768 + 16 * N + 4 * 8 * 12 * 1024);
  // d 2096 over 16 heads: head size 131, padded to 136 for flash: q, k, v and the output padded
  // (4 x 2 bytes x B·nh·S·136) + the log-sum-exp; c_proj's input is then a copy (2·Nd).
  const BlockShape padded{8, 1024, 2096, 16, 0.1, true, true, false};
  EXPECT_EQ(attention_bytes(padded), 4 * 2 * 8 * 16 * 1024 * 136 + 4 * 8 * 16 * 1024);
  EXPECT_EQ(block_activation_bytes(padded), 32 * N * 2096 + 16 * N + attention_bytes(padded));
  EXPECT_EQ(attention_kernel(true, 0.1), AttentionKernel::kCudaFused);
  EXPECT_EQ(attention_kernel(false, 0.1), AttentionKernel::kCpuMath);
  EXPECT_EQ(attention_kernel(false, 0.0), AttentionKernel::kCpuFlash);
}

// ---- the labeler --------------------------------------------------------------------

TEST(MemoryPlan, LabelerPeak) {
  for (const bool bf16 : {false, true}) {
    const Config config = small_config("cocomix", bf16, 0.1);
    const FrozenShapes frozen = small_frozen();
    const MemoryPlan plan = plan_memory(config, frozen, cpu_options(bf16));
    torch::manual_seed(5);
    const auto& s = frozen.sae;
    ConceptLabeler labeler(frozen_teacher(frozen.teacher), TopKSae(SaeInfo{s.d, s.n_latents, s.k, s.layer, ""}),
                           config.concepts.k_attr, config.concepts.selection,
                           bf16 ? TeacherPrecision::kBf16 : TeacherPrecision::kFp32);
    const auto inputs = torch::randint(512, {config.train.batch_size, config.data.seq_len}, torch::kInt64);
    CountAllocations counting;
    torch::set_num_threads(1);
    labeler.label(inputs);
    const int64_t before = counting.live();
    counting.reset_peak();
    labeler.label(inputs);
    const int64_t peak = counting.peak() - before;
    EXPECT_GE(plan.labeler_peak_bytes, peak - kScalarBytes) << (bf16 ? "bf16" : "fp32");
    EXPECT_LE(static_cast<double>(plan.labeler_peak_bytes), 1.34 * static_cast<double>(peak))
        << (bf16 ? "bf16" : "fp32");
  }
}

// ---- the plan as a whole ------------------------------------------------------------

TEST(MemoryPlan, TotalIsTheSumOfItsPartsAndTheLargestBatchFits) {
  Config config = small_config("cocomix", true, 0.1);
  config.train.device = "cuda";
  const FrozenShapes frozen = small_frozen();
  MemoryPlanOptions options;
  options.gpu_gib = 3;
  const MemoryPlan plan = plan_memory(config, frozen, options);
  EXPECT_EQ(plan.persistent_bytes, plan.weights_bytes + plan.gradient_bytes + plan.adamw_bytes + plan.ddp_bucket_bytes +
                                       plan.teacher_bytes + plan.sae_bytes);
  int64_t parts = 0;
  for (const auto& part : plan.activation_parts) parts += part.second;
  EXPECT_EQ(plan.activation_bytes, parts);
  EXPECT_EQ(plan.total_bytes,
            plan.persistent_bytes + plan.batch_bytes + std::max(plan.step_peak_bytes, plan.labeler_peak_bytes));
  ASSERT_GT(plan.max_batch_size, 0);
  config.train.batch_size = plan.max_batch_size;
  EXPECT_LE(plan_memory(config, frozen, options).total_bytes, plan.usable_bytes);
  config.train.batch_size = plan.max_batch_size + 1;
  EXPECT_GT(plan_memory(config, frozen, options).total_bytes, plan.usable_bytes);
  // 3 GiB - (2 GiB + 10%) = 0.7 GiB usable.
  EXPECT_NEAR(plan.usable_bytes, 0.7 * (int64_t{1} << 30), 1.0);
  EXPECT_THROW(plan_memory(config, frozen, MemoryPlanOptions{true, false, 1, 0.0}), UsageError);
  EXPECT_THROW(plan_memory(config, frozen, MemoryPlanOptions{true, false, 1, -1.0}), UsageError);
  const auto json = memory_plan_json(plan);
  EXPECT_EQ(json.at("total_bytes").get<int64_t>(), plan.total_bytes);
  EXPECT_NE(memory_plan_table(plan).find("largest train.batch_size that fits"), std::string::npos);
}

TEST(MemoryPlan, FrozenShapesFromFilesOrAssumed) {
  testing::TempDir dir;
  Config config = small_config("cocomix", false, 0.1);
  config.concepts.teacher_path = dir.path() + "/teacher";
  config.concepts.sae_path = dir.path() + "/sae";
  FrozenShapes assumed = frozen_shapes_of(config);
  EXPECT_EQ(assumed.teacher.n_embd, 768);  // GPT-2 small
  EXPECT_EQ(assumed.teacher.n_layer, 12);
  EXPECT_EQ(assumed.sae.n_latents, 256);  // concept.n_concepts
  EXPECT_EQ(assumed.sae.layer, 6);
  ASSERT_EQ(assumed.notes.size(), 2u);
  EXPECT_NE(assumed.notes[0].find("GPT-2 small assumed"), std::string::npos);

  std::filesystem::create_directories(config.concepts.teacher_path);
  std::filesystem::create_directories(config.concepts.sae_path);
  std::ofstream(config.concepts.teacher_path + "/config.json")
      << R"({"model_type": "gpt2", "vocab_size": 512, "n_positions": 128, "n_embd": 48, "n_layer": 3, "n_head": 4})";
  std::ofstream(config.concepts.sae_path + "/sae.json") << R"({"d": 48, "n_latents": 192, "k": 8, "layer": 2})";
  // Both files there: the pair is checked as training checks it (here concept.n_concepts 256 != 192 latents).
  EXPECT_THROW(frozen_shapes_of(config), UsageError);
  config.concepts.n_concepts = 192;
  const FrozenShapes read = frozen_shapes_of(config);
  EXPECT_EQ(read.teacher.n_embd, 48);
  EXPECT_EQ(read.teacher.n_layer, 3);
  EXPECT_EQ(read.sae.n_latents, 192);
  EXPECT_EQ(read.sae.k, 8);
  EXPECT_EQ(read.sae.layer, 2);
  // ntp runs neither: nothing read, nothing noted.
  config.concepts.mode = Mode::kNtp;
  EXPECT_TRUE(frozen_shapes_of(config).notes.empty());
}

}  // namespace
}  // namespace cocomix
