// The batched log-likelihood scorer against lm-evaluation-harness's HFLM on the
// same tiny random GPT-2 (tests/reference/make_eval_scores.py): every request's
// log-probability within 1e-5 relative and its greedy flag exactly, rolling
// log-likelihoods too; metric aggregation against lm_eval.api.metrics; for a
// CoCoMix objective, that right padding in a batch changes no score; and the
// chunked RowScorer against torch's log_softmax / argmax over whole logits:
// greedy ties (the first maximum wins), rows of one request in several chunks,
// bf16 logits.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cocomix/config/config.h"
#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/eval/loglikelihood.h"
#include "cocomix/eval/task_metrics.h"
#include "cocomix/eval/task_runner.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/gpt.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/objective/make_objective.h"
#include "cocomix/objective/objective.h"
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
  CocomixModel student{nullptr};
  GPT model{nullptr};
  TinyGpt2()
      : config(load_config(scores_dir() + "config.json")),
        student(config.model, config.concepts),
        model(student->gpt()) {
    load_gpt_state_dict(*model, load_safetensors(scores_dir() + "model.safetensors"), scores_dir() + "model.safetensors");
    student->eval();
  }
  ScoringModel scoring() { return scoring_model(student); }
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
    options.greedy = true;
    const auto results = score_requests(tiny.scoring(), requests, options);
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
    for (const auto& result : score_requests(tiny.scoring(), windows, options)) sum += result.logprob;
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
  objective->model()->load_state_dict(load_safetensors(dir + "/student.safetensors"), dir + "/student.safetensors");
  objective->model()->train(false);
  const auto model = scoring_model(objective->model());
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
  one.greedy = true;
  ScorerOptions batched = one;
  batched.batch_size = 5;  // one batch padded to the longest
  const auto alone = score_requests(model, requests, one);
  const auto padded = score_requests(model, requests, batched);
  for (size_t i = 0; i < requests.size(); ++i) {
    expect_close(padded[i].logprob, alone[i].logprob, "request " + std::to_string(i));
    EXPECT_EQ(padded[i].greedy, alone[i].greedy);
  }
}

/// Row scores the plain way: the whole logits, torch's fp32 log_softmax and argmax.
RowScores reference_rows(const torch::Tensor& logits, const torch::Tensor& targets) {
  const auto log_probs = torch::log_softmax(logits.to(torch::kFloat32), 1);  // [N, V]
  return {log_probs.gather(1, targets.unsqueeze(1)).squeeze(1), log_probs.argmax(1).eq(targets)};
}

TEST(EvalScorer, GreedyTiesGoToTheFirstMaximumOfTheLogSoftmax) {
  // logits = hidden · Wᵀ with hidden = [1, 0]: the first column of W.
  // Row 0: [1, 3, 3, 2, 0, 3]: 3 first at index 1. Row 1: logits 0 and 1e-8
  // differ, but 1e-8 - log(2) rounds to -log(2) in fp32: the log-softmax ties them
  // and torch.argmax of the harness's log_softmax picks index 0.
  const auto W0 = torch::tensor({1.0, 3.0, 3.0, 2.0, 0.0, 3.0}, torch::kFloat32);
  const auto W1 = torch::tensor({0.0, 1e-8, -50.0, -50.0, -50.0, -50.0}, torch::kFloat32);
  RowScorer scorer(torch::stack({W0, torch::zeros_like(W0)}, 1), {.greedy = true});       // [6, 2]
  RowScorer near_tie(torch::stack({W1, torch::zeros_like(W1)}, 1), {.greedy = true});     // [6, 2]
  const auto ones = torch::tensor({1.0F, 0.0F}).repeat({6, 1});                            // [6, 2]
  const auto targets = torch::arange(6, torch::kLong);
  const auto ties = scorer.score(ones, targets);
  const std::vector<bool> want_ties = {false, true, false, false, false, false};
  const auto reference = reference_rows(ones.mm(torch::stack({W0, torch::zeros_like(W0)}, 1).t()), targets);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(ties.greedy[i].item<bool>(), want_ties[static_cast<size_t>(i)]) << "target " << i;
    EXPECT_EQ(ties.greedy[i].item<bool>(), reference.greedy[i].item<bool>()) << "target " << i;
    EXPECT_EQ(ties.logprob[i].item<float>(), reference.logprob[i].item<float>()) << "target " << i;
  }
  const auto rounded = near_tie.score(ones.narrow(0, 0, 2), torch::tensor({int64_t{0}, int64_t{1}}));
  const auto log_probs = torch::log_softmax(W1.unsqueeze(0), 1);
  ASSERT_EQ(log_probs[0][0].item<float>(), log_probs[0][1].item<float>()) << "fp32 rounding no longer ties them";
  EXPECT_TRUE(rounded.greedy[0].item<bool>());
  EXPECT_FALSE(rounded.greedy[1].item<bool>());  // although logit 1 is the larger one
}

TEST(EvalScorer, RowsAcrossChunksMatchWholeLogSoftmax) {
  torch::manual_seed(5);
  const auto weight = torch::randn({37, 8});   // [V, d]
  const auto hidden = torch::randn({11, 8});   // [N, d]
  const auto targets = torch::randint(37, {11}, torch::kLong);
  const auto logits = hidden.mm(weight.t());  // [N, V]
  targets[4] = logits[4].argmax();           // at least one greedy row
  const auto want = reference_rows(logits, targets);
  for (const int64_t chunk_rows : {1, 4, 11, 64}) {
    RowScorer scorer(weight, {.greedy = true, .chunk_rows = chunk_rows});
    const auto got = scorer.score(hidden, targets);
    EXPECT_TRUE(torch::allclose(got.logprob, want.logprob, 1e-6, 1e-6)) << "chunk_rows " << chunk_rows;
    EXPECT_TRUE(torch::equal(got.greedy, want.greedy)) << "chunk_rows " << chunk_rows;
    EXPECT_TRUE(got.greedy[4].item<bool>());
  }
  // bf16: the logits of a bf16 linear under autocast, widened, then the fp32 log_softmax.
  torch::Tensor bf16_logits;
  {
    AutocastScope autocast(c10::DeviceType::CPU, true);
    bf16_logits = torch::linear(hidden, weight);  // [N, V] bf16
  }
  ASSERT_EQ(bf16_logits.scalar_type(), torch::kBFloat16);
  const auto want_bf16 = reference_rows(bf16_logits, targets);
  RowScorer bf16(weight, {.bf16 = true, .greedy = true, .chunk_rows = 4});
  const auto got_bf16 = bf16.score(hidden, targets);
  EXPECT_TRUE(torch::allclose(got_bf16.logprob, want_bf16.logprob, 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(got_bf16.greedy, want_bf16.greedy));
  EXPECT_FALSE(torch::allclose(got_bf16.logprob, want.logprob, 1e-4, 1e-4));  // bf16 rounding is visible
}

TEST(EvalScorer, RequestsStraddlingChunksMatchWholeLogSoftmax) {
  TinyGpt2 tiny;
  torch::manual_seed(7);
  std::vector<TokenRequest> requests;
  for (const auto& [context, continuation] : std::vector<std::pair<int64_t, int64_t>>{{9, 7}, {3, 5}, {20, 1}, {1, 6}}) {
    const auto tokens = torch::randint(tiny.config.model.vocab_size, {context + continuation}, torch::kLong);
    const int64_t* ids = tokens.data_ptr<int64_t>();
    requests.push_back({std::vector<int64_t>(ids, ids + context),
                        std::vector<int64_t>(ids + context, ids + context + continuation)});
  }
  // Greedy continuations too: the model's own argmax after a context.
  for (int64_t length : {1, 3}) {
    TokenRequest greedy{{50, 60, 70}, {}};
    for (int64_t k = 0; k < length; ++k) {
      std::vector<int64_t> input(greedy.context);
      input.insert(input.end(), greedy.continuation.begin(), greedy.continuation.end());
      const auto logits = tiny.model->forward(torch::tensor(input).unsqueeze(0));  // [1, T, V]
      greedy.continuation.push_back(logits[0][-1].argmax().item<int64_t>());
    }
    requests.push_back(greedy);
  }
  ScorerOptions options;
  options.max_length = tiny.config.model.n_positions;
  options.batch_size = 3;
  options.greedy = true;
  options.chunk_rows = 3;  // 7 + 5 + 1 rows in the first batch: requests cross chunk boundaries
  const auto results = score_requests(tiny.scoring(), requests, options);
  int greedy = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    std::vector<int64_t> input(requests[i].context);
    input.insert(input.end(), requests[i].continuation.begin(), requests[i].continuation.end() - 1);
    const auto n = static_cast<int64_t>(requests[i].continuation.size());
    const auto logits = tiny.model->forward(torch::tensor(input).unsqueeze(0))[0];  // [T, V]
    const auto want = reference_rows(logits.narrow(0, logits.size(0) - n, n), torch::tensor(requests[i].continuation));
    expect_close(results[i].logprob, want.logprob.sum().item<double>(), "request " + std::to_string(i));
    EXPECT_EQ(results[i].greedy, want.greedy.all().item<bool>()) << "request " << i;
    greedy += results[i].greedy;
  }
  EXPECT_EQ(greedy, 2);
}

}  // namespace
}  // namespace cocomix
