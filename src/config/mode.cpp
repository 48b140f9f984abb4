// The mode table.
#include "cocomix/config/mode.h"

namespace cocomix {

const std::vector<ModeSpec>& mode_table() {
  using I = Insertion;
  using V = InsertedVector;
  // mode, name, insertion, vector, concept_head, concept_loss, kd, hidden_target
  static const std::vector<ModeSpec> table = {
      {Mode::kNtp, "ntp", I::kNone, V::kNone, false, false, false, false},
      {Mode::kCocomix, "cocomix", I::kInterleave, V::kConcepts, true, true, false, false},
      {Mode::kIntervention, "intervention", I::kAdd, V::kConcepts, true, true, false, false},
      {Mode::kConceptLossOnly, "concept_loss_only", I::kNone, V::kNone, true, true, false, false},
      {Mode::kInsertionOnly, "insertion_only", I::kInterleave, V::kConcepts, true, false, false, false},
      {Mode::kKd, "kd", I::kNone, V::kNone, false, false, true, false},
      {Mode::kPause, "pause", I::kInterleave, V::kPause, false, false, false, false},
      {Mode::kPauseKd, "pause_kd", I::kInterleave, V::kPause, false, false, true, false},
      {Mode::kHiddenPrediction, "hidden_prediction", I::kInterleave, V::kCompressedHidden, false, false, false, true},
  };
  return table;
}

const ModeSpec& mode_spec(Mode mode) { return mode_table()[static_cast<size_t>(mode)]; }

const ModeSpec* find_mode(const std::string& name) {
  for (const auto& spec : mode_table())
    if (name == spec.name) return &spec;
  return nullptr;
}

}  // namespace cocomix
