// evaluate_perplexity: every position through RowScorer (the LM head and the
// fp32 log-softmax in row chunks, never the whole [B, T, V] logits); token
// losses summed in fp64 so the mean does not depend on the batch size.
#include "cocomix/eval/perplexity.h"

#include <torch/torch.h>

#include <cmath>

#include "cocomix/data/batch.h"
#include "cocomix/model/autocast.h"
#include "cocomix/util/error.h"

namespace cocomix {

PerplexityResult evaluate_perplexity(const ScoringModel& model, const TokenCorpus& corpus,
                                     const PerplexityOptions& options) {
  torch::NoGradGuard no_grad;
  RowScorer scorer(model.unembedding, {.bf16 = options.bf16});
  double loss_sum = 0;
  int64_t tokens = 0;
  const int64_t windows = for_each_validation_batch(
      corpus, options.seq_len, options.max_windows, options.batch_size, options.vocab_size, [&](const Batch& batch) {
        const auto inputs = batch.inputs.to(options.device);
        const auto targets = batch.targets.to(options.device);
        torch::Tensor hidden;
        {
          AutocastScope autocast(options.device.type(), options.bf16);
          hidden = model.hidden(inputs);  // [B, T, d]
        }
        const auto scores = scorer.score(hidden.reshape({-1, hidden.size(-1)}), targets.reshape({-1}));  // [B * T]
        loss_sum -= scores.logprob.sum(torch::kFloat64).item<double>();
        tokens += targets.numel();
      });
  PerplexityResult result;
  result.loss = loss_sum / static_cast<double>(tokens);
  result.perplexity = std::exp(result.loss);
  result.tokens = tokens;
  result.windows = windows;
  return result;
}

}  // namespace cocomix
