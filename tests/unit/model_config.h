// A ModelConfig of a given shape for tests (other fields keep their defaults).
#pragma once

#include <cstdint>

#include "cocomix/config/config.h"

namespace cocomix::testing {

inline ModelConfig model_config(int64_t vocab_size, int64_t n_positions, int64_t n_embd, int64_t n_layer,
                                int64_t n_head) {
  ModelConfig config;
  config.vocab_size = vocab_size;
  config.n_positions = n_positions;
  config.n_embd = n_embd;
  config.n_layer = n_layer;
  config.n_head = n_head;
  return config;
}

}  // namespace cocomix::testing
