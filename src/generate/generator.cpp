// generate: prefill, then one token per step with or without the caches.
#include "cocomix/generate/generator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

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

/// Appends the kept concepts of the last fresh.size() positions of `prediction` (batch 1).
void record_concepts(const ConceptPrediction& prediction, const std::vector<int64_t>& fresh,
                     std::vector<PredictedConcepts>& out) {
  const int64_t n = static_cast<int64_t>(fresh.size());
  const auto ids = prediction.top_indices[0].slice(0, -n).to(torch::kCPU).contiguous();                   // [n, k]
  const auto values = prediction.top_values[0].slice(0, -n).to(torch::kCPU, torch::kDouble).contiguous();  // [n, k]
  const int64_t k = ids.size(1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* id = ids[i].data_ptr<int64_t>();
    const double* value = values[i].data_ptr<double>();
    out.push_back({fresh[static_cast<size_t>(i)], {id, id + k}, {value, value + k}});
  }
}

}  // namespace

Generation generate(CocomixModel& model, const std::vector<int64_t>& prompt, const GenerationOptions& options) {
  const auto& config = model->gpt()->config();
  if (prompt.empty()) throw UsageError("generate: the prompt has no tokens");
  if (static_cast<int64_t>(prompt.size()) > config.n_positions)
    throw UsageError("generate: the prompt has " + std::to_string(prompt.size()) +
                     " tokens, more than the model's n_positions " + std::to_string(config.n_positions));
  if (options.max_new_tokens < 0)
    throw UsageError("--max-new-tokens: must be >= 0, got " + std::to_string(options.max_new_tokens));
  options.sampling.validate();
  for (const int64_t id : prompt)
    if (id < 0 || id >= config.vocab_size)
      throw UsageError("generate: prompt token " + std::to_string(id) + " is outside the model's vocabulary [0, " +
                       std::to_string(config.vocab_size) + ")");
  if (options.explain && !model->concept_head())
    throw UsageError("--explain: this " + std::string(model->spec().name) + " model has no concept head");
  if (!options.steering.concepts.empty()) {
    if (!model->concept_head())
      throw UsageError("--steer: this " + std::string(model->spec().name) + " model has no concept head");
    options.steering.concepts.validate(model->concept_head()->predictor->weight.size(1), "--steer");
  }

  torch::NoGradGuard no_grad;
  model->eval();
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto device = model->unembedding().device();
  const auto to_tensor = [&](const std::vector<int64_t>& ids) {
    return torch::tensor(ids, torch::kLong).unsqueeze(0).to(device);  // [1, S]
  };
  Generation out;
  // Logits [V] of the next token after `sequence`, the newest of which are `fresh`.
  DecodeState state = model->begin_decoding();
  std::vector<int64_t> sequence = prompt;
  const auto next_logits = [&](const std::vector<int64_t>& fresh) {
    const auto result = options.use_cache ? model->forward(to_tensor(fresh), &state, options.steering)
                                          : model->forward(to_tensor(sequence), nullptr, options.steering);
    if (options.explain) record_concepts(result.prediction, fresh, out.concepts);
    const auto last = model->gpt()->final_norm(result.slots.select(1, -1));  // [1, d]
    return torch::linear(last, model->unembedding())[0].to(torch::kCPU);     // [V]
  };

  std::vector<int64_t> fresh = prompt;
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    // The model reads at most n_positions tokens; the token after a full context is still predicted.
    if (static_cast<int64_t>(sequence.size()) > config.n_positions) {
      out.stop = StopReason::kContext;
      return out;
    }
    const int64_t token = next_token(next_logits(fresh), options.sampling, generator);
    out.tokens.push_back(token);
    sequence.push_back(token);
    fresh = {token};
    if (token == options.end_of_text) {
      out.stop = StopReason::kEndOfText;
      return out;
    }
  }
  out.stop = StopReason::kMaxNewTokens;
  return out;
}

}  // namespace cocomix
