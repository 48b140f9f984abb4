// Parameter and FLOP counts of a GPT-2 model, worked out from the config alone
// (no LibTorch): for logging model size, tokens/s -> FLOP/s and MFU.
#pragma once

#include <cstdint>

#include "cocomix/config/config.h"

namespace cocomix {

/// Parameters of GPT from `config`: per block 12 d^2 + 13 d (ln_1, c_attn, c_proj,
/// ln_2, c_fc, mlp.c_proj, weights and biases), ln_f 2 d, and with
/// include_embeddings the token (V d, counted once: the LM head is tied) and
/// position (n_positions d) embeddings. Without them this is Kaplan et al.'s
/// non-embedding N. GPT-2 small (V 50257, 1024 positions, d 768, 12 layers):
/// 124,439,808 with embeddings, 85,056,000 without.
int64_t gpt_parameter_count(const ModelConfig& config, bool include_embeddings);

/// Training FLOPs (forward + backward) per token at context `seq_len`, the
/// PaLM appendix B / nanoGPT estimate_mfu formula:
///   6 N + 12 n_layer n_embd seq_len,
/// N = gpt_parameter_count(config, true) (every parameter, the tied wte once; the
/// wte matmul of the head is real work, the lookups are nearly free), and the
/// second term the attention matmuls QK^T and AV, which no parameter counts:
/// 2 matmuls x 2 FLOPs per multiply-add x T d, x 3 for forward + backward.
double gpt_training_flops_per_token(const ModelConfig& config, int64_t seq_len);

}  // namespace cocomix
