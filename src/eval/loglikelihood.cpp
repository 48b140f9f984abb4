// score_requests / rolling_windows: HFLM._loglikelihood_tokens and the rolling
// windows of lm_eval.utils, on LibTorch. Right padding is safe for any causal
// model (NTP and CoCoMix alike): positions before a row's length never see the
// padding after it. The harness takes log_softmax over all [B, T, V] logits and
// then picks the continuation positions; picking the positions first and
// running the LM head on them alone gives the same rows.
#include "cocomix/eval/loglikelihood.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "cocomix/model/autocast.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

/// The model input of a request: (context + continuation)[-(L + 1):][:-1].
std::vector<int64_t> model_input(const TokenRequest& r, int64_t max_length) {
  std::vector<int64_t> whole(r.context);
  whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
  const size_t keep = std::min(whole.size(), static_cast<size_t>(max_length + 1));
  return std::vector<int64_t>(whole.end() - static_cast<std::ptrdiff_t>(keep), whole.end() - 1);
}

}  // namespace

std::vector<LoglikelihoodResult> score_requests(const ScoringModel& model,
                                                const std::vector<TokenRequest>& requests,
                                                const ScorerOptions& options) {
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (r.context.empty() || r.continuation.empty() ||
        static_cast<int64_t>(r.continuation.size()) > options.max_length)
      throw RuntimeError("loglikelihood request " + std::to_string(i) + ": context of " +
                         std::to_string(r.context.size()) + " and continuation of " +
                         std::to_string(r.continuation.size()) +
                         " tokens; both must be non-empty and the continuation at most the model's context " +
                         std::to_string(options.max_length));
  }
  // Longest first (the harness's order), so a batch pads little.
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto total = [&](size_t i) { return requests[i].context.size() + requests[i].continuation.size(); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return total(a) > total(b); });

  std::vector<LoglikelihoodResult> results(requests.size());
  torch::NoGradGuard no_grad;
  RowScorer scorer(model.unembedding, {options.bf16, options.greedy, options.chunk_rows});
  const auto device = model.unembedding.device();  // the model's: the batches go there
  for (size_t first = 0; first < order.size(); first += static_cast<size_t>(options.batch_size)) {
    const size_t last = std::min(order.size(), first + static_cast<size_t>(options.batch_size));
    std::vector<std::vector<int64_t>> inputs;
    int64_t width = 0;
    for (size_t k = first; k < last; ++k) {
      inputs.push_back(model_input(requests[order[k]], options.max_length));
      width = std::max(width, static_cast<int64_t>(inputs.back().size()));
    }
    const auto B = static_cast<int64_t>(inputs.size());
    auto batch = torch::zeros({B, width}, torch::kLong);  // [B, T], right-padded with token 0
    auto* data = batch.data_ptr<int64_t>();
    // The continuation's predictions are the last n positions of each row's input:
    // their flat indices into [B * T] and the tokens they predict, request after request.
    std::vector<int64_t> positions;
    std::vector<int64_t> targets;
    for (int64_t b = 0; b < B; ++b) {
      std::copy(inputs[b].begin(), inputs[b].end(), data + b * width);
      const auto& continuation = requests[order[first + static_cast<size_t>(b)]].continuation;
      const auto length = static_cast<int64_t>(inputs[b].size());
      const auto n = static_cast<int64_t>(continuation.size());
      for (int64_t t = length - n; t < length; ++t) positions.push_back(b * width + t);
      targets.insert(targets.end(), continuation.begin(), continuation.end());
    }
    torch::Tensor hidden;
    {
      AutocastScope autocast(device.type(), options.bf16);
      hidden = model.hidden(batch.to(device));  // [B, T, d]
    }
    const auto rows = hidden.reshape({B * width, hidden.size(-1)}).index_select(0, torch::tensor(positions).to(device));
    auto scores = scorer.score(rows, torch::tensor(targets).to(device));  // [N] per continuation token
    scores.logprob = scores.logprob.cpu();  // one copy per batch, read request by request below
    if (scores.greedy.defined()) scores.greedy = scores.greedy.cpu();
    int64_t offset = 0;
    for (int64_t b = 0; b < B; ++b) {
      auto& result = results[order[first + static_cast<size_t>(b)]];
      const auto n = static_cast<int64_t>(requests[order[first + static_cast<size_t>(b)]].continuation.size());
      result.logprob = scores.logprob.narrow(0, offset, n).sum().item<double>();  // an fp32 sum, as the harness's
      if (options.greedy) result.greedy = scores.greedy.narrow(0, offset, n).all().item<bool>();
      offset += n;
    }
  }
  return results;
}

std::vector<TokenRequest> rolling_windows(const std::vector<int64_t>& tokens, int64_t prefix, int64_t max_length) {
  std::vector<TokenRequest> windows;
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return windows;
  auto slice = [&](int64_t a, int64_t b) {
    return std::vector<int64_t>(tokens.begin() + a, tokens.begin() + b);
  };
  // First window: input [prefix] + tokens[:L-1], predictions tokens[:L]; disjoint context = [prefix].
  const int64_t first = std::min(max_length, n);
  windows.push_back({{prefix}, slice(0, first)});
  int64_t predicted = first;
  while (predicted < n) {
    const int64_t count = std::min(n - predicted, max_length);  // pred_len = max_length - context_len + 1
    const int64_t end = predicted + count;
    // Input tokens[end - L - 1 : end - 1] (Python slice, start clamped at 0), its first
    // len(input) - (count - 1) tokens the disjoint context.
    const int64_t input_begin = std::max<int64_t>(0, end - max_length - 1);
    const int64_t input_length = (end - 1) - input_begin;
    windows.push_back({slice(input_begin, input_begin + input_length - (count - 1)), slice(end - count, end)});
    predicted += count;
  }
  return windows;
}

}  // namespace cocomix
