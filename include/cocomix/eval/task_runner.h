// Runs one task on a model: its text requests tokenized the way HFLM does
// (TemplateLM.loglikelihood / _encode_pair; rolling texts in disjoint windows
// after an end-of-text token), scored in batches, aggregated into metrics.
#pragma once

#include <cstdint>
#include <vector>

#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/eval/loglikelihood.h"
#include "cocomix/eval/task_metrics.h"
#include "cocomix/eval/tasks/task.h"

namespace cocomix {

/// HFLM's tokenization of one (context, continuation) pair: whitespace at the
/// end of the context moves to the continuation; the continuation's ids are
/// those of encode(context + continuation) after encode(context)'s length. An
/// empty context becomes [end-of-text] (or the continuation's first id, when that
/// is end-of-text already).
TokenRequest encode_request(const Gpt2Tokenizer& tokenizer, const TextRequest& request);

/// The token requests of every document of `task` (multiple choice: one per
/// choice; rolling: the windows of the text), and where each document's begin.
struct TaskTokenRequests {
  std::vector<TokenRequest> requests;
  std::vector<size_t> doc_begin;  ///< document d owns requests [doc_begin[d], doc_begin[d + 1])
};
/// A continuation longer than max_length tokens (the model's context) cannot be
/// scored: RuntimeError naming the document's FILE:LINE and the choice.
TaskTokenRequests encode_task(const Task& task, const Gpt2Tokenizer& tokenizer, int64_t max_length);

struct TaskRun {
  std::vector<Metric> metrics;
  int64_t examples = 0;  ///< documents scored
  int64_t requests = 0;  ///< loglikelihood requests (windows for rolling tasks)
  double seconds = 0;    ///< tokenizing + scoring
};

/// Tokenizes, scores and aggregates `task` (the greedy flags only for kLoglikelihood
/// tasks, whose acc needs them; options.greedy is ignored).
TaskRun run_task(const Task& task, const Gpt2Tokenizer& tokenizer, const ScoringModel& model,
                 const ScorerOptions& options);

}  // namespace cocomix
