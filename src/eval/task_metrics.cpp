// Per-document scores (lm_eval ConfigurableTask.process_results) and their
// aggregation (lm_eval/api/metrics.py), in double precision.
#include "cocomix/eval/task_metrics.h"

#include <cmath>

#include "cocomix/eval/tasks/python_text.h"

namespace cocomix {

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double mean_stderr(const std::vector<double>& values) {
  const auto n = static_cast<double>(values.size());
  if (values.size() < 2) return 0;
  const double mu = mean(values);
  double squares = 0;
  for (double v : values) squares += (v - mu) * (v - mu);
  return std::sqrt(squares / (n - 1)) / std::sqrt(n);
}

namespace {

double weighted_mean(const std::vector<std::pair<double, int64_t>>& items) {
  double a = 0;
  double b = 0;
  for (const auto& [value, count] : items) {
    a += value;
    b += static_cast<double>(count);
  }
  return a / b;
}

/// The index of the first maximum (numpy.argmax).
size_t argmax(const std::vector<double>& values) {
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

}  // namespace

double weighted_perplexity(const std::vector<std::pair<double, int64_t>>& items) {
  return std::exp(-weighted_mean(items));
}

double bits_per_byte(const std::vector<std::pair<double, int64_t>>& items) {
  return -weighted_mean(items) / std::log(2.0);
}

std::vector<Metric> task_metrics(const Task& task, const std::vector<std::vector<LoglikelihoodResult>>& results) {
  std::vector<Metric> metrics;
  if (task.output == TaskOutput::kLoglikelihood) {
    std::vector<double> loglikelihoods;
    std::vector<double> correct;
    for (const auto& doc : results) {
      loglikelihoods.push_back(doc[0].logprob);
      correct.push_back(doc[0].greedy ? 1.0 : 0.0);
    }
    metrics.push_back({"perplexity", std::exp(-mean(loglikelihoods)), false, 0});
    metrics.push_back({"acc", mean(correct), true, mean_stderr(correct)});
  } else if (task.output == TaskOutput::kRolling) {
    std::vector<std::pair<double, int64_t>> words;
    std::vector<std::pair<double, int64_t>> bytes;
    for (size_t d = 0; d < results.size(); ++d) {
      words.emplace_back(results[d][0].logprob, task.docs[d].words);
      bytes.emplace_back(results[d][0].logprob, task.docs[d].bytes);
    }
    metrics.push_back({"word_perplexity", weighted_perplexity(words), false, 0});
    metrics.push_back({"byte_perplexity", weighted_perplexity(bytes), false, 0});
    metrics.push_back({"bits_per_byte", bits_per_byte(bytes), false, 0});
  } else {
    std::vector<double> acc;
    std::vector<double> acc_norm;
    for (size_t d = 0; d < results.size(); ++d) {
      const auto& doc = task.docs[d];
      std::vector<double> lls;
      std::vector<double> normalised;
      for (size_t c = 0; c < results[d].size(); ++c) {
        lls.push_back(results[d][c].logprob);
        normalised.push_back(results[d][c].logprob / static_cast<double>(python_length(doc.choices[c])));
      }
      acc.push_back(static_cast<int64_t>(argmax(lls)) == doc.gold ? 1.0 : 0.0);
      acc_norm.push_back(static_cast<int64_t>(argmax(normalised)) == doc.gold ? 1.0 : 0.0);
    }
    metrics.push_back({"acc", mean(acc), true, mean_stderr(acc)});
    // The harness's winogrande and social_iqa YAMLs list acc only.
    if (task.name != "winogrande" && task.name != "social_iqa")
      metrics.push_back({"acc_norm", mean(acc_norm), true, mean_stderr(acc_norm)});
  }
  return metrics;
}

}  // namespace cocomix
