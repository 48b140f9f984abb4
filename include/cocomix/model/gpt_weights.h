// Hugging Face GPT-2 weights in and out of a GPT: the state dict under HF's
// GPT2LMHeadModel names, and a strict loader that accepts exactly what
// transformers writes (tied lm_head, legacy attention-mask buffers) and nothing
// else, so a checkpoint that does not fit the model fails with one clear line.
#pragma once

#include <string>

#include "cocomix/io/safetensors.h"

namespace cocomix {

class GPTImpl;

/// HF name -> parameter ("transformer.wte.weight", ..., "transformer.ln_f.bias"),
/// detached but sharing storage with the model (no copy). lm_head.weight is not
/// listed: it is tied to transformer.wte.weight, as HF's save_pretrained omits it.
TensorMap gpt_state_dict(GPTImpl& model);

/// Copies `tensors` into the model's parameters (under NoGradGuard, converting to
/// each parameter's dtype and device). Strict: every parameter must be present
/// with the model's shape. Allowed extras: "lm_head.weight" (must equal
/// transformer.wte.weight: the head is tied) and HF's non-parameter buffers
/// "transformer.h.N.attn.bias" / "transformer.h.N.attn.masked_bias". A file saved
/// from HF's GPT2Model (no key starts with "transformer.", e.g. the
/// openai-community/gpt2 checkpoint) is read as if every key had that prefix.
/// Nothing is copied unless everything fits. Throws RuntimeError, one of
///   "SOURCE: tensor NAME: shape [a, b] does not match the model's [c, d]"
///   "SOURCE: tensor NAME: missing"
///   "SOURCE: tensor NAME: unexpected"
///   "SOURCE: tensor lm_head.weight: differs from transformer.wte.weight (the LM head is tied)"
void load_gpt_state_dict(GPTImpl& model, const TensorMap& tensors, const std::string& source);

}  // namespace cocomix
