// cocomix-bench: times the trainer's optimizer step (run_optimizer_step, the
// code training runs) on random tokens for a config, and the matmul peak of the
// same precision, and prints one JSON object. bench/run_benchmarks.py runs it
// next to the same step in eager PyTorch. Any concept.mode benches (teacher and
// SAE loaded, or with concept.label_cache the labels read from the cache every
// step, for the first train.batch_size windows of data.train_path: no teacher in
// the loop); FLOPs and MFU count the student GPT only. The breakdown: the AdamW
// update alone, and the concept labels' parts (teacher below L_t, SAE encode;
// the rest of the labeler is the teacher above L_t with the attribution
// backward, and the scoring), each timed alone on the same batch.
//   cocomix-bench --config FILE [--set k=v]... [--steps N] [--warmup N]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "cocomix/concept/label_cache.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/config/config.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/shard_windows.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/flops.h"
#include "cocomix/objective/make_objective.h"
#include "cocomix/objective/objective.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/train/train_step.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/system.h"

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
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
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str()->check(CLI::NonNegativeNumber);
  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    const auto config = cocomix::load_config(config_path, overrides);
    const int threads = static_cast<int>(config.train.threads > 0 ? config.train.threads : cocomix::available_cores());
    torch::set_num_threads(threads);
    const auto precision = cocomix::resolve_precision(config.train.precision, c10::DeviceType::CPU);
    const double peak = cocomix::measure_matmul_flops(precision, "cpu");

    torch::manual_seed(config.train.seed);
    const auto objective = cocomix::make_objective(config, /*with_teacher=*/true);
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
    const auto next_batch = [&] { return batch; };
    const auto options = cocomix::step_options_for(config, c10::DeviceType::CPU);

    const auto time_median = [&](const std::function<void()>& work) {
      std::vector<double> times;
      for (int64_t i = 0; i < steps; ++i) {
        const auto start = std::chrono::steady_clock::now();
        work();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      return median(times);
    };
    double loss = 0;
    const auto train_step = [&] {
      loss = cocomix::run_optimizer_step(*objective, *optimizer, sync, parameters, next_batch, options).loss;
    };
    for (int64_t i = 0; i < warmup; ++i) train_step();
    const double step = time_median(train_step);
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
      teacher_lower_seconds = accum * time_median([&] {
        hidden = cocomix::teacher_hidden_state(labeler.teacher(), batch.inputs, layer, labeler.bf16());
      });
      sae_encode_seconds = accum * time_median([&] {
        torch::NoGradGuard no_grad;
        cocomix::AutocastScope autocast(c10::DeviceType::CPU, labeler.bf16());
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
                                {"precision", precision},
                                {"threads", threads},
                                {"parameters", cocomix::gpt_parameter_count(config.model, true)},
                                {"step_seconds", step},
                                {"tokens_per_second", step_tokens / step},
                                {"flops_per_token", flops_per_token},
                                {"matmul_peak_flops", peak},
                                {"mfu", step_tokens / step * flops_per_token / peak},
                                {"peak_rss_bytes", cocomix::peak_rss_bytes()},
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
