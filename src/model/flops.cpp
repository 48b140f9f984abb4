// Parameter and FLOP counts of GPT-2 from its config (formulas in flops.h).
#include "cocomix/model/flops.h"

namespace cocomix {

int64_t gpt_parameter_count(const ModelConfig& config, bool include_embeddings) {
  const int64_t d = config.n_embd;
  const int64_t per_block = 12 * d * d + 13 * d;  // ln 2x2d, c_attn 3d^2+3d, c_proj d^2+d, c_fc 4d^2+4d, c_proj 4d^2+d
  int64_t count = config.n_layer * per_block + 2 * d;  // + ln_f
  if (include_embeddings) count += config.vocab_size * d + config.n_positions * d;
  return count;
}

double gpt_training_flops_per_token(const ModelConfig& config, int64_t seq_len) {
  const double n = static_cast<double>(gpt_parameter_count(config, true));
  return 6.0 * n + 12.0 * static_cast<double>(config.n_layer * config.n_embd * seq_len);
}

}  // namespace cocomix
