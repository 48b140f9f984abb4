// The GPT-2 state dict under Hugging Face names and its strict loader (see
// gpt_weights.h for what is accepted). Every check runs before the first copy.
#include "cocomix/model/gpt_weights.h"

#include <torch/torch.h>

#include "cocomix/model/gpt.h"
#include "cocomix/model/parameter_tensors.h"
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

[[noreturn]] void fail_tensor(const std::string& source, const std::string& name, const std::string& what) {
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

TensorMap gpt_state_dict(GPTImpl& model) { return parameter_tensors(model); }

void load_gpt_state_dict(GPTImpl& model, const TensorMap& tensors, const std::string& source) {
  const TensorMap named = with_lm_head_names(tensors);
  // What transformers writes besides the parameters: a tied lm_head (checked
  // equal to wte) and, in older versions, attention-mask buffers; both dropped.
  TensorMap parameters_only;
  const auto wte = named.find(kPrefix + "wte.weight");
  for (const auto& [name, tensor] : named) {
    if (is_attention_buffer(name)) continue;
    if (name != kLmHead) {
      parameters_only.emplace(name, tensor);
      continue;
    }
    if (wte == named.end()) continue;  // reported as missing below
    if (tensor.sizes() != wte->second.sizes())
      fail_tensor(source, name,
                  "shape " + c10::str(tensor.sizes()) + " does not match the model's " + c10::str(wte->second.sizes()));
    if (!torch::equal(tensor.to(wte->second.dtype()), wte->second))
      fail_tensor(source, name, "differs from transformer.wte.weight (the LM head is tied)");
  }
  load_parameter_tensors(model.named_parameters(), parameters_only, source, "the model's");
}

}  // namespace cocomix
