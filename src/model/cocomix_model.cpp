// CocomixModel: the student's parts, its staged forward and its checkpoint tensors.
#include "cocomix/model/cocomix_model.h"

#include <torch/torch.h>

#include "cocomix/model/gpt_weights.h"
#include "cocomix/model/interleave.h"
#include "cocomix/model/parameter_tensors.h"
#include "cocomix/util/error.h"

namespace cocomix {

PauseVectorImpl::PauseVectorImpl(int64_t d, double init_std) {
  vector = register_parameter("vector", torch::randn({d}) * init_std);
}

CocomixModelImpl::CocomixModelImpl(const ModelConfig& model, const ConceptConfig& concepts)
    : spec_(&concepts.spec()),
      insert_layer_(spec_->plain_gpt() ? 0 : concepts.insert_layer),
      pause_position_(concepts.pause_position),
      gpt_(model) {
  // Registered under the checkpoint names, so named_parameters() is the checkpoint's list.
  register_module("transformer", gpt_->transformer);
  if (spec_->concept_head)
    head_ = register_module(kConceptModule,
                            ConceptHead(model.n_embd, concepts.n_concepts, concepts.k_pred, model.init_std));
  if (spec_->hidden_target)
    hidden_ = register_module(
        kHiddenPredictionModule,
        HiddenPredictor(model.n_embd, concepts.hidden_width(model.n_embd), concepts.teacher_n_embd, model.init_std));
  if (spec_->pause_vector()) pause_ = register_module(kPauseModule, PauseVector(model.n_embd, model.init_std));
}

StudentOutput CocomixModelImpl::forward(const torch::Tensor& inputs, DecodeState* state, const Steering& steering) {
  if (!steering.concepts.empty() && !head_)
    throw UsageError("concept steering: this " + std::string(spec_->name) + " model has no concept head");
  if (steering.edit_residual && (steering.residual_layer < 1 || steering.residual_layer > gpt_->config().n_layer))
    throw UsageError("residual steering: layer " + std::to_string(steering.residual_layer) + " is outside 1.." +
                     std::to_string(gpt_->config().n_layer));
  StudentOutput out;
  const auto h = lower(inputs, state, steering);  // [B, T, d]
  predict(h, out, steering);
  out.mixed = insert(h, out, token_positions(inputs, state));
  out.slots = upper(out.mixed, state, steering);
  if (state != nullptr) state->tokens += inputs.size(1);
  return out;
}

torch::Tensor CocomixModelImpl::run_blocks(torch::Tensor h, int64_t begin, int64_t end, DecodeState* state,
                                           const Steering& steering) {
  KVCache* cache = state != nullptr ? &state->cache : nullptr;
  const int64_t edit_at = steering.residual_layer;  // after block edit_at (1-based) = before block index edit_at
  if (!steering.edit_residual || edit_at <= begin || edit_at > end) return gpt_->run_blocks(h, begin, end, cache);
  h = steering.edit_residual(gpt_->run_blocks(h, begin, edit_at, cache));
  return gpt_->run_blocks(h, edit_at, end, cache);
}

torch::Tensor CocomixModelImpl::token_positions(const torch::Tensor& inputs, const DecodeState* state) const {
  const int64_t start = state != nullptr ? state->tokens : 0;
  const auto columns = torch::arange(start, start + inputs.size(-1), inputs.options().dtype(torch::kLong));  // [T]
  if (state == nullptr || !state->padding.defined()) return columns;
  return (columns.unsqueeze(0) - state->padding.unsqueeze(1)).clamp(0, gpt_->config().n_positions - 1);  // [B, T]
}

torch::Tensor CocomixModelImpl::lower(const torch::Tensor& inputs, DecodeState* state, const Steering& steering) {
  if (state == nullptr || !state->padding.defined())  // embed checks start + T against n_positions
    return run_blocks(gpt_->embed(inputs, state != nullptr ? state->tokens : 0), 0, insert_layer_, state, steering);
  return run_blocks(gpt_->embed(inputs, token_positions(inputs, state)), 0, insert_layer_, state, steering);
}

void CocomixModelImpl::predict(const torch::Tensor& h, StudentOutput& out, const Steering& steering) {
  if (head_) out.prediction = head_->forward(h, steering.concepts);
  if (hidden_) {
    out.predicted_hidden = hidden_->predict(h);                       // [B, T, d_t]
    out.compressed_hidden = hidden_->compress(out.predicted_hidden);  // [B, T, d]
  }
}

torch::Tensor CocomixModelImpl::insert(const torch::Tensor& h, const StudentOutput& out,
                                       const torch::Tensor& positions) {
  torch::Tensor vector;  // [B, T, d]
  switch (spec_->vector) {
    case InsertedVector::kNone:
      return h;
    case InsertedVector::kConcepts:
      vector = out.prediction.concepts;
      break;
    case InsertedVector::kCompressedHidden:
      vector = out.compressed_hidden;
      break;
    case InsertedVector::kPause:
      // "token": the slot after token t carries t's position embedding, as a pause token of the
      // sequence would; positions [T] broadcast over the batch, [B, T] (padded decoding) per row.
      vector = pause_position_ == PausePosition::kToken
                   ? (pause_->vector + gpt_->transformer->wpe(positions)).expand_as(h)
                   : pause_->vector.expand_as(h);
      break;
  }
  switch (spec_->insertion) {
    case Insertion::kInterleave:
      return interleave(h, vector);  // [B, 2T, d]
    case Insertion::kAdd:
      return h + vector;
    case Insertion::kNone:
      break;
  }
  return h;
}

torch::Tensor CocomixModelImpl::upper(const torch::Tensor& mixed, DecodeState* state, const Steering& steering) {
  const auto top = run_blocks(mixed, insert_layer_, gpt_->config().n_layer, state, steering);
  return spec_->interleaved() ? inserted_slots(top) : top;  // [B, T, d]
}

DecodeState CocomixModelImpl::begin_decoding(const torch::Tensor& padding) const {
  DecodeState state;
  state.cache.resize(static_cast<size_t>(gpt_->config().n_layer));
  if (!padding.defined()) return state;
  state.padding = padding;
  for (int64_t layer = 0; layer < gpt_->config().n_layer; ++layer)  // two slots per token above an interleaving L_s
    state.cache[static_cast<size_t>(layer)].leading_padding =
        layer >= insert_layer_ && spec_->interleaved() ? padding * 2 : padding;
  return state;
}

torch::Tensor CocomixModelImpl::final_hidden(const torch::Tensor& inputs) {
  return gpt_->final_norm(forward(inputs).slots);  // [B, T, d]
}

torch::Tensor CocomixModelImpl::logits(const torch::Tensor& inputs) {
  return torch::linear(final_hidden(inputs), unembedding());  // [B, T, V]
}

TensorMap CocomixModelImpl::state_dict() { return parameter_tensors(*this); }  // parameter names = checkpoint names

void CocomixModelImpl::load_state_dict(const TensorMap& tensors, const std::string& source) {
  TensorMap gpt_part, head_part, hidden_part, pause_part;
  const std::string& prefix = kConceptPrefix;
  const std::string& hidden_prefix = kHiddenPredictionPrefix;
  for (const auto& [name, tensor] : tensors) {
    if (name.rfind(prefix, 0) == 0)
      head_part.emplace(name.substr(prefix.size()), tensor);
    else if (name.rfind(hidden_prefix, 0) == 0)
      hidden_part.emplace(name.substr(hidden_prefix.size()), tensor);
    else if (name == kPauseVectorName)
      pause_part.emplace(name, tensor);
    else
      gpt_part.emplace(name, tensor);
  }
  torch::OrderedDict<std::string, torch::Tensor> head_parameters, hidden_parameters, pause_parameters;
  if (head_) head_parameters = head_->named_parameters();
  if (hidden_) hidden_parameters = hidden_->named_parameters();
  if (pause_) pause_parameters.insert(kPauseVectorName, pause_->vector);
  load_gpt_state_dict(*gpt_, gpt_part, source);
  load_parameter_tensors(head_parameters, head_part, source, "the concept head's", prefix);
  load_parameter_tensors(hidden_parameters, hidden_part, source, "the hidden predictor's", hidden_prefix);
  load_parameter_tensors(pause_parameters, pause_part, source, "the pause vector's");
}

void CocomixModelImpl::train(bool on) {
  torch::nn::Module::train(on);
  gpt_->train(on);
}

}  // namespace cocomix
