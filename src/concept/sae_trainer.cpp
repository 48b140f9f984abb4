// TopK SAE training: the loss pieces (normalised error, AuxK, dead latents,
// decoder constraints), one optimizer step, and train_sae, the loop that feeds
// it teacher activations window by window and logs, validates and checkpoints.
// Reference followed: Gao et al. 2024 (arXiv 2406.04093) §A.2 and OpenAI's
// released sparse_autoencoder/train.py + kernels.py (training_loop_, Config).
#include "cocomix/concept/sae_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "cocomix/concept/teacher.h"
#include "cocomix/concept/top_k.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/token_file.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/train/checkpoint.h"
#include "cocomix/train/optimizer.h"
#include "cocomix/train/rng_state.h"
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

torch::Tensor normalized_squared_error(const torch::Tensor& prediction, const torch::Tensor& target) {
  TORCH_CHECK(prediction.dim() == 2 && prediction.sizes() == target.sizes(),
              "normalized_squared_error: expected two [N, d] tensors of one shape");
  const auto numerator = (prediction - target).square().sum();
  const auto denominator = (target - target.mean(0, /*keepdim=*/true)).square().sum();
  if (denominator.item<double>() == 0) return numerator * 0;  // keeps the graph, no 0/0
  return numerator / denominator;
}

void NormalizedErrorSums::add(const torch::Tensor& prediction, const torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  const auto t = target.to(torch::kFloat64);
  squared_error_ += (prediction.to(torch::kFloat64) - t).square().sum().item<double>();
  target_squares_ += t.square().sum().item<double>();
  const auto column_sum = t.sum(0);  // [d]
  target_sum_ = target_sum_.defined() ? target_sum_ + column_sum : column_sum;
  rows_ += t.size(0);
}

double NormalizedErrorSums::value() const {
  if (rows_ == 0) return 0;
  // sum_n ||t_n - tbar||^2 = sum_n ||t_n||^2 - ||sum_n t_n||^2 / N
  const double variance = target_squares_ - target_sum_.square().sum().item<double>() / static_cast<double>(rows_);
  return variance > 0 ? squared_error_ / variance : 0;
}

DeadLatentTracker::DeadLatentTracker(int64_t n_latents, int64_t dead_tokens)
    : tokens_since_fired_(torch::zeros({n_latents}, torch::kInt64)), dead_tokens_(dead_tokens) {}

void DeadLatentTracker::update(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  const auto fired = (z.reshape({-1, z.size(-1)}) > kLatentFiredThreshold).any(0).to(torch::kCPU);  // [C]
  const int64_t tokens = z.numel() / z.size(-1);
  tokens_since_fired_ = torch::where(fired, torch::zeros_like(tokens_since_fired_), tokens_since_fired_ + tokens);
}

torch::Tensor DeadLatentTracker::dead_mask() const { return tokens_since_fired_ >= dead_tokens_; }

double DeadLatentTracker::dead_fraction() const { return dead_mask().to(torch::kFloat64).mean().item<double>(); }

void DeadLatentTracker::restore(const torch::Tensor& counters, const std::string& source) {
  if (!counters.sizes().equals(tokens_since_fired_.sizes()) || counters.scalar_type() != torch::kInt64)
    throw RuntimeError(source + ": tensor tokens_since_fired: expected int64 " + c10::str(tokens_since_fired_.sizes()) +
                       ", got " + std::string(c10::toString(counters.scalar_type())) + " " +
                       c10::str(counters.sizes()));
  tokens_since_fired_ = counters.clone();
}

torch::Tensor auxk_latents(const torch::Tensor& z_pre, const torch::Tensor& dead, int64_t k_aux) {
  const int64_t n_dead = dead.sum().item<int64_t>();
  if (n_dead == 0 || k_aux < 1) return torch::zeros_like(z_pre);
  // Live latents can never enter the top k_aux (k_aux <= n_dead below); their
  // -inf is replaced by keep_top_k's zeros.
  const auto only_dead = z_pre.masked_fill(dead.logical_not().to(z_pre.device()),
                                           -std::numeric_limits<double>::infinity());  // [N, C]
  return torch::relu(keep_top_k(only_dead, std::min(k_aux, n_dead)));
}

SaeLosses sae_losses(TopKSaeImpl& sae, const torch::Tensor& h, const SaeCode& code, const torch::Tensor& dead,
                     int64_t k_aux, double aux_coef) {
  SaeLosses losses;
  const auto x_hat = sae.decode_normalized(code.z);  // [N, d]
  losses.nmse = normalized_squared_error(x_hat, code.norm.x);
  if (dead.any().item<bool>()) {
    const auto z_aux = auxk_latents(code.z_pre, dead, k_aux);                      // [N, C]
    const auto e = (code.norm.x - x_hat).detach();                                 // [N, d]
    const auto e_hat = torch::nn::functional::linear(z_aux, sae.decoder->weight);  // [N, d], no pre_bias
    losses.aux = normalized_squared_error(e_hat, e);
  } else {
    losses.aux = torch::zeros({}, x_hat.options());
  }
  losses.total = losses.nmse + aux_coef * losses.aux;
  torch::NoGradGuard no_grad;
  const auto h_hat = code.norm.denormalize(x_hat.detach());  // reconstruct() of the same z
  losses.fvu = normalized_squared_error(h_hat, h).item<double>();
  return losses;
}

void remove_parallel_decoder_gradient(TopKSaeImpl& sae) {
  auto& w = sae.decoder->weight;  // [d, C], column j = latent j's direction
  if (!w.grad().defined()) return;
  torch::NoGradGuard no_grad;
  const auto parallel = (w * w.grad()).sum(0, /*keepdim=*/true);  // [1, C]: w_j . g_j
  w.mutable_grad().sub_(parallel * w);
}

void normalize_decoder_columns(TopKSaeImpl& sae) {
  torch::NoGradGuard no_grad;
  auto& w = sae.decoder->weight;
  w.div_(w.norm(2, 0, /*keepdim=*/true));
}

torch::Tensor geometric_median(const torch::Tensor& points, int64_t iterations) {
  torch::NoGradGuard no_grad;
  const auto p = points.to(torch::kFloat64);  // [N, d]
  auto median = p.mean(0);                    // [d]
  for (int64_t i = 0; i < iterations; ++i) {
    // Weiszfeld: the mean weighted by inverse distances; the clamp keeps a
    // median that lands on a data point finite (it then stays there).
    const auto weights = 1.0 / (p - median).norm(2, 1).clamp_min(1e-12);  // [N]
    median = (weights.unsqueeze(1) * p).sum(0) / weights.sum();
  }
  return median.to(points.scalar_type());
}

std::unique_ptr<torch::optim::AdamW> make_sae_optimizer(TopKSaeImpl& sae, double lr, double eps) {
  NamedParameters named;
  for (const auto& item : sae.named_parameters()) named.emplace_back(item.key(), item.value());
  OptimConfig adam;
  adam.lr = lr;
  adam.beta1 = 0.9;
  adam.beta2 = 0.999;
  adam.eps = eps;
  adam.weight_decay = 0;  // Adam: AdamW's decoupled decay term vanishes
  adam.decay_all_params = true;
  return make_adamw(named, adam);
}

SaeStepResult sae_train_step(TopKSaeImpl& sae, torch::optim::Optimizer& optimizer, DeadLatentTracker& tracker,
                             const torch::Tensor& h, int64_t k_aux, double aux_coef) {
  TORCH_CHECK(h.dim() == 2, "sae_train_step: expected activations [N, d]");
  optimizer.zero_grad();
  const auto code = sae.encode(h);
  tracker.update(code.z);  // before AuxK: latents firing in this batch are alive for it
  const auto losses = sae_losses(sae, h, code, tracker.dead_mask(), k_aux, aux_coef);
  losses.total.backward();
  // OpenAI's training_loop_ renormalises the decoder, then removes the parallel
  // gradient, then steps; renormalising right after the step instead keeps the
  // columns at unit norm for every forward and in every saved file.
  remove_parallel_decoder_gradient(sae);
  optimizer.step();
  normalize_decoder_columns(sae);
  SaeStepResult result;
  result.loss = losses.total.item<double>();
  result.nmse = losses.nmse.item<double>();
  result.aux = losses.aux.item<double>();
  result.fvu = losses.fvu;
  return result;
}

SaeEvaluation evaluate_sae(GPTImpl& teacher, TopKSaeImpl& sae, const TokenFile& file, int64_t seq_len, int64_t batch,
                           int64_t max_windows) {
  const auto& info = sae.info();
  const auto& tc = teacher.config();
  if (info.d != tc.n_embd)
    throw UsageError("SAE width d " + std::to_string(info.d) + " differs from the teacher's n_embd " +
                     std::to_string(tc.n_embd));
  if (info.layer > tc.n_layer)
    throw UsageError("SAE layer " + std::to_string(info.layer) + " exceeds the teacher's n_layer " +
                     std::to_string(tc.n_layer));
  if (batch < 1) throw UsageError("evaluate_sae: batch must be positive");
  torch::NoGradGuard no_grad;
  const auto starts = validation_window_starts(file.size(), seq_len, max_windows);
  if (starts.empty())
    throw RuntimeError(file.path() + ": holds " + std::to_string(file.size()) + " tokens, fewer than one window of " +
                       std::to_string(seq_len + 1));
  NormalizedErrorSums normalized, teacher_space;
  auto fired = torch::zeros({info.n_latents}, torch::kBool);  // [C]
  SaeEvaluation result;
  for (size_t begin = 0; begin < starts.size(); begin += static_cast<size_t>(batch)) {
    const size_t end = std::min(starts.size(), begin + static_cast<size_t>(batch));
    const std::vector<int64_t> chunk(starts.begin() + static_cast<std::ptrdiff_t>(begin),
                                     starts.begin() + static_cast<std::ptrdiff_t>(end));
    const auto inputs = read_batch(file, chunk, seq_len, tc.vocab_size).inputs;
    const auto h = teacher.hidden_after(inputs, info.layer).reshape({-1, info.d});  // [N, d]
    const auto code = sae.encode(h);
    const auto x_hat = sae.decode_normalized(code.z);  // [N, d]
    normalized.add(x_hat, code.norm.x);
    teacher_space.add(code.norm.denormalize(x_hat), h);
    fired |= (code.z > kLatentFiredThreshold).any(0);
    result.tokens += h.size(0);
  }
  result.nmse = normalized.value();
  result.fvu = teacher_space.value();
  result.dead_fraction = 1.0 - fired.to(torch::kFloat64).mean().item<double>();
  result.windows = static_cast<int64_t>(starts.size());
  return result;
}

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

std::string teacher_weights_file(const std::string& teacher_dir) {
  namespace fs = std::filesystem;
  const auto direct = fs::path(teacher_dir) / "model.safetensors";
  if (fs::is_regular_file(direct)) return direct.string();
  return (fs::path(resolve_checkpoint_dir(teacher_dir)) / "model.safetensors").string();
}

namespace {

using Clock = std::chrono::steady_clock;

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
  void resume(const std::string& checkpoint);
  void save_checkpoint_now();
  void log_interval();
  void validate();

  SaeTrainOptions o_;
  GPT teacher_{nullptr};
  std::string teacher_sha256_;
  std::optional<TokenFile> train_file_;
  std::optional<TokenFile> val_file_;
  std::unique_ptr<WindowSampler> sampler_;
  TopKSae sae_{nullptr};
  NamedParameters named_parameters_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<DeadLatentTracker> tracker_;
  std::unique_ptr<MetricsLog> metrics_;
  std::string checkpoints_dir_;
  int64_t k_aux_ = 0;
  SaeTrainSummary summary_;

  // Saved in trainer_state.json.
  int64_t step_ = 0;
  int64_t tokens_seen_ = 0;
  double sum_loss_ = 0, sum_nmse_ = 0, sum_fvu_ = 0, sum_aux_ = 0;  // since the last record
  int64_t sum_count_ = 0;

  // Wall clock only.
  Clock::time_point session_start_ = Clock::now();
  Clock::time_point interval_start_ = Clock::now();
  int64_t interval_tokens_ = 0;
  int64_t session_first_step_ = 0;
};

SaeRun::SaeRun(const SaeTrainOptions& options) : o_(options) {
  namespace fs = std::filesystem;
  o_.validate();
  torch::set_num_threads(static_cast<int>(o_.threads > 0 ? o_.threads : available_cores()));

  ensure_writable_directory(o_.out_dir);
  checkpoints_dir_ = (fs::path(o_.out_dir) / "checkpoints").string();
  const auto latest = checkpoint_to_resume(o_.out_dir, o_.resume, "-o");

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
  train_file_.emplace(TokenFile::open(o_.data, format));
  if (!o_.val.empty()) val_file_.emplace(TokenFile::open(o_.val, format));
  sampler_ = std::make_unique<WindowSampler>(train_file_->size(), o_.seq_len, /*random=*/true, o_.seed);

  SaeInfo info;
  info.d = tc.n_embd;
  info.n_latents = o_.latents;
  info.k = o_.k;
  info.layer = o_.layer;
  info.teacher_sha256 = teacher_sha256_;
  torch::manual_seed(o_.seed);
  sae_ = TopKSae(info);
  k_aux_ = o_.k_aux > 0 ? o_.k_aux : std::max<int64_t>(1, std::min(info.d / 2, info.n_latents));
  for (const auto& item : sae_->named_parameters()) named_parameters_.emplace_back(item.key(), item.value());
  optimizer_ = make_sae_optimizer(*sae_, o_.lr, o_.adam_eps);
  tracker_ = std::make_unique<DeadLatentTracker>(o_.latents, o_.dead_tokens);

  if (o_.resume) resume(*latest);
  metrics_ = std::make_unique<MetricsLog>(o_.out_dir, /*tensorboard=*/false, o_.resume ? step_ : -1);
}

void SaeRun::resume(const std::string& checkpoint) {
  const auto contents = load_checkpoint(checkpoint);
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
  step_ = json_field<int64_t>(st, "step", source);
  tokens_seen_ = json_field<int64_t>(st, "tokens_seen", source);
  sum_loss_ = json_field<double>(st, "sum_loss", source);
  sum_nmse_ = json_field<double>(st, "sum_nmse", source);
  sum_fvu_ = json_field<double>(st, "sum_fvu", source);
  sum_aux_ = json_field<double>(st, "sum_aux", source);
  sum_count_ = json_field<int64_t>(st, "sum_count", source);
  if (!st.contains("sampler")) throw RuntimeError(source + ": sampler: missing");
  sampler_->restore(st["sampler"], source);
  if (!st.contains("rng")) throw RuntimeError(source + ": rng: missing");
  restore_rng_state(st["rng"], source);
  log_info("resumed from " + checkpoint + " at step " + std::to_string(step_));
}

void SaeRun::save_checkpoint_now() {
  CheckpointContents contents;
  contents.model = sae_state(*sae_);
  contents.model[kTrackerTensor] = tracker_->tokens_since_fired();
  contents.optimizer = adamw_state(*optimizer_, named_parameters_);
  contents.trainer_state = {{"step", step_},           {"tokens_seen", tokens_seen_},  {"sum_loss", sum_loss_},
                            {"sum_nmse", sum_nmse_},   {"sum_fvu", sum_fvu_},          {"sum_aux", sum_aux_},
                            {"sum_count", sum_count_}, {"sampler", sampler_->state()}, {"rng", capture_rng_state()}};
  contents.config = o_.to_json();
  contents.config["teacher_sha256"] = teacher_sha256_;
  const auto path = save_checkpoint(checkpoints_dir_, step_, contents, o_.keep_checkpoints);
  log_info("checkpoint " + path);
}

void SaeRun::log_interval() {
  const double seconds = std::chrono::duration<double>(Clock::now() - interval_start_).count();
  const double tokens_per_second = seconds > 0 ? static_cast<double>(interval_tokens_) / seconds : -1;
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
  progress.elapsed_seconds = std::chrono::duration<double>(Clock::now() - session_start_).count();
  progress.steps_this_session = step_ - session_first_step_;
  log_info(format_sae_progress_line(progress));
  sum_loss_ = sum_nmse_ = sum_fvu_ = sum_aux_ = 0;
  sum_count_ = 0;
  interval_start_ = Clock::now();
  interval_tokens_ = 0;
}

void SaeRun::validate() {
  if (!val_file_) return;
  const auto result = evaluate_sae(*teacher_, *sae_, *val_file_, o_.seq_len, o_.batch, o_.val_windows);
  summary_.val_fvu = result.fvu;
  metrics_->write(step_, {{"val_nmse", result.nmse}, {"val_fvu", result.fvu}});
  log_info("step " + std::to_string(step_) + " | val_nmse " + std::to_string(result.nmse) + " | val_fvu " +
           std::to_string(result.fvu) + " (" + std::to_string(result.windows) + " windows)");
}

SaeTrainSummary SaeRun::run() {
  install_stop_signal_handlers();
  const auto& info = sae_->info();
  log_info("SAE d=" + std::to_string(info.d) + " C=" + std::to_string(info.n_latents) + " k=" + std::to_string(info.k) +
           " k_aux=" + std::to_string(k_aux_) + " on layer " + std::to_string(info.layer) + " of " + o_.teacher + "; " +
           std::to_string(o_.batch * o_.seq_len) + " tokens per step");
  session_start_ = interval_start_ = Clock::now();
  session_first_step_ = step_;
  int64_t last_saved = o_.resume ? step_ : -1;
  while (step_ < o_.steps) {
    if (stop_requested()) {
      summary_.interrupted = true;
      break;
    }
    const auto batch = read_batch(*train_file_, sampler_->next(o_.batch), o_.seq_len, teacher_->config().vocab_size);
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
    interval_tokens_ += h.size(0);
    sum_loss_ += result.loss;
    sum_nmse_ += result.nmse;
    sum_fvu_ += result.fvu;
    sum_aux_ += result.aux;
    ++sum_count_;
    summary_.last_fvu = result.fvu;
    if (!std::isfinite(result.loss))
      throw RuntimeError("step " + std::to_string(step_) + ": non-finite SAE loss " + std::to_string(result.loss) +
                         "; lower --lr");
    const bool last = step_ == o_.steps;
    if (step_ % o_.log_every == 0 || last) log_interval();
    if ((o_.eval_every > 0 && step_ % o_.eval_every == 0) || last) validate();
    if ((o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0) || last) {
      save_checkpoint_now();
      last_saved = step_;
    }
  }
  summary_.steps = step_;
  if (summary_.interrupted) {
    if (last_saved != step_) save_checkpoint_now();
    log_info("stopped by signal " + std::to_string(stop_signal()) + " at step " + std::to_string(step_) +
             "; continue with --resume");
    return summary_;
  }
  save_sae(*sae_, o_.out_dir);
  log_info("wrote " + o_.out_dir + "/sae.json and sae.safetensors");
  return summary_;
}

}  // namespace

SaeTrainSummary train_sae(const SaeTrainOptions& options) { return SaeRun(options).run(); }

}  // namespace cocomix
