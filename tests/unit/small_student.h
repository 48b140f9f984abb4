// A small seeded student of any concept.mode for the generation tests:
// vocabulary 61, 24 positions, d 32, 3 blocks of 4 heads, C = 40 concepts of
// which k_pred = 5 are kept, L_s = 1, a hidden-prediction target of width 16.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/config/mode.h"
#include "cocomix/model/cocomix_model.h"

namespace cocomix::testing {

constexpr int64_t kStudentVocab = 61, kStudentPositions = 24, kStudentWidth = 32, kStudentConcepts = 40,
                  kStudentKeep = 5;

/// In eval mode, initialised after torch::manual_seed(5).
inline CocomixModel small_student(const std::string& mode) {
  ModelConfig model;
  model.vocab_size = kStudentVocab;
  model.n_positions = kStudentPositions;
  model.n_embd = kStudentWidth;
  model.n_layer = 3;
  model.n_head = 4;
  ConceptConfig concepts;
  concepts.mode = find_mode(mode)->mode;
  concepts.n_concepts = kStudentConcepts;
  concepts.k_pred = kStudentKeep;
  concepts.insert_layer = 1;
  concepts.teacher_n_embd = 16;
  torch::manual_seed(5);
  CocomixModel built(model, concepts);
  built->eval();
  return built;
}

}  // namespace cocomix::testing
