// The SAE's loss terms, dead-latent tracking and decoder constraints.
#include "cocomix/concept/sae_losses.h"

#include <torch/torch.h>

#include <algorithm>

#include "cocomix/concept/top_k.h"
#include "cocomix/util/error.h"

namespace cocomix {

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

}  // namespace cocomix
