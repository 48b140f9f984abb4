// train_sae: the loop that feeds sae_train_step teacher activations window by
// window, and logs, validates and checkpoints. Reference followed: OpenAI's
// released sparse_autoencoder/train.py (training_loop_, Config).
#include "cocomix/train/sae_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "cocomix/concept/sae_evaluation.h"
#include "cocomix/concept/sae_losses.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/model/position_norm.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/train/rng_state.h"
#include "cocomix/train/run_bookkeeping.h"
#include "cocomix/train/sae_step.h"
#include "cocomix/train/stop_signal.h"
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

void SaeTrainOptions::validate() const {
  const auto positive = [](const char* flag, int64_t value) {
    if (value < 1) throw UsageError(std::string(flag) + ": must be positive, got " + std::to_string(value));
  };
  if (teacher.empty()) throw UsageError("--teacher: required");
  if (data.empty()) throw UsageError("--data: required");
  if (out_dir.empty()) throw UsageError("-o/--out: required");
  positive("--layer", layer);
  positive("--latents", latents);
  positive("--k", k);
  if (k > latents)
    throw UsageError("--k: " + std::to_string(k) + " exceeds --latents " + std::to_string(latents) +
                     " (TopK keeps k of the C latents)");
  positive("--steps", steps);
  positive("--batch", batch);
  positive("--seq-len", seq_len);
  if (!(lr > 0) || !std::isfinite(lr)) throw UsageError("--lr: must be a positive number, got " + std::to_string(lr));
  if (k_aux < 0 || k_aux > latents)
    throw UsageError("--k-aux: must be in [0, --latents " + std::to_string(latents) + "], got " +
                     std::to_string(k_aux) + " (0 = default)");
  if (!(aux_coef >= 0) || !std::isfinite(aux_coef))
    throw UsageError("--aux-coef: must be >= 0, got " + std::to_string(aux_coef));
  positive("--dead-tokens", dead_tokens);
  if (threads < 0) throw UsageError("--threads: must be >= 0, got " + std::to_string(threads));
  positive("--log-every", log_every);
  if (checkpoint_every < 0) throw UsageError("--checkpoint-every: must be >= 0");
  positive("--keep-checkpoints", keep_checkpoints);
  if (eval_every < 0) throw UsageError("--eval-every: must be >= 0");
  if (val_windows < 0) throw UsageError("--val-windows: must be >= 0");
  parse_token_format(format);
}

json SaeTrainOptions::to_json() const {
  return {{"teacher", teacher},
          {"layer", layer},
          {"latents", latents},
          {"k", k},
          {"data", data},
          {"val", val},
          {"format", format},
          {"steps", steps},
          {"batch", batch},
          {"seq_len", seq_len},
          {"lr", lr},
          {"adam_eps", adam_eps},
          {"k_aux", k_aux},
          {"aux_coef", aux_coef},
          {"dead_tokens", dead_tokens},
          {"seed", seed},
          {"threads", threads},
          {"log_every", log_every},
          {"checkpoint_every", checkpoint_every},
          {"keep_checkpoints", keep_checkpoints},
          {"eval_every", eval_every},
          {"val_windows", val_windows}};
}

namespace {

/// Options that must not change across --resume (the others, such as --steps
/// or the logging cadence, may).
const char* const kResumeFixedOptions[] = {
    "layer",    "latents", "k",        "format",      "batch", "seq_len",       "lr",
    "adam_eps", "k_aux",   "aux_coef", "dead_tokens", "seed",  "teacher_sha256"};

const char* const kTrackerTensor = "tokens_since_fired";

/// The run: everything train_sae sets up, then the loop.
class SaeRun {
 public:
  explicit SaeRun(const SaeTrainOptions& options);
  SaeTrainSummary run();

 private:
  void resume(const std::string& checkpoint, const CheckpointContents& contents);
  /// The resumable counters, each named once for writing and reading.
  template <typename Visitor>
  void visit_state(Visitor& visit) {
    visit("step", step_);
    visit("tokens_seen", tokens_seen_);
    visit("sum_loss", sum_loss_);
    visit("sum_nmse", sum_nmse_);
    visit("sum_fvu", sum_fvu_);
    visit("sum_aux", sum_aux_);
    visit("sum_count", sum_count_);
  }
  void save_checkpoint_now();
  void log_interval();
  void validate();

  SaeTrainOptions o_;
  GPT teacher_{nullptr};
  std::string teacher_sha256_;
  std::optional<TokenCorpus> train_corpus_;
  std::optional<TokenCorpus> val_corpus_;
  std::unique_ptr<WindowSampler> sampler_;
  TopKSae sae_{nullptr};
  NamedParameters named_parameters_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<DeadLatentTracker> tracker_;
  std::unique_ptr<MetricsLog> metrics_;
  std::string checkpoints_dir_;
  int64_t k_aux_ = 0;
  SaeTrainSummary summary_;

  // Saved in trainer_state.json (visit_state).
  int64_t step_ = 0;
  int64_t tokens_seen_ = 0;
  double sum_loss_ = 0, sum_nmse_ = 0, sum_fvu_ = 0, sum_aux_ = 0;  // since the last record
  int64_t sum_count_ = 0;

  RunClock clock_;
  SaveTracker saves_;  // the step of the newest checkpoint on disk
};

SaeRun::SaeRun(const SaeTrainOptions& options) : o_(options) {
  namespace fs = std::filesystem;
  o_.validate();
  install_stop_signal_handlers();  // a stop during start-up ends the run cleanly too
  torch::set_num_threads(static_cast<int>(o_.threads > 0 ? o_.threads : available_cores()));

  teacher_ = load_teacher(o_.teacher);
  const auto& tc = teacher_->config();
  if (o_.layer > tc.n_layer)
    throw UsageError("--layer: " + std::to_string(o_.layer) + " is out of range [1, " + std::to_string(tc.n_layer) +
                     "] for teacher " + o_.teacher + " (n_layer " + std::to_string(tc.n_layer) + ")");
  if (o_.seq_len > tc.n_positions)
    throw UsageError("--seq-len: " + std::to_string(o_.seq_len) + " exceeds the teacher's n_positions " +
                     std::to_string(tc.n_positions));
  teacher_sha256_ = sha256_file_hex(teacher_weights_file(o_.teacher));

  const auto format = parse_token_format(o_.format);
  train_corpus_.emplace(TokenCorpus::open(o_.data, "train", format, TokenAccess::kRandom));  // shuffled windows
  if (!o_.val.empty()) val_corpus_.emplace(TokenCorpus::open(o_.val, "val", format));
  try {
    sampler_ = std::make_unique<WindowSampler>(train_corpus_->shard_tokens(), o_.seq_len, WindowOrder::kRandom, o_.seed);
  } catch (const RuntimeError& e) {
    throw RuntimeError("--data " + o_.data + ": " + e.what());
  }

  // The output directory is made only once the teacher and the data are known good.
  ensure_writable_directory(o_.out_dir);
  checkpoints_dir_ = (fs::path(o_.out_dir) / "checkpoints").string();
  const auto resume_point = checkpoint_to_resume(o_.out_dir, o_.resume, "-o");

  SaeInfo info;
  info.d = tc.n_embd;
  info.n_latents = o_.latents;
  info.k = o_.k;
  info.layer = o_.layer;
  info.teacher_sha256 = teacher_sha256_;
  torch::manual_seed(o_.seed);
  sae_ = TopKSae(info);
  k_aux_ = o_.k_aux > 0 ? o_.k_aux : std::max<int64_t>(1, std::min(info.d / 2, info.n_latents));
  named_parameters_ = named_parameters_of(*sae_);
  optimizer_ = make_sae_optimizer(*sae_, o_.lr, o_.adam_eps);
  tracker_ = std::make_unique<DeadLatentTracker>(o_.latents, o_.dead_tokens);

  if (o_.resume) resume(resume_point->dir, resume_point->contents);
  metrics_ = std::make_unique<MetricsLog>(o_.out_dir, /*tensorboard=*/false, o_.resume ? step_ : -1);
}

void SaeRun::resume(const std::string& checkpoint, const CheckpointContents& contents) {
  const std::string config_source = checkpoint + "/config.json";
  json current = o_.to_json();
  current["teacher_sha256"] = teacher_sha256_;
  for (const char* key : kResumeFixedOptions) {
    const auto saved = contents.config.find(key);
    if (saved == contents.config.end()) throw RuntimeError(config_source + ": " + key + ": missing");
    if (*saved != current[key])
      throw UsageError(config_source + ": " + key + ": the checkpoint has " + saved->dump() + ", this run " +
                       current[key].dump() + "; resume with the same setting");
  }
  TensorMap sae_tensors = contents.model;
  const auto counters = sae_tensors.find(kTrackerTensor);
  if (counters == sae_tensors.end())
    throw RuntimeError(checkpoint + "/model.safetensors: tensor " + kTrackerTensor + ": missing");
  tracker_->restore(counters->second, checkpoint + "/model.safetensors");
  sae_tensors.erase(counters);
  load_sae_state(*sae_, sae_tensors, checkpoint + "/model.safetensors");
  load_adamw_state(*optimizer_, named_parameters_, contents.optimizer, checkpoint + "/optimizer.safetensors");
  const std::string source = checkpoint + "/trainer_state.json";
  const auto& st = contents.trainer_state;
  StateReader reader(st, source);
  visit_state(reader);
  saves_ = SaveTracker(step_);
  if (!st.contains("sampler")) throw RuntimeError(source + ": sampler: missing");
  const std::string change = shard_list_change(st.value("shards", json()), shard_list(*train_corpus_));
  if (!change.empty())
    throw RuntimeError(source + ": shards: --data " + o_.data + " changed since the checkpoint: " + change);
  sampler_->restore(st["sampler"], source);
  if (!st.contains("rng")) throw RuntimeError(source + ": rng: missing");
  restore_rng_state(st["rng"], source);
  tidy_checkpoints(checkpoints_dir_, checkpoint, o_.keep_checkpoints);  // what a save killed after COMPLETE left
  log_info("resumed from " + checkpoint + " at step " + std::to_string(step_));
}

void SaeRun::save_checkpoint_now() {
  CheckpointContents contents;
  contents.model = sae_state(*sae_);
  contents.model[kTrackerTensor] = tracker_->tokens_since_fired();
  contents.optimizer = adamw_state(*optimizer_, named_parameters_);
  contents.trainer_state = {
      {"shards", shard_list(*train_corpus_)}, {"sampler", sampler_->state()}, {"rng", capture_rng_state()}};
  StateWriter writer(contents.trainer_state);
  visit_state(writer);
  contents.config = o_.to_json();
  contents.config["teacher_sha256"] = teacher_sha256_;
  const auto path = save_checkpoint(checkpoints_dir_, step_, contents, o_.keep_checkpoints);
  saves_.saved(step_);
  log_info("checkpoint " + path);
}

void SaeRun::log_interval() {
  const double tokens_per_second = clock_.end_interval();
  const double count = static_cast<double>(std::max<int64_t>(sum_count_, 1));
  const double dead_fraction = tracker_->dead_fraction();
  metrics_->write(step_, {{"loss", sum_loss_ / count},
                          {"nmse", sum_nmse_ / count},
                          {"fvu", sum_fvu_ / count},
                          {"aux_loss", sum_aux_ / count},
                          {"dead_fraction", dead_fraction},
                          {"lr", o_.lr},
                          {"tokens", static_cast<double>(tokens_seen_)},
                          {"tokens_per_second", tokens_per_second}});
  SaeProgressFields progress;
  progress.step = step_;
  progress.max_steps = o_.steps;
  progress.nmse = sum_nmse_ / count;
  progress.fvu = sum_fvu_ / count;
  progress.aux_loss = sum_aux_ / count;
  progress.dead_fraction = dead_fraction;
  progress.tokens_per_second = tokens_per_second;
  progress.elapsed_seconds = clock_.elapsed_seconds();
  progress.steps_this_session = clock_.steps_this_session(step_);
  log_info(format_sae_progress_line(progress));
  sum_loss_ = sum_nmse_ = sum_fvu_ = sum_aux_ = 0;
  sum_count_ = 0;
}

void SaeRun::validate() {
  if (!val_corpus_) return;
  const auto result = evaluate_sae(*teacher_, *sae_, *val_corpus_, o_.seq_len, o_.batch, o_.val_windows);
  summary_.val_fvu = result.fvu;
  metrics_->write(step_, {{"val_nmse", result.nmse}, {"val_fvu", result.fvu}});
  log_info("step " + std::to_string(step_) + " | val_nmse " + std::to_string(result.nmse) + " | val_fvu " +
           std::to_string(result.fvu) + " (" + std::to_string(result.windows) + " windows)");
}

SaeTrainSummary SaeRun::run() {
  const auto& info = sae_->info();
  log_info("SAE d=" + std::to_string(info.d) + " C=" + std::to_string(info.n_latents) + " k=" + std::to_string(info.k) +
           " k_aux=" + std::to_string(k_aux_) + " on layer " + std::to_string(info.layer) + " of " + o_.teacher + "; " +
           std::to_string(o_.batch * o_.seq_len) + " tokens per step");
  clock_.start(step_);
  while (step_ < o_.steps) {
    if (stop_requested()) {
      summary_.interrupted = true;
      break;
    }
    const auto batch = read_batch(*train_corpus_, sampler_->next(o_.batch), o_.seq_len, teacher_->config().vocab_size);
    const auto h = teacher_->hidden_after(batch.inputs, o_.layer).reshape({-1, info.d});  // [N = B*T, d]
    if (step_ == 0) {
      // OpenAI's init_from_data_: pre_bias at the geometric median of the data
      // (here of the first batch, in the normalised space the SAE works in).
      torch::NoGradGuard no_grad;
      sae_->pre_bias.copy_(geometric_median(normalize_positions(h).x));
    }
    const auto result = sae_train_step(*sae_, *optimizer_, *tracker_, h, k_aux_, o_.aux_coef);
    ++step_;
    tokens_seen_ += h.size(0);
    clock_.add_tokens(h.size(0));
    sum_loss_ += result.loss;
    sum_nmse_ += result.nmse;
    sum_fvu_ += result.fvu;
    sum_aux_ += result.aux;
    ++sum_count_;
    summary_.last_fvu = result.fvu;
    if (!std::isfinite(result.loss))
      throw RuntimeError("step " + std::to_string(step_) + ": non-finite SAE loss " + std::to_string(result.loss) +
                         "; lower --lr");
    if (due(step_, o_.log_every, o_.steps)) log_interval();
    if (due(step_, o_.eval_every, o_.steps)) validate();
    if (due(step_, o_.checkpoint_every, o_.steps)) save_checkpoint_now();
  }
  summary_.steps = step_;
  if (summary_.interrupted) {
    if (!saves_.is_saved(step_)) save_checkpoint_now();
    log_info(stopped_line(step_));
    return summary_;
  }
  save_sae(*sae_, o_.out_dir);
  log_info("wrote " + o_.out_dir + "/sae.json and sae.safetensors");
  return summary_;
}

}  // namespace

SaeTrainSummary train_sae(const SaeTrainOptions& options) { return SaeRun(options).run(); }

}  // namespace cocomix
