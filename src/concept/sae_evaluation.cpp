// evaluate_sae: pooled reconstruction errors over validation windows.
#include "cocomix/concept/sae_evaluation.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "cocomix/concept/sae_losses.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/util/error.h"

namespace cocomix {

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

}  // namespace cocomix
