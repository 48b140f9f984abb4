// evaluate_perplexity: every position through RowScorer (the LM head and the
// fp32 log-softmax in row chunks, never the whole [B, T, V] logits); token
// losses summed in fp64 so the mean does not depend on the batch size.
#include "cocomix/eval/perplexity.h"

#include <torch/torch.h>

#include <cmath>

#include "cocomix/data/batch.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/model/autocast.h"
#include "cocomix/util/error.h"

namespace cocomix {

PerplexityResult evaluate_perplexity(const ScoringModel& model, const TokenFile& file,
                                     const PerplexityOptions& options) {
  const auto starts = validation_window_starts(file.size(), options.seq_len, options.max_windows);
  if (starts.empty())
    throw RuntimeError(file.path() + ": " + std::to_string(file.size()) +
                       " tokens are fewer than one validation window of " + std::to_string(options.seq_len + 1));
  torch::NoGradGuard no_grad;
  RowScorer scorer(model.unembedding, {.bf16 = options.bf16});
  double loss_sum = 0;
  int64_t tokens = 0;
  for (size_t first = 0; first < starts.size(); first += static_cast<size_t>(options.batch_size)) {
    const size_t last = std::min(starts.size(), first + static_cast<size_t>(options.batch_size));
    const std::vector<int64_t> chunk(starts.begin() + static_cast<std::ptrdiff_t>(first),
                                     starts.begin() + static_cast<std::ptrdiff_t>(last));
    auto batch = read_batch(file, chunk, options.seq_len, options.vocab_size);
    auto inputs = batch.inputs.to(options.device);
    auto targets = batch.targets.to(options.device);
    torch::Tensor hidden;
    {
      AutocastScope autocast(options.device.type(), options.bf16);
      hidden = model.hidden(inputs);  // [B, T, d]
    }
    const auto scores = scorer.score(hidden.reshape({-1, hidden.size(-1)}), targets.reshape({-1}));  // [B * T]
    loss_sum -= scores.logprob.sum(torch::kFloat64).item<double>();
    tokens += targets.numel();
  }
  PerplexityResult result;
  result.loss = loss_sum / static_cast<double>(tokens);
  result.perplexity = std::exp(result.loss);
  result.tokens = tokens;
  result.windows = static_cast<int64_t>(starts.size());
  return result;
}

}  // namespace cocomix
