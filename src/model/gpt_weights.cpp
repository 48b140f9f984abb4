// The GPT-2 state dict under Hugging Face names and its strict loader (see
// gpt_weights.h for what is accepted). Every check runs before the first copy.
#include "cocomix/model/gpt_weights.h"

#include <torch/torch.h>

#include <sstream>

#include "cocomix/model/gpt.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

const std::string kPrefix = "transformer.";
const std::string kLmHead = "lm_head.weight";

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// HF's causal-mask buffers of older transformers versions: not parameters, ignored.
bool is_attention_buffer(const std::string& name) {
  return starts_with(name, kPrefix + "h.") && (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias"));
}

std::string shape_string(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << "]";
  return out.str();
}

[[noreturn]] void fail(const std::string& source, const std::string& name, const std::string& what) {
  throw RuntimeError(source + ": tensor " + name + ": " + what);
}

// The tensors under GPT2LMHeadModel names: a GPT2Model file (no "transformer." key) gets the prefix.
TensorMap with_lm_head_names(const TensorMap& tensors) {
  for (const auto& entry : tensors) {
    if (starts_with(entry.first, kPrefix)) return tensors;
  }
  TensorMap renamed;
  for (const auto& [name, tensor] : tensors) renamed.emplace(name == kLmHead ? name : kPrefix + name, tensor);
  return renamed;
}

}  // namespace

TensorMap gpt_state_dict(GPTImpl& model) {
  TensorMap state;
  for (const auto& item : model.named_parameters()) state.emplace(item.key(), item.value().detach());
  return state;
}

void load_gpt_state_dict(GPTImpl& model, const TensorMap& tensors, const std::string& source) {
  const TensorMap named = with_lm_head_names(tensors);
  const auto parameters = model.named_parameters();
  for (const auto& item : parameters) {
    const auto found = named.find(item.key());
    if (found == named.end()) fail(source, item.key(), "missing");
    if (found->second.sizes() != item.value().sizes()) {
      fail(source, item.key(),
           "shape " + shape_string(found->second.sizes()) + " does not match the model's " +
               shape_string(item.value().sizes()));
    }
  }
  for (const auto& [name, tensor] : named) {
    if (parameters.contains(name) || is_attention_buffer(name)) continue;
    if (name != kLmHead) fail(source, name, "unexpected");
    const auto& wte = named.at(kPrefix + "wte.weight");
    if (tensor.sizes() != wte.sizes()) {
      fail(source, name,
           "shape " + shape_string(tensor.sizes()) + " does not match the model's " + shape_string(wte.sizes()));
    }
    if (!torch::equal(tensor.to(wte.dtype()), wte)) {
      fail(source, name, "differs from transformer.wte.weight (the LM head is tied)");
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& item : parameters) item.value().copy_(named.at(item.key()));
}

}  // namespace cocomix
