// Trainer: the loop that ties the components together. Reading order: the
// constructor (set-up and resume), run() (the loop with its log, validate and
// save phases), then train_step (data feeding and the non-finite policy).
#include "cocomix/train/trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cocomix/data/batch.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/data/training_data.h"
#include "cocomix/dist/gradient_reducer.h"
#include "cocomix/dist/launch_env.h"
#include "cocomix/dist/process_group.h"
#include "cocomix/dist/replica_sync.h"
#include "cocomix/eval/perplexity.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/model/flops.h"
#include "cocomix/model/gpt.h"
#include "cocomix/objective/make_objective.h"
#include "cocomix/objective/objective.h"
#include "cocomix/train/lr_schedule.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/train/rng_state.h"
#include "cocomix/train/run_bookkeeping.h"
#include "cocomix/train/stop_signal.h"
#include "cocomix/train/train_step.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/metrics.h"
#include "cocomix/util/progress.h"
#include "cocomix/util/sha256.h"
#include "cocomix/util/system.h"

namespace cocomix {

using json = nlohmann::json;

struct Trainer::State {
  Config config;
  RunOptions options;
  torch::Device device = torch::kCPU;
  StepOptions step_options;  // accumulation, clipping, device and resolved precision
  std::string precision;     // train.precision with "auto" resolved: "bf16" or "fp32"
  std::unique_ptr<Objective> objective;
  NamedParameters named_parameters;
  std::vector<torch::Tensor> parameters;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<TrainingData> data;
  std::optional<TokenCorpus> val_corpus;
  std::unique_ptr<ReplicaSync> sync;
  std::unique_ptr<MetricsLog> metrics;
  std::string checkpoints_dir;
  double flops_per_token = 0;
  double peak_flops = 0;

  // Saved in trainer_state.json and restored on resume: visit_state lists them.
  int64_t step = 0;  // optimizer steps completed
  int64_t tokens_seen = 0;
  int64_t nonfinite_in_a_row = 0;
  int64_t skipped_steps = 0;
  double log_loss_sum = 0;  // losses of the steps since the last metrics record
  int64_t log_loss_count = 0;
  std::map<std::string, double> log_part_sums;  // objective parts (ntp_loss, ...) over the same steps

  std::vector<std::pair<std::string, double>> last_parts;  // of the last step (recomputed every step)

  double last_grad_norm = 0;  // of the last step (recomputed every step)

  RunClock clock;
  SaveTracker saves;  // the step of the newest checkpoint on disk

  /// One optimizer step: grad_accum micro-steps, reduce, clip, then update or
  /// skip. Returns the step's mean loss (non-finite when the step was skipped).
  double train_step();

  bool is_first_rank() const { return sync->rank() == 0; }
  /// This rank's part of a checkpoint: where its data and random streams are.
  json rank_state() const { return {{"data", data->state()}, {"rng", capture_rng_state()}}; }

  /// The resumable counters, each named once for writing and reading.
  template <typename Visitor>
  void visit_state(Visitor& visit) {
    visit("step", step);
    visit("tokens_seen", tokens_seen);
    visit("nonfinite_in_a_row", nonfinite_in_a_row);
    visit("skipped_steps", skipped_steps);
    visit("log_loss_sum", log_loss_sum);
    visit("log_loss_count", log_loss_count);
    visit("log_part_sums", log_part_sums);
  }

  json trainer_state() {
    json state = rank_state();
    StateWriter writer(state);
    visit_state(writer);
    state["world_size"] = sync->world_size();
    return state;
  }
};

namespace {

int64_t tokens_per_step(const Config& c, int world_size) {
  return c.train.batch_size * c.data.seq_len * c.train.grad_accum_steps * world_size;
}

double finite_or_nan(double value) { return std::isfinite(value) ? value : std::numeric_limits<double>::quiet_NaN(); }

}  // namespace

Trainer::Trainer(Config config, RunOptions options) : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.config = std::move(config);
  s.options = std::move(options);
  // From here on SIGINT/SIGTERM stop the run cleanly, also during a long start-up.
  install_stop_signal_handlers();
  const auto& c = s.config;
  // Data parallel when a launcher started several processes (docs/distributed.md).
  const LaunchEnv launch = read_launch_env();
  if (launch.world_size > 1) set_log_rank(launch.rank);

  if (c.train.device == "cuda") {
    if (!torch::cuda::is_available())
      throw UsageError(c.source + ": train.device: \"cuda\" requested but no CUDA device is present");
    if (launch.local_rank >= static_cast<int>(torch::cuda::device_count()))
      throw UsageError("launcher environment: local rank " + std::to_string(launch.local_rank) + " has no GPU (" +
                       std::to_string(torch::cuda::device_count()) + " on this node); start one process per GPU");
    s.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank));
  }
  std::shared_ptr<ProcessGroup> group;
  if (launch.world_size > 1)
    group = ProcessGroup::create(launch, c.dist, sha256_hex(config_to_string(c)), s.device, c.source);
  s.step_options = step_options_for(c, s.device.type());
  s.precision = s.step_options.bf16 ? "bf16" : "fp32";
  torch::set_num_threads(static_cast<int>(c.train.threads > 0 ? c.train.threads : available_cores()));

  // Every corpus is opened and checked (headers only) before the model is built.
  s.data = std::make_unique<TrainingData>(c, launch.rank, launch.world_size);
  if (!c.data.val_path.empty())
    s.val_corpus.emplace(TokenCorpus::open(c.data.val_path, "val", parse_token_format(c.data.format)));

  ensure_writable_directory(s.options.out_dir);
  s.checkpoints_dir = (std::filesystem::path(s.options.out_dir) / "checkpoints").string();
  auto resume_point = checkpoint_to_resume(s.options.out_dir, s.options.resume, "--out");

  torch::manual_seed(c.train.seed);
  s.objective = make_objective(c, /*with_teacher=*/true);
  s.objective->to(s.device);
  auto& model = s.objective->model();
  model->train(true);
  s.named_parameters = named_parameters_of(*model);
  s.parameters = model->parameters();
  if (group) s.sync = std::make_unique<GradientReducer>(group, s.parameters, c.dist);
  else s.sync = std::make_unique<ReplicaSync>();
  s.optimizer = make_adamw(s.named_parameters, c.optim);

  if (s.options.resume) {
    const std::string& latest = resume_point->dir;
    // Moved out so that the checkpoint's tensors are freed once loaded, not held to the end of start-up.
    const CheckpointContents contents = std::move(resume_point->contents);
    const std::string source = latest + "/trainer_state.json";
    if (contents.config.contains("model") && contents.config["model"] != config_to_json(c)["model"])
      throw UsageError(c.source + ": model: differs from the checkpoint's (" + latest +
                       "/config.json); resume needs the same architecture");
    model->load_state_dict(contents.model, latest + "/model.safetensors");
    load_adamw_state(*s.optimizer, s.named_parameters, contents.optimizer, latest + "/optimizer.safetensors");
    const auto& st = contents.trainer_state;
    const auto world = json_field<int64_t>(st, "world_size", source);
    if (world != s.sync->world_size())
      throw UsageError(source + ": world_size: the checkpoint was written by " + std::to_string(world) +
                       " ranks; resume with the same number");
    StateReader reader(st, source);
    s.visit_state(reader);
    s.saves = SaveTracker(s.step);
    // Data-parallel checkpoints hold every rank's data and RNG state in "ranks".
    const json& own = s.sync->world_size() > 1 && st.contains("ranks") && st["ranks"].is_array() &&
                              st["ranks"].size() == static_cast<size_t>(world)
                          ? st["ranks"][s.sync->rank()]
                          : st;
    if (s.sync->world_size() > 1 && &own == &st)
      throw RuntimeError(source + ": ranks: missing or not one entry per rank; the checkpoint has no per-rank state");
    if (!own.contains("data")) throw RuntimeError(source + ": data: missing");
    s.data->restore(own["data"], source);
    if (!own.contains("rng")) throw RuntimeError(source + ": rng: missing");
    restore_rng_state(own["rng"], source);
    log_info("resumed from " + latest + " at step " + std::to_string(s.step));
  }

  if (s.is_first_rank()) {  // one writer of the run directory
    if (s.options.resume) tidy_checkpoints(s.checkpoints_dir, resume_point->dir, c.train.keep_checkpoints);
    write_file_atomically((std::filesystem::path(s.options.out_dir) / "config.json").string(),
                          config_to_string(c) + "\n");
    s.metrics = std::make_unique<MetricsLog>(s.options.out_dir, c.log.tensorboard, s.options.resume ? s.step : -1);
  }
  s.flops_per_token = gpt_training_flops_per_token(c.model, c.data.seq_len);
  s.peak_flops = c.log.peak_flops > 0 ? c.log.peak_flops : measure_matmul_flops(s.precision, c.train.device);
}

Trainer::~Trainer() = default;

TrainSummary Trainer::run() {
  auto& s = *state_;
  const auto& c = s.config;
  log_info("resolved config (" + c.source + "):\n" + config_to_string(c));
  log_info("model: " + std::to_string(gpt_parameter_count(c.model, true)) + " parameters; " +
           std::to_string(tokens_per_step(c, s.sync->world_size())) + " tokens per step; peak " +
           std::to_string(s.peak_flops / 1e9) + " GFLOP/s (" + s.precision + "); malloc " + memory_allocator());
  const auto describe = [](const TokenCorpus& corpus) {
    return corpus.spec() + ": " + std::to_string(corpus.shards().size()) +
           (corpus.shards().size() == 1 ? " shard, " : " shards, ") + format_thousands(corpus.size()) + " tokens";
  };
  for (const auto& source : s.data->sources()) {
    std::ostringstream weight;
    weight << source.weight;
    log_info("train data \"" + source.name + "\" (weight " + weight.str() + "): " + describe(source.corpus));
  }
  if (s.val_corpus) log_info("val data " + describe(*s.val_corpus));

  TrainSummary summary;
  s.clock.start(s.step);

  auto save = [&] {
    const auto ranks = s.sync->gather_to_first(s.rank_state().dump());
    s.saves.saved(s.step);
    if (!s.is_first_rank()) return;
    CheckpointContents contents{s.objective->model()->state_dict(), adamw_state(*s.optimizer, s.named_parameters),
                                s.trainer_state(), config_to_json(c)};
    if (s.sync->world_size() > 1)
      for (const auto& state : ranks) contents.trainer_state["ranks"].push_back(json::parse(state));
    summary.last_checkpoint = save_checkpoint(s.checkpoints_dir, s.step, contents, c.train.keep_checkpoints);
    log_info("checkpoint " + summary.last_checkpoint);
  };
  auto validate = [&] {
    if (!s.val_corpus || !s.is_first_rank()) return;
    s.objective->model()->train(false);
    PerplexityOptions options;
    options.seq_len = c.data.seq_len;
    options.batch_size = c.eval.batch_size;
    options.max_windows = c.eval.max_batches * c.eval.batch_size;
    options.vocab_size = c.model.vocab_size;
    options.bf16 = s.step_options.bf16;
    options.device = s.device;
    const auto result = evaluate_perplexity(scoring_model(s.objective->model()), *s.val_corpus, options);
    s.objective->model()->train(true);
    summary.last_val_loss = result.loss;
    s.metrics->write(s.step, {{"val_loss", result.loss}, {"val_ppl", result.perplexity}});
    log_info("step " + std::to_string(s.step) + " | val_loss " + std::to_string(result.loss) + " | val_ppl " +
             std::to_string(result.perplexity));
  };

  while (s.step < c.train.max_steps) {
    if (s.sync->any(stop_requested())) {  // every rank stops at the same step
      summary.interrupted = true;
      break;
    }
    const double lr = learning_rate(c.optim, s.step, c.train.max_steps);
    set_learning_rate(*s.optimizer, lr);
    const double loss = s.train_step();
    summary.last_loss = loss;
    ++s.step;
    s.tokens_seen += tokens_per_step(c, s.sync->world_size());
    s.clock.add_tokens(tokens_per_step(c, s.sync->world_size()));
    if (std::isfinite(loss)) {
      s.log_loss_sum += loss;
      ++s.log_loss_count;
      for (const auto& [name, value] : s.last_parts) s.log_part_sums[name] += value;
    }

    if (due(s.step, c.log.every, c.train.max_steps)) {
      const double tokens_per_second = s.clock.end_interval();
      const double mfu = s.peak_flops > 0 ? tokens_per_second * s.flops_per_token / s.peak_flops : -1;
      const double mean_loss = s.log_loss_count > 0 ? s.log_loss_sum / static_cast<double>(s.log_loss_count)
                                                    : std::numeric_limits<double>::quiet_NaN();
      Scalars record = {{"loss", finite_or_nan(mean_loss)},
                        {"lr", lr},
                        {"grad_norm", finite_or_nan(s.last_grad_norm)},
                        {"tokens", static_cast<double>(s.tokens_seen)},
                        {"tokens_per_second", tokens_per_second},
                        {"mfu", mfu},
                        {"skipped_steps", static_cast<double>(s.skipped_steps)}};
      // The objective's parts, meaned like the loss; the NTP objective's one part is the loss itself.
      if (s.log_part_sums.size() > 1 && s.log_loss_count > 0)
        for (const auto& [name, sum] : s.log_part_sums)
          record.emplace_back(name, finite_or_nan(sum / static_cast<double>(s.log_loss_count)));
      // A mixture's realised shares of this rank's windows so far, and each source's epoch.
      if (s.data->sources().size() > 1)
        for (const auto& source : s.data->sources()) {
          record.emplace_back("share/" + source.name,
                              static_cast<double>(source.drawn) / static_cast<double>(s.data->windows()));
          record.emplace_back("epoch/" + source.name, static_cast<double>(source.sampler.epoch()));
        }
      if (s.metrics) s.metrics->write(s.step, record);
      ProgressFields progress;
      progress.step = s.step;
      progress.max_steps = c.train.max_steps;
      progress.loss = mean_loss;
      progress.lr = lr;
      progress.grad_norm = s.last_grad_norm;
      progress.tokens_per_second = tokens_per_second;
      progress.mfu = mfu;
      progress.elapsed_seconds = s.clock.elapsed_seconds();
      progress.steps_this_session = s.clock.steps_this_session(s.step);
      progress.skipped_steps = s.skipped_steps;
      log_info(format_progress_line(progress));
      s.log_loss_sum = 0;
      s.log_loss_count = 0;
      s.log_part_sums.clear();
    }
    if (due(s.step, c.eval.every, c.train.max_steps)) validate();
    if (due(s.step, c.train.checkpoint_every, c.train.max_steps)) save();
  }
  if (summary.interrupted) {
    if (!s.saves.is_saved(s.step)) save();  // the same decision on every rank
    log_info(stopped_line(s.step));
  }
  summary.steps = s.step;
  summary.skipped_steps = s.skipped_steps;
  return summary;
}

double Trainer::State::train_step() {
  const auto& c = config;
  const auto result = run_optimizer_step(
      *objective, *optimizer, *sync, parameters,
      [&] {
        auto batch = data->next_batch(c.train.batch_size, c.model.vocab_size);
        if (device.is_cuda()) {  // pinned host memory lets the copy overlap compute
          batch.inputs = batch.inputs.pin_memory().to(device, /*non_blocking=*/true);
          batch.targets = batch.targets.pin_memory().to(device, /*non_blocking=*/true);
        }
        return batch;
      },
      step_options);
  last_grad_norm = result.grad_norm;
  last_parts = result.parts;
  if (!result.skipped) {
    nonfinite_in_a_row = 0;
    return result.loss;
  }
  ++nonfinite_in_a_row;
  ++skipped_steps;
  log_warn("step " + std::to_string(step + 1) + ": non-finite loss " + std::to_string(result.loss) +
           " or gradient norm " + std::to_string(result.grad_norm) + "; update skipped (" +
           std::to_string(nonfinite_in_a_row) + " in a row)");
  if (nonfinite_in_a_row >= c.train.max_nonfinite_steps)
    throw RuntimeError("training stopped at step " + std::to_string(step + 1) + ": " +
                       std::to_string(nonfinite_in_a_row) +
                       " non-finite steps in a row (train.max_nonfinite_steps); lower optim.lr or check the data");
  return result.loss;
}

}  // namespace cocomix
