// run_task: text requests -> token requests (HFLM's rules) -> scores -> metrics.
#include "cocomix/eval/task_runner.h"

#include <chrono>

#include "cocomix/eval/tasks/python_text.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

std::vector<int64_t> encode_ids(const Gpt2Tokenizer& tokenizer, std::string_view text) {
  const auto ids = tokenizer.encode(text);  // Hugging Face's tokenizer splits out <|endoftext|> too
  return std::vector<int64_t>(ids.begin(), ids.end());
}

}  // namespace

TokenRequest encode_request(const Gpt2Tokenizer& tokenizer, const TextRequest& request) {
  const auto eot = static_cast<int64_t>(tokenizer.end_of_text());
  if (request.context.empty()) {
    auto continuation = encode_ids(tokenizer, request.continuation);
    if (!continuation.empty() && continuation.front() == eot)
      return {{eot}, std::vector<int64_t>(continuation.begin() + 1, continuation.end())};
    return {{eot}, std::move(continuation)};
  }
  const std::string_view kept = python_rstrip(request.context);
  const std::string context(kept);
  const std::string continuation = request.context.substr(kept.size()) + request.continuation;
  auto whole = encode_ids(tokenizer, context + continuation);
  auto context_ids = encode_ids(tokenizer, context);
  const size_t split = std::min(context_ids.size(), whole.size());
  return {std::move(context_ids), std::vector<int64_t>(whole.begin() + static_cast<std::ptrdiff_t>(split), whole.end())};
}

TaskTokenRequests encode_task(const Task& task, const Gpt2Tokenizer& tokenizer, int64_t max_length) {
  TaskTokenRequests out;
  for (const auto& doc : task.docs) {
    out.doc_begin.push_back(out.requests.size());
    if (task.output == TaskOutput::kRolling) {
      auto windows = rolling_windows(encode_ids(tokenizer, doc.text), tokenizer.end_of_text(), max_length);
      for (auto& window : windows) out.requests.push_back(std::move(window));
    } else {
      for (size_t c = 0; c < doc.requests.size(); ++c) {
        auto request = encode_request(tokenizer, doc.requests[c]);
        if (static_cast<int64_t>(request.continuation.size()) > max_length)
          throw RuntimeError(doc.source + ": " +
                             (task.output == TaskOutput::kMultipleChoice ? "choice " + std::to_string(c)
                                                                         : std::string("the continuation")) +
                             " is " + std::to_string(request.continuation.size()) +
                             " tokens, more than the model's context of " + std::to_string(max_length) +
                             " (model.n_positions)");
        out.requests.push_back(std::move(request));
      }
    }
  }
  out.doc_begin.push_back(out.requests.size());
  return out;
}

TaskRun run_task(const Task& task, const Gpt2Tokenizer& tokenizer, const ScoringModel& model,
                 const ScorerOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto encoded = encode_task(task, tokenizer, options.max_length);
  ScorerOptions task_options = options;
  task_options.greedy = task.output == TaskOutput::kLoglikelihood;  // lambada's acc; task_metrics reads it nowhere else
  const auto scores = score_requests(model, encoded.requests, task_options);
  std::vector<std::vector<LoglikelihoodResult>> per_doc(task.docs.size());
  for (size_t d = 0; d < task.docs.size(); ++d) {
    const size_t begin = encoded.doc_begin[d];
    const size_t end = encoded.doc_begin[d + 1];
    if (task.output == TaskOutput::kRolling) {
      LoglikelihoodResult sum;  // the document's rolling log-likelihood: its windows summed
      for (size_t r = begin; r < end; ++r) sum.logprob += scores[r].logprob;
      per_doc[d].push_back(sum);
    } else {
      per_doc[d].assign(scores.begin() + static_cast<std::ptrdiff_t>(begin),
                        scores.begin() + static_cast<std::ptrdiff_t>(end));
    }
  }
  TaskRun run;
  run.metrics = task_metrics(task, per_doc);
  run.examples = static_cast<int64_t>(task.docs.size());
  run.requests = static_cast<int64_t>(encoded.requests.size());
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace cocomix
