// cocomix-bench: times the trainer's optimizer step (run_optimizer_step, the
// code training runs) on random tokens for a config, on train.device, and the
// matmul peak of the same precision there (2048^3 on CPU, 8192^3 on CUDA), and
// prints one JSON object; on CUDA with the step's peak GPU memory. bench/run_benchmarks.py runs it
// next to the same step in eager PyTorch. Any concept.mode benches (teacher and
// SAE loaded, or with concept.label_cache the labels read from the cache every
// step, for the first train.batch_size windows of data.train_path: no teacher in
// the loop); FLOPs and MFU count the student GPT only. The breakdown: the AdamW
// update alone, and the concept labels' parts (teacher below L_t, SAE encode;
// the rest of the labeler is the teacher above L_t with the attribution
// backward, and the scoring), each timed alone on the same batch.
//   cocomix-bench --config FILE [--set k=v]... [--steps N] [--warmup N]
// The data subcommand times the trainer's data path instead, on the corpus SPEC
// in place of data.train_path: opening it (time, resident memory), the window
// sampler per window, TrainingData::next_batch per micro-batch of the config,
// and the shards mapped and files open after one window of every shard has been
// read (bench/corpus_scale.py runs it on a synthetic corpus of sparse shards).
//   cocomix-bench data --config FILE --data SPEC [--set k=v]... [--windows N] [--batches N]
// --plan prints the memory plan of the config instead (model/memory_plan.h): per
// GPU the weights, gradients, AdamW state, teacher and SAE, the activations of a
// micro-batch and the largest train.batch_size that fits; arithmetic only, no
// model is built and no GPU is needed (docs/distributed.md, "Memory plan").
//   cocomix-bench --plan --config FILE [--set k=v]... [--gpu-memory GIB] [--world-size N] [--json]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cocomix/concept/label_cache.h"
#include "cocomix/concept/plan_shapes.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/config/config.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/shard_windows.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/data/training_data.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/flops.h"
#include "cocomix/model/memory_plan.h"
#include "cocomix/objective/make_objective.h"
#include "cocomix/objective/objective.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/train/train_step.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/cpu_features.h"
#include "cocomix/util/error.h"
#include "cocomix/util/system.h"

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// A "VmRSS" / "VmHWM" line of /proc/self/status, in bytes.
int64_t proc_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream value(line.substr(field.size() + 1));
    int64_t kib = 0;
    if (value >> kib) return kib * 1024;
  }
  throw cocomix::RuntimeError("/proc/self/status: no " + field + " line");
}

/// Sets VmHWM back to the current RSS (Linux 4.0+), so that it measures the peak of what follows.
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

/// Which of `paths` this process has mapped (/proc/self/maps) and holds open (/proc/self/fd).
std::pair<std::set<std::string>, std::set<std::string>> mapped_and_open(const std::set<std::string>& paths) {
  std::set<std::string> mapped, open;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && paths.count(line.substr(slash))) mapped.insert(line.substr(slash));
  }
  std::error_code error;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    const auto target = std::filesystem::read_symlink(fd.path(), error);
    if (!error && paths.count(target.string())) open.insert(target.string());
  }
  return {mapped, open};
}

/// The data subcommand: what the trainer's data path costs on `config`'s corpus.
nlohmann::json bench_data(const cocomix::Config& config, int64_t windows, int64_t batches) {
  const auto format = cocomix::parse_token_format(config.data.format);
  const int64_t rss_before = proc_status_bytes("VmRSS");
  reset_peak_rss();
  auto start = std::chrono::steady_clock::now();
  const auto corpus = cocomix::TokenCorpus::open(config.data.train_path, "train", format);
  const double open_seconds = seconds_since(start);
  const int64_t open_rss = proc_status_bytes("VmRSS") - rss_before;
  const int64_t open_peak_rss = proc_status_bytes("VmHWM") - rss_before;

  start = std::chrono::steady_clock::now();
  cocomix::WindowSampler sampler(corpus.shard_tokens(), config.data.seq_len,
                                 cocomix::parse_window_order(config.data.sampling, "data.sampling"), config.train.seed);
  const double sampler_setup_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  int64_t checksum = 0;  // keeps the loop from being optimised away
  for (int64_t i = 0; i < windows; ++i) checksum += sampler.next(1)[0];
  const double sampler_window_seconds = seconds_since(start) / static_cast<double>(windows);

  // The trainer's own path: TrainingData opens the corpus again and reads a micro-batch per call.
  start = std::chrono::steady_clock::now();
  cocomix::TrainingData data(config, /*rank=*/0, /*world_size=*/1);
  const double training_data_setup_seconds = seconds_since(start);
  const auto& source = data.sources().front().corpus;
  std::set<size_t> shards_read;
  std::vector<double> batch_times;
  for (int64_t i = 0; i < batches; ++i) {
    start = std::chrono::steady_clock::now();
    const auto batch = data.next_batch(config.train.batch_size, config.model.vocab_size);
    batch_times.push_back(seconds_since(start));
    for (const int64_t window : batch.starts) shards_read.insert(source.shard_of(window));
  }
  double batch_total = 0;
  for (const double time : batch_times) batch_total += time;
  const double batch_seconds = batch_total / static_cast<double>(batches);
  // One window of every shard, so that every shard has been mapped once.
  std::vector<int64_t> tokens(static_cast<size_t>(config.data.seq_len + 1));
  for (size_t shard = 0; shard < source.shards().size(); ++shard) {
    if (source.shards()[shard].layout.tokens < config.data.seq_len + 1) continue;
    source.read(source.shard_begin(shard), config.data.seq_len + 1, tokens.data());
    shards_read.insert(shard);
  }
  std::set<std::string> shard_paths;
  for (const auto& shard : source.shards())
    shard_paths.insert(std::filesystem::absolute(shard.path).lexically_normal());
  const auto [mapped, open] = mapped_and_open(shard_paths);

  return {{"data", config.data.train_path},
          {"shards", corpus.shards().size()},
          {"tokens", corpus.size()},
          {"seq_len", config.data.seq_len},
          {"batch_size", config.train.batch_size},
          {"grad_accum_steps", config.train.grad_accum_steps},
          {"open_seconds", open_seconds},
          {"open_rss_bytes", open_rss},
          {"open_peak_rss_bytes", open_peak_rss},
          {"sampler_setup_seconds", sampler_setup_seconds},
          {"sampler_window_seconds", sampler_window_seconds},
          {"training_data_setup_seconds", training_data_setup_seconds},
          {"batch_seconds", batch_seconds},
          {"batch_seconds_median", median(batch_times)},
          {"batch_seconds_max", *std::max_element(batch_times.begin(), batch_times.end())},
          {"step_data_seconds", batch_seconds * static_cast<double>(config.train.grad_accum_steps)},
          {"shards_read", shards_read.size()},
          {"mapped_shards", mapped.size()},
          {"open_shard_files", open.size()},
          {"max_mapped_shards", cocomix::TokenCorpus::kMaxOpenShards},
          {"reading_rss_bytes", proc_status_bytes("VmRSS") - rss_before},
          {"checksum", checksum}};
}

/// The --plan branch: the memory plan of `config` for a GPU of `gpu_gib` GiB, as a table or one JSON object.
cocomix::ExitCode print_memory_plan(const cocomix::Config& config, const std::string& config_path, double gpu_gib,
                                    int64_t world_size, bool json) {
  const auto device = config.train.device == "cuda" ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
  cocomix::MemoryPlanOptions options;
  options.bf16 = cocomix::resolve_precision(config.train.precision, device) == "bf16";
  options.cpu_amx_bf16 = device == c10::DeviceType::CPU && cocomix::cpu_has_amx_bf16();
  options.world_size = world_size;
  options.gpu_gib = gpu_gib;
  const auto plan = cocomix::plan_memory(config, cocomix::frozen_shapes_of(config), options);
  if (json) {
    auto out = cocomix::memory_plan_json(plan);
    out["config"] = config_path;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("memory plan of %s per GPU (one data-parallel rank)\n%s", config_path.c_str(),
                cocomix::memory_plan_table(plan).c_str());
  }
  return cocomix::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark one training step of a config", "cocomix-bench"};
  std::string config_path;
  std::vector<std::string> overrides;
  int64_t steps = 5;
  int64_t warmup = 2;
  app.add_option("--config", config_path, "JSON config (model, data.seq_len, train.batch_size/precision/threads)")
      ->required();
  app.add_option("--set", overrides, "override one config field (repeatable)");
  app.add_option("--steps", steps, "timed steps (the median is reported)")
      ->capture_default_str()
      ->check(cocomix::positive());
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str()->check(cocomix::non_negative());
  std::string data_spec;
  int64_t timed_windows = 100000;
  int64_t timed_batches = 2000;
  auto* data = app.add_subcommand("data",
                                  "time the data path instead (with the top-level --config and --set): opening "
                                  "--data, the sampler, TrainingData::next_batch");
  data->fallthrough();  // --config and --set may follow the subcommand's name
  data->add_option("--data", data_spec, "corpus in place of data.train_path: token file, directory or glob")
      ->required();
  data->add_option("--windows", timed_windows, "sampler windows timed")
      ->capture_default_str()
      ->check(cocomix::positive());
  data->add_option("--batches", timed_batches, "micro-batches timed")
      ->capture_default_str()
      ->check(cocomix::positive());
  bool plan = false, plan_json = false;
  double gpu_gib = 80;
  int64_t world_size = 1;
  app.add_flag("--plan", plan, "print the memory plan per GPU instead of timing (arithmetic, no GPU needed)");
  const CLI::Validator positive_gib(
      [](std::string& value) {
        char* end = nullptr;
        const double gib = std::strtod(value.c_str(), &end);
        const bool ok = end != value.c_str() && *end == '\0' && gib > 0 && std::isfinite(gib);
        return ok ? std::string() : "must be a positive number of GiB, got \"" + value + "\"";
      },
      "GIB > 0");
  app.add_option("--gpu-memory", gpu_gib, "--plan: GiB of one GPU")->capture_default_str()->check(positive_gib);
  app.add_option("--world-size", world_size, "--plan: data-parallel ranks (> 1 adds the gradient buckets)")
      ->capture_default_str()
      ->check(cocomix::positive());
  app.add_flag("--json", plan_json, "--plan: one JSON object instead of the table");
  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    if (plan)
      return print_memory_plan(cocomix::load_config(config_path, overrides), config_path, gpu_gib, world_size,
                               plan_json);
    if (*data) {
      auto config = cocomix::load_config(config_path, overrides);
      config.data.train_path = data_spec;
      config.data.train_sources.clear();
      std::printf("%s\n", bench_data(config, timed_windows, timed_batches).dump().c_str());
      return cocomix::kExitOk;
    }
    const auto config = cocomix::load_config(config_path, overrides);
    const int threads = static_cast<int>(config.train.threads > 0 ? config.train.threads : cocomix::available_cores());
    torch::set_num_threads(threads);
    const bool cuda = config.train.device == "cuda";
    if (cuda && !torch::cuda::is_available())
      throw cocomix::UsageError(config.source + ": train.device: \"cuda\" requested but no CUDA device is present");
    const auto device_type = cuda ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
    const torch::Device device(device_type, cuda ? 0 : -1);
    const auto precision = cocomix::resolve_precision(config.train.precision, device_type);
    const double peak = cocomix::measure_matmul_flops(precision, cuda ? "cuda" : "cpu", cuda ? 8192 : 2048);
    const auto synchronize = [&] {
      if (cuda) torch::cuda::synchronize();
    };

    torch::manual_seed(config.train.seed);
    const auto objective = cocomix::make_objective(config, /*with_teacher=*/true);
    objective->to(device);
    const auto named = cocomix::named_parameters_of(*objective->model());
    const auto parameters = objective->model()->parameters();
    auto optimizer = cocomix::make_adamw(named, config.optim);
    cocomix::ReplicaSync sync;
    const auto tokens = torch::randint(config.model.vocab_size, {config.train.batch_size, config.data.seq_len + 1},
                                       torch::kInt64);  // [B, T+1]
    cocomix::Batch batch;
    batch.inputs = tokens.slice(1, 0, -1);
    batch.targets = tokens.slice(1, 1);
    // From a label cache: its windows' tokens, whose labels each step reads as training does.
    if (!config.concepts.label_cache.empty()) {
      const auto corpus =
          cocomix::TokenCorpus::open(config.data.train_path, "train", cocomix::parse_token_format(config.data.format));
      const cocomix::ShardWindows windows(corpus.shard_tokens(), config.data.seq_len);
      std::vector<int64_t> starts;
      for (int64_t i = 0; i < config.train.batch_size; ++i) starts.push_back(windows.start(i));
      batch = cocomix::read_batch(corpus, starts, config.data.seq_len, config.model.vocab_size);
    }
    batch.inputs = batch.inputs.to(device);
    batch.targets = batch.targets.to(device);
    const auto next_batch = [&] { return batch; };
    const auto options = cocomix::step_options_for(config, device_type);

    const auto time_median = [&](const std::function<void()>& work) {
      std::vector<double> times;
      for (int64_t i = 0; i < steps; ++i) {
        const auto start = std::chrono::steady_clock::now();
        work();
        synchronize();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      return median(times);
    };
    double loss = 0;
    const auto train_step = [&] {
      loss = cocomix::run_optimizer_step(*objective, *optimizer, sync, parameters, next_batch, options).loss;
    };
    for (int64_t i = 0; i < warmup; ++i) train_step();
    synchronize();
    cocomix::reset_cuda_memory_peak(0);
    const double step = time_median(train_step);
    const int64_t peak_gpu_bytes = cocomix::cuda_peak_allocated_bytes(0);
    // The update on the gradients the last step left (it moves the weights, which no figure depends on).
    const double optimizer_seconds = time_median([&] { optimizer->step(); });
    // The concept labels' share of the step (per micro-batch, times grad_accum_steps).
    double labeler_seconds = 0, teacher_lower_seconds = 0, sae_encode_seconds = 0;
    if (objective->labeler() != nullptr) {
      auto& labeler = *objective->labeler();
      const auto accum = static_cast<double>(config.train.grad_accum_steps);
      const int64_t layer = labeler.sae()->info().layer;
      labeler_seconds = accum * time_median([&] { labeler.label(batch.inputs); });
      torch::Tensor hidden;
      teacher_lower_seconds =
          accum * time_median([&] {
            hidden = cocomix::teacher_hidden_state(labeler.teacher(), batch.inputs, layer, labeler.precision());
          });
      sae_encode_seconds = accum * time_median([&] {
        torch::NoGradGuard no_grad;
        cocomix::TeacherPrecisionScope scope(device_type, labeler.precision());
        if (labeler.selection() == cocomix::LabelSelection::kAttribution)
          labeler.sae()->encode_kept(hidden);  // what label() runs for attribution
        else
          labeler.sae()->encode(hidden);
      });
    }
    int64_t trainable_parameters = 0;
    for (const auto& parameter : parameters) trainable_parameters += parameter.numel();
    const double step_tokens =
        static_cast<double>(config.train.batch_size * config.data.seq_len * config.train.grad_accum_steps);
    const double flops_per_token = cocomix::gpt_training_flops_per_token(config.model, config.data.seq_len);
    const nlohmann::json out = {{"config", config_path},
                                {"mode", cocomix::name_of(config.concepts.mode)},
                                {"device", config.train.device},
                                {"precision", precision},
                                {"tf32", config.train.tf32},
                                {"teacher_precision", config.concepts.teacher_precision},
                                {"threads", threads},
                                {"parameters", cocomix::gpt_parameter_count(config.model, true)},
                                {"step_seconds", step},
                                {"tokens_per_second", step_tokens / step},
                                {"flops_per_token", flops_per_token},
                                {"matmul_peak_flops", peak},
                                {"mfu", step_tokens / step * flops_per_token / peak},
                                {"peak_rss_bytes", cocomix::peak_rss_bytes()},
                                {"peak_gpu_bytes", peak_gpu_bytes},
                                {"batch_size", config.train.batch_size},
                                {"seq_len", config.data.seq_len},
                                {"grad_accum_steps", config.train.grad_accum_steps},
                                {"allocator", cocomix::memory_allocator()},
                                {"trainable_parameters", trainable_parameters},
                                {"optimizer_seconds", optimizer_seconds},
                                {"labeler_seconds", labeler_seconds},
                                {"teacher_lower_seconds", teacher_lower_seconds},
                                {"sae_encode_seconds", sae_encode_seconds},
                                {"loss", loss}};
    std::printf("%s\n", out.dump().c_str());
    return cocomix::kExitOk;
  });
}
