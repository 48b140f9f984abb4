// Task metrics and their standard errors as lm_eval/api/metrics.py computes
// them: mean with mean_stderr (sample standard deviation / sqrt(n)) for acc and
// acc_norm; perplexity = exp(-mean(loglikelihoods)) for lambada; and the
// weighted metrics of wikitext (word_perplexity, byte_perplexity, bits_per_byte).
// The harness bootstraps the perplexity stderr (100000 resamples) and reports
// none for the weighted metrics: cocomix-eval reports no stderr for those.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/eval/loglikelihood.h"
#include "cocomix/eval/tasks/task.h"

namespace cocomix {

double mean(const std::vector<double>& values);
/// sample_stddev(values) / sqrt(n) (0 for fewer than two values, where the harness divides by zero).
double mean_stderr(const std::vector<double>& values);
/// exp(-sum(loglikelihood) / sum(count)) over (loglikelihood, count) pairs.
double weighted_perplexity(const std::vector<std::pair<double, int64_t>>& items);
/// -sum(loglikelihood) / sum(count) / ln 2.
double bits_per_byte(const std::vector<std::pair<double, int64_t>>& items);

/// One reported number: `stderr_known` false where the harness has no closed form.
struct Metric {
  std::string name;
  double value = 0;
  bool stderr_known = false;
  double stderr_value = 0;
};

/// The metrics of `task` from the results of its requests: `results[d]` holds
/// document d's request results in order (kRolling: the one summed log-likelihood).
std::vector<Metric> task_metrics(const Task& task, const std::vector<std::vector<LoglikelihoodResult>>& results);

}  // namespace cocomix
