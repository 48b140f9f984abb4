// The mode table.
#include "cocomix/config/mode.h"

namespace cocomix {

const std::vector<ModeSpec>& mode_table() {
  using I = Insertion;
  using V = InsertedVector;
  // mode, name, insertion, vector, concept_head, concept_loss, kd, hidden_target, description
  static const std::vector<ModeSpec> table = {
      {Mode::kNtp, "ntp", I::kNone, V::kNone, false, false, false, false, "plain next-token prediction"},
      {Mode::kCocomix, "cocomix", I::kInterleave, V::kConcepts, true, true, false, false,
       "concepts predicted at L_s and interleaved; NTP + λ·concept"},
      {Mode::kIntervention, "intervention", I::kAdd, V::kConcepts, true, true, false, false,
       "the predicted concepts added to h (h + c); NTP + λ·concept"},
      {Mode::kConceptLossOnly, "concept_loss_only", I::kNone, V::kNone, true, true, false, false,
       "concepts predicted, nothing inserted; NTP + λ·concept"},
      {Mode::kInsertionOnly, "insertion_only", I::kInterleave, V::kConcepts, true, false, false, false,
       "concepts interleaved without a concept loss; NTP"},
      {Mode::kKd, "kd", I::kNone, V::kNone, false, false, true, false, "knowledge distillation: (1-α)·NTP + α·KD"},
      {Mode::kPause, "pause", I::kInterleave, V::kPause, false, false, false, false,
       "a learned pause vector interleaved after every token; NTP"},
      {Mode::kPauseKd, "pause_kd", I::kInterleave, V::kPause, false, false, true, false,
       "pause tokens trained with (1-α)·NTP + α·KD"},
      {Mode::kHiddenPrediction, "hidden_prediction", I::kInterleave, V::kCompressedHidden, false, false, false, true,
       "the teacher's hidden state predicted and its compression interleaved; NTP + λ·D(ĥ, h_t)"},
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
