// The batched log-likelihood scorer against lm-evaluation-harness's HFLM on the
// same tiny random GPT-2 (tests/reference/make_eval_scores.py): every request's
// log-probability within 1e-5 relative and its greedy flag exactly, rolling
// log-likelihoods too; metric aggregation against lm_eval.api.metrics; and, for
// a CoCoMix objective, that right padding in a batch changes no score.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cocomix/concept/objective_factory.h"
#include "cocomix/config/config.h"
#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/eval/loglikelihood.h"
#include "cocomix/eval/task_metrics.h"
#include "cocomix/eval/task_runner.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/gpt.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/util/fs.h"
#include "test_env.h"

namespace cocomix {
namespace {

constexpr double kRelative = 1e-5;

std::string scores_dir() { return test_env_dir("COCOMIX_REFERENCE_DIR") + "/eval_scores/"; }

const nlohmann::json& scores() {
  static const auto loaded = nlohmann::json::parse(read_whole_file(scores_dir() + "scores.json"));
  return loaded;
}

const Gpt2Tokenizer& tokenizer() {
  static const Gpt2Tokenizer loaded = Gpt2Tokenizer::load(test_env_dir("COCOMIX_SHARED_DATA") + "/gpt2_tokenizer");
  return loaded;
}

struct TinyGpt2 {
  Config config;
  GPT model{nullptr};
  TinyGpt2() : config(load_config(scores_dir() + "config.json")), model(config.model) {
    load_gpt_state_dict(*model, load_safetensors(scores_dir() + "model.safetensors"), scores_dir() + "model.safetensors");
    model->eval();
  }
  LogitsFunction logits() {
    return [this](const torch::Tensor& x) { return model->forward(x); };
  }
};

void expect_close(double ours, double reference, const std::string& what) {
  EXPECT_LE(std::abs(ours - reference), kRelative * std::abs(reference)) << what << ": " << ours << " vs " << reference;
}

TEST(EvalScorer, LoglikelihoodsAndGreedyFlagsMatchHflm) {
  TinyGpt2 tiny;
  std::vector<TokenRequest> requests;
  for (const auto& r : scores()["requests"])
    requests.push_back(encode_request(tokenizer(), {r["context"].get<std::string>(), r["continuation"].get<std::string>()}));
  ASSERT_GE(requests.size(), 40u);
  for (const int64_t batch_size : {1, 3, 16}) {
    ScorerOptions options;
    options.max_length = tiny.config.model.n_positions;  // 64: long requests are cut from the left
    options.batch_size = batch_size;
    const auto results = score_requests(tiny.logits(), requests, options);
    int greedy = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& want = scores()["requests"][i];
      expect_close(results[i].logprob, want["logprob"].get<double>(), "request " + std::to_string(i));
      EXPECT_EQ(results[i].greedy, want["greedy"].get<bool>()) << "request " << i;
      greedy += results[i].greedy;
    }
    EXPECT_GE(greedy, 3);
  }
}

TEST(EvalScorer, RollingLoglikelihoodsMatchHflm) {
  TinyGpt2 tiny;
  ScorerOptions options;
  options.max_length = tiny.config.model.n_positions;
  options.batch_size = 5;
  for (const auto& r : scores()["rolling"]) {
    const auto ids = tokenizer().encode(r["text"].get<std::string>());
    const auto windows = rolling_windows(std::vector<int64_t>(ids.begin(), ids.end()), tokenizer().end_of_text(),
                                         options.max_length);
    ASSERT_GT(windows.size(), 2u);  // several windows of 64
    double sum = 0;
    for (const auto& result : score_requests(tiny.logits(), windows, options)) sum += result.logprob;
    expect_close(sum, r["logprob"].get<double>(), "rolling");
  }
}

TEST(EvalScorer, MetricsMatchLmEvalAggregations) {
  const auto& input = scores()["metrics_input"];
  const auto& want = scores()["metrics"];
  const auto acc = input["acc"].get<std::vector<double>>();
  EXPECT_DOUBLE_EQ(mean(acc), want["acc"].get<double>());
  EXPECT_NEAR(mean_stderr(acc), want["acc_stderr"].get<double>(), 1e-12);
  std::vector<std::pair<double, int64_t>> weighted;
  for (const auto& item : input["weighted"]) weighted.emplace_back(item[0].get<double>(), item[1].get<int64_t>());
  EXPECT_NEAR(weighted_perplexity(weighted), want["weighted_perplexity"].get<double>(), 1e-12);
  EXPECT_NEAR(bits_per_byte(weighted), want["bits_per_byte"].get<double>(), 1e-12);

  // lambada-style: perplexity = exp(-mean ll), acc = mean greedy.
  Task lambada{"lambada_openai", TaskOutput::kLoglikelihood, {}};
  std::vector<std::vector<LoglikelihoodResult>> results;
  const auto lls = input["lls"].get<std::vector<double>>();
  for (size_t i = 0; i < lls.size(); ++i) {
    lambada.docs.emplace_back();
    results.push_back({{lls[i], i % 2 == 0}});
  }
  const auto metrics = task_metrics(lambada, results);
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].name, "perplexity");
  EXPECT_NEAR(metrics[0].value, want["perplexity"].get<double>(), 1e-12);
  EXPECT_FALSE(metrics[0].stderr_known);  // the harness bootstraps it
  EXPECT_EQ(metrics[1].name, "acc");
  EXPECT_DOUBLE_EQ(metrics[1].value, 3.0 / 5.0);

  // Multiple choice by hand: acc takes the largest log-likelihood, acc_norm divides
  // by the choice's length in code points ("é" is one).
  Task mc{"piqa", TaskOutput::kMultipleChoice, {}};
  TaskDoc doc;
  doc.choices = {"ab", "caf\xC3\xA9 au lait", "x"};  // lengths 2, 12, 1
  doc.gold = 1;
  mc.docs = {doc, doc};
  const std::vector<std::vector<LoglikelihoodResult>> mc_results = {
      {{-3.0, false}, {-12.0, false}, {-2.0, false}},   // acc picks 2, acc_norm: -1.5, -1.0, -2.0 -> 1
      {{-5.0, false}, {-4.0, false}, {-6.0, false}}};  // acc picks 1, acc_norm picks 1
  const auto mc_metrics = task_metrics(mc, mc_results);
  ASSERT_EQ(mc_metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(mc_metrics[0].value, 0.5);
  EXPECT_NEAR(mc_metrics[0].stderr_value, 0.5, 1e-12);  // sample stddev 0.7071 / sqrt(2)
  EXPECT_DOUBLE_EQ(mc_metrics[1].value, 1.0);
}

TEST(EvalScorer, CoCoMixRightPaddingChangesNoScore) {
  const std::string dir = test_env_dir("COCOMIX_REFERENCE_DIR") + "/cocomix_step";
  const auto config = load_config(dir + "/config.json");
  auto objective = make_objective(config, /*with_teacher=*/false);
  objective->load_state_dict(load_safetensors(dir + "/student.safetensors"), dir + "/student.safetensors");
  objective->train(false);
  const LogitsFunction logits = [&](const torch::Tensor& x) { return objective->logits(x); };
  torch::manual_seed(3);
  std::vector<TokenRequest> requests;
  for (const int64_t length : {3, 11, 6, 14, 2}) {
    const auto tokens = torch::randint(config.model.vocab_size, {length + 2}, torch::kLong);
    const int64_t* ids = tokens.data_ptr<int64_t>();
    TokenRequest request;
    request.context.assign(ids, ids + length);
    request.continuation.assign(ids + length, ids + length + 2);
    requests.push_back(request);
  }
  ScorerOptions one;
  one.max_length = config.model.n_positions;
  one.batch_size = 1;  // every request alone: no padding
  ScorerOptions batched = one;
  batched.batch_size = 5;  // one batch padded to the longest
  const auto alone = score_requests(logits, requests, one);
  const auto padded = score_requests(logits, requests, batched);
  for (size_t i = 0; i < requests.size(); ++i) {
    expect_close(padded[i].logprob, alone[i].logprob, "request " + std::to_string(i));
    EXPECT_EQ(padded[i].greedy, alone[i].greedy);
  }
}

}  // namespace
}  // namespace cocomix
