// The training modes of concept.mode (method spec §3-4) in one table. Each row
// says what the student has and what the loss adds; everything else (the
// config's checks, what a run loads, how the model is built, the loss terms,
// the Hugging Face export) reads the row, never the mode's name.
//
//   mode               insertion at L_s        head  concept loss  KD  hidden target
//   ntp                none                     -        -          -       -
//   cocomix            c interleaved            yes      yes        -       -
//   intervention       h + c                    yes      yes        -       -
//   concept_loss_only  none                     yes      yes        -       -
//   insertion_only     c interleaved            yes      -          -       -
//   kd                 none                     -        -          yes     -
//   pause              pause vector interleaved -        -          -       -
//   pause_kd           pause vector interleaved -        -          yes     -
//   hidden_prediction  compressed ĥ interleaved -        -          -       yes
#pragma once

#include <string>
#include <vector>

namespace cocomix {

enum class Mode {
  kNtp,
  kCocomix,
  kIntervention,
  kConceptLossOnly,
  kInsertionOnly,
  kKd,
  kPause,
  kPauseKd,
  kHiddenPrediction,
};

/// What enters the residual stream at block L_s.
enum class Insertion {
  kNone,        ///< nothing: blocks [L_s, n) see the tokens' h
  kInterleave,  ///< h0, v0, h1, v1, ... [B, 2T, d], v the inserted vector below
  kAdd,         ///< h + c [B, T, d]
};

/// The vector an insertion carries.
enum class InsertedVector {
  kNone,
  kConcepts,          ///< the concept head's compressed concepts c
  kPause,             ///< one learned pause vector [d], the same after every token
  kCompressedHidden,  ///< the hidden predictor's compressed ĥ
};

struct ModeSpec {
  Mode mode;
  const char* name;  ///< the concept.mode string
  Insertion insertion;
  InsertedVector vector;
  bool concept_head;   ///< the student has a ConceptHead (parameters "concept.*")
  bool concept_loss;   ///< loss += λ·CE(concept logits, labels): labels from teacher + SAE or a label cache
  bool kd;             ///< loss = (1-α)·NTP + α·KD(student, teacher)
  bool hidden_target;  ///< a HiddenPredictor (parameters "hidden_prediction.*"); loss += λ·D(ĥ, h_t)

  bool pause_vector() const { return vector == InsertedVector::kPause; }
  bool interleaved() const { return insertion == Insertion::kInterleave; }
  /// A frozen teacher runs during training: for labels (unless they come from a
  /// cache), for KD, or for the hidden-state target.
  bool needs_teacher(bool labels_from_cache) const {
    return (concept_loss && !labels_from_cache) || kd || hidden_target;
  }
  /// The concept labels need the teacher's SAE.
  bool needs_sae(bool labels_from_cache) const { return concept_loss && !labels_from_cache; }
  /// The student is a plain GPT: nothing beside it, nothing inserted (ntp, kd).
  bool plain_gpt() const { return insertion == Insertion::kNone && !concept_head && !hidden_target && !pause_vector(); }
  /// Nothing but next-token prediction on a plain GPT (ntp): no concept field is read.
  bool next_token_only() const { return plain_gpt() && !kd; }
};

/// Every mode, in the order of the table above.
const std::vector<ModeSpec>& mode_table();
/// The row of `mode`.
const ModeSpec& mode_spec(Mode mode);
/// The row whose name is `name`; null for an unknown name.
const ModeSpec* find_mode(const std::string& name);

}  // namespace cocomix
