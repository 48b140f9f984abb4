// generate: prefill, then one token per prompt and step, batched with the
// caches or one prompt at a time without them.
#include "cocomix/generate/generator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>

#include "cocomix/util/error.h"

namespace cocomix {

const char* name_of(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfText:
      return "end_of_text";
    case StopReason::kMaxNewTokens:
      return "max_new_tokens";
    case StopReason::kContext:
      return "context";
  }
  return "?";
}

namespace {

/// One prompt's generation in progress.
class Row {
 public:
  Row(const std::vector<int64_t>& prompt, uint64_t seed)
      : sequence_(prompt), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  bool done() const { return done_; }
  const std::vector<int64_t>& sequence() const { return sequence_; }
  Generation& result() { return out_; }

  /// Stops before a step when the model cannot read the whole sequence: it reads
  /// at most n_positions tokens, and the token after a full context is still predicted.
  void check_context(int64_t n_positions) {
    if (!done_ && static_cast<int64_t>(sequence_.size()) > n_positions) finish(StopReason::kContext);
  }

  /// The next token from `logits` [V] (CPU); stops at end-of-text or max_new_tokens.
  void take(const torch::Tensor& logits, const GenerationOptions& options) {
    const int64_t token = next_token(logits, options.sampling, generator_);
    out_.tokens.push_back(token);
    sequence_.push_back(token);
    if (token == options.end_of_text)
      finish(StopReason::kEndOfText);
    else if (static_cast<int64_t>(out_.tokens.size()) == options.max_new_tokens)
      finish(StopReason::kMaxNewTokens);
  }

  void finish(StopReason reason) {
    out_.stop = reason;
    done_ = true;
  }

 private:
  std::vector<int64_t> sequence_;
  at::Generator generator_;
  Generation out_;
  bool done_ = false;
};

/// Appends row `b`'s kept concepts at the last tokens.size() columns of `prediction`.
void record_concepts(const ConceptPrediction& prediction, int64_t b, const std::vector<int64_t>& tokens,
                     std::vector<PredictedConcepts>& out) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const auto ids = prediction.top_indices[b].slice(0, -n).to(torch::kCPU).contiguous();                   // [n, k]
  const auto values = prediction.top_values[b].slice(0, -n).to(torch::kCPU, torch::kDouble).contiguous();  // [n, k]
  const int64_t k = ids.size(1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* id = ids[i].data_ptr<int64_t>();
    const double* value = values[i].data_ptr<double>();
    out.push_back({tokens[static_cast<size_t>(i)], {id, id + k}, {value, value + k}});
  }
}

/// Next-token logits [B, V] (CPU) from the slots after the last block [B, T, d].
torch::Tensor last_logits(CocomixModel& model, const torch::Tensor& slots) {
  const auto last = model->gpt()->final_norm(slots.select(1, -1));  // [B, d]
  return torch::linear(last, model->unembedding()).to(torch::kCPU);   // [B, V]
}

/// Without the cache: every step runs each unfinished row's whole sequence.
void generate_recomputing(CocomixModel& model, std::vector<Row>& rows, const GenerationOptions& options) {
  const auto device = model->unembedding().device();
  const int64_t n_positions = model->gpt()->config().n_positions;
  for (auto& row : rows) {
    for (int64_t fresh = static_cast<int64_t>(row.sequence().size()); !row.done(); fresh = 1) {
      row.check_context(n_positions);
      if (row.done()) break;
      const auto& sequence = row.sequence();
      const auto out =
          model->forward(torch::tensor(sequence, torch::kLong).unsqueeze(0).to(device), nullptr, options.steering);
      if (options.explain)
        record_concepts(out.prediction, 0, {sequence.end() - fresh, sequence.end()}, row.result().concepts);
      row.take(last_logits(model, out.slots)[0], options);
    }
  }
}

/// With the cache: the rows left-padded into one batch, then one column per step;
/// a finished row is fed its last token again and its outputs are ignored.
void generate_cached(CocomixModel& model, std::vector<Row>& rows, const GenerationOptions& options) {
  const auto device = model->unembedding().device();
  const int64_t n_positions = model->gpt()->config().n_positions;
  const int64_t B = static_cast<int64_t>(rows.size());
  size_t longest = 0;
  for (const auto& row : rows) longest = std::max(longest, row.sequence().size());
  auto columns = torch::zeros({B, static_cast<int64_t>(longest)}, torch::kLong);  // padding id 0, never read
  auto padding = torch::zeros({B}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& prompt = rows[static_cast<size_t>(b)].sequence();
    const int64_t pad = static_cast<int64_t>(longest - prompt.size());
    padding[b] = pad;
    columns[b].slice(0, pad).copy_(torch::tensor(prompt, torch::kLong));
  }
  // A batch without padding decodes as a single prompt does, on the mask-free path.
  DecodeState state = model->begin_decoding(padding.any().item<bool>() ? padding.to(device) : torch::Tensor());
  for (bool prefill = true;; prefill = false) {
    for (auto& row : rows) row.check_context(n_positions);
    if (std::all_of(rows.begin(), rows.end(), [](const Row& row) { return row.done(); })) return;
    const auto out = model->forward(columns.to(device), &state, options.steering);
    const auto logits = last_logits(model, out.slots);  // [B, V]
    for (int64_t b = 0; b < B; ++b) {
      auto& row = rows[static_cast<size_t>(b)];
      if (row.done()) continue;
      const auto& sequence = row.sequence();
      if (options.explain)  // the prompt's tokens at the prefill, then the one token fed
        record_concepts(out.prediction, b, {prefill ? sequence.begin() : sequence.end() - 1, sequence.end()},
                        row.result().concepts);
      row.take(logits[b], options);
    }
    std::vector<int64_t> last_tokens;
    for (const auto& row : rows) last_tokens.push_back(row.sequence().back());
    columns = torch::tensor(last_tokens, torch::kLong).view({B, 1});
  }
}

}  // namespace

std::vector<Generation> generate_batch(CocomixModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                       const GenerationOptions& options, const std::vector<uint64_t>& seeds) {
  const auto& config = model->gpt()->config();
  if (prompts.empty()) throw UsageError("generate: no prompts");
  if (!seeds.empty() && seeds.size() != prompts.size())
    throw UsageError("generate: " + std::to_string(seeds.size()) + " seeds for " + std::to_string(prompts.size()) +
                     " prompts");
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto& prompt = prompts[i];
    const std::string which = prompts.size() == 1 ? "the prompt" : "prompt " + std::to_string(i + 1);
    if (prompt.empty()) throw UsageError("generate: " + which + " has no tokens");
    if (static_cast<int64_t>(prompt.size()) > config.n_positions)
      throw UsageError("generate: " + which + " has " + std::to_string(prompt.size()) +
                       " tokens, more than the model's n_positions " + std::to_string(config.n_positions));
    for (const int64_t id : prompt)
      if (id < 0 || id >= config.vocab_size)
        throw UsageError("generate: " + which + ": token " + std::to_string(id) +
                         " is outside the model's vocabulary [0, " + std::to_string(config.vocab_size) + ")");
  }
  if (options.max_new_tokens < 0)
    throw UsageError("--max-new-tokens: must be >= 0, got " + std::to_string(options.max_new_tokens));
  options.sampling.validate();
  if (options.explain && !model->concept_head())
    throw UsageError("--explain: this " + std::string(model->spec().name) + " model has no concept head");
  if (!options.steering.concepts.empty()) {
    if (!model->concept_head())
      throw UsageError("--steer: this " + std::string(model->spec().name) + " model has no concept head");
    options.steering.concepts.validate(model->concept_head()->predictor->weight.size(1), "--steer");
  }

  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<Row> rows;
  for (size_t i = 0; i < prompts.size(); ++i) {
    rows.emplace_back(prompts[i], seeds.empty() ? options.seed : seeds[i]);
    if (options.max_new_tokens == 0) rows.back().finish(StopReason::kMaxNewTokens);
  }
  if (options.use_cache)
    generate_cached(model, rows, options);
  else
    generate_recomputing(model, rows, options);
  std::vector<Generation> out;
  for (auto& row : rows) out.push_back(std::move(row.result()));
  return out;
}

Generation generate(CocomixModel& model, const std::vector<int64_t>& prompt, const GenerationOptions& options) {
  return generate_batch(model, {prompt}, options).front();
}

}  // namespace cocomix
