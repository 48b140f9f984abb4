// RowScorer: the LM head and the log-softmax of a few rows at a time, into
// buffers allocated once. Precision, as lm-evaluation-harness's HFLM (and
// torch::linear under bf16 autocast) has it:
// - fp32: logits = hidden · Wᵀ in fp32, log_softmax in fp32.
// - bf16: hidden and W rounded to bf16, the matmul's result rounded to bf16
//   (what autocast's linear returns), then widened to fp32 for log_softmax.
// Either way the log-softmax is torch's own kernel on the fp32 logits, so a row
// scores exactly as the same row of log_softmax(logits[B, T, V]) would.
#include "cocomix/eval/row_scorer.h"

#include <torch/torch.h>

#include <algorithm>

#include "cocomix/util/error.h"

namespace cocomix {

ScoringModel scoring_model(CocomixModel model) {
  return {[model](const torch::Tensor& inputs) mutable { return model->final_hidden(inputs); }, model->unembedding()};
}

RowScorer::RowScorer(const torch::Tensor& unembedding, const RowScorerOptions& options) : options_(options) {
  if (options.chunk_rows < 1)
    throw UsageError("RowScorer: chunk_rows " + std::to_string(options.chunk_rows) + " must be at least 1");
  if (unembedding.dim() != 2)
    throw UsageError("RowScorer: the unembedding must be [V, d], got " + std::to_string(unembedding.dim()) + " dims");
  // Stored transposed: the matmul with a contiguous [d, V] runs ~1.4x faster on CPU than with the
  // [V, d] weight's transpose view (MKL's NN vs TN kernel), with the same sums over d.
  weight_t_ = unembedding.detach().to(options.bf16 ? torch::kBFloat16 : torch::kFloat32).t().contiguous();  // [d, V]
  const int64_t V = weight_t_.size(1);
  logits_ = torch::empty({options.chunk_rows, V}, weight_t_.options());
  if (options.bf16) logits_fp32_ = torch::empty({options.chunk_rows, V}, weight_t_.options().dtype(torch::kFloat32));
  log_softmax_ = torch::empty({options.chunk_rows, V}, weight_t_.options().dtype(torch::kFloat32));
}

RowScores RowScorer::score(const torch::Tensor& hidden, const torch::Tensor& targets) {
  if (hidden.dim() != 2 || hidden.size(1) != weight_t_.size(0) || targets.dim() != 1 ||
      targets.size(0) != hidden.size(0))
    throw UsageError("RowScorer.score: hidden must be [N, " + std::to_string(weight_t_.size(0)) +
                     "] and targets [N], got " + std::to_string(hidden.dim()) + "-dim hidden and " +
                     std::to_string(targets.numel()) + " targets");
  torch::NoGradGuard no_grad;
  const int64_t N = hidden.size(0);
  RowScores out;
  out.logprob = torch::empty({N}, log_softmax_.options());
  if (options_.greedy) out.greedy = torch::empty({N}, log_softmax_.options().dtype(torch::kBool));
  const auto rows = hidden.to(weight_t_.scalar_type());  // [N, d]
  for (int64_t begin = 0; begin < N; begin += options_.chunk_rows) {
    const int64_t count = std::min(options_.chunk_rows, N - begin);
    auto logits = logits_.narrow(0, 0, count);  // [count, V]
    at::mm_out(logits, rows.narrow(0, begin, count), weight_t_);
    if (options_.bf16) logits = logits_fp32_.narrow(0, 0, count).copy_(logits);
    auto log_probs = log_softmax_.narrow(0, 0, count);  // [count, V]
    at::_log_softmax_out(log_probs, logits, 1, /*half_to_float=*/false);
    const auto target = targets.narrow(0, begin, count);            // [count]
    const auto picked = log_probs.gather(1, target.unsqueeze(1)).squeeze(1);  // [count]
    out.logprob.narrow(0, begin, count).copy_(picked);
    if (!options_.greedy) continue;
    // torch.argmax(row) == target: the target holds the row's maximum and no
    // earlier index holds the same value (argmax returns the first maximum).
    const auto best = log_probs.amax(1);  // [count]
    auto greedy = out.greedy.narrow(0, begin, count);
    greedy.copy_(picked.eq(best));
    const auto candidates = greedy.nonzero().squeeze(1).cpu();  // rows whose target is a maximum
    const auto target_cpu = target.cpu();
    for (int64_t k = 0; k < candidates.size(0); ++k) {
      const int64_t r = candidates[k].item<int64_t>();
      const int64_t t = target_cpu[r].item<int64_t>();
      if (t > 0 && log_probs[r].narrow(0, 0, t).amax().ge(best[r]).item<bool>()) greedy[r].fill_(false);
    }
  }
  return out;
}

}  // namespace cocomix
