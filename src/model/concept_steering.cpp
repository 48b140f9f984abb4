// ConceptSteering: validation, parsing and the steered TopK code.
#include "cocomix/model/concept_steering.h"

#include <torch/torch.h>

#include <cmath>
#include <set>

#include "cocomix/util/error.h"

namespace cocomix {

void ConceptSteering::validate(int64_t n_concepts, const std::string& flag) const {
  std::set<int64_t> seen;
  for (const auto& [id, factor] : factors) {
    if (id < 0 || id >= n_concepts)
      throw UsageError(flag + ": concept " + std::to_string(id) + " is outside [0, " + std::to_string(n_concepts) +
                       ")");
    if (!seen.insert(id).second) throw UsageError(flag + ": concept " + std::to_string(id) + " is given twice");
    if (!std::isfinite(factor) || std::abs(factor) > kMaxSteeringFactor)
      throw UsageError(flag + ": factor " + std::to_string(factor) + " of concept " + std::to_string(id) +
                       " is outside [-" + std::to_string(static_cast<int>(kMaxSteeringFactor)) + ", " +
                       std::to_string(static_cast<int>(kMaxSteeringFactor)) + "]");
  }
}

ConceptFactor parse_concept_factor(const std::string& text, const std::string& flag) {
  const auto bad = [&] { return UsageError(flag + ": \"" + text + "\" is not ID=FACTOR (e.g. 1234=5 or 77=-2.5)"); };
  const auto equals = text.find('=');
  if (equals == std::string::npos) throw bad();
  ConceptFactor out;
  try {
    size_t used = 0;
    const std::string id = text.substr(0, equals), factor = text.substr(equals + 1);
    out.id = std::stoll(id, &used);
    if (used != id.size()) throw bad();
    out.factor = std::stod(factor, &used);
    if (used != factor.size()) throw bad();
  } catch (const std::logic_error&) {  // stoll / stod: no number, or out of range
    throw bad();
  }
  return out;
}

SparseCode steer(const torch::Tensor& values, const torch::Tensor& indices, const ConceptSteering& steering) {
  if (steering.empty()) return {values, indices};
  auto kept_values = values;
  const auto edge = values.select(-1, -1);  // [...]: the smallest kept value
  std::vector<torch::Tensor> extra_values, extra_indices;
  for (const auto& [id, factor] : steering.factors) {
    const auto hit = indices == id;  // [..., k]
    kept_values = torch::where(hit, kept_values * factor, kept_values);
    extra_values.push_back(torch::where(hit.any(-1), torch::zeros_like(edge), edge * factor));
    extra_indices.push_back(torch::full_like(indices.select(-1, 0), id));
  }
  return {torch::cat({kept_values, torch::stack(extra_values, -1)}, -1),
          torch::cat({indices, torch::stack(extra_indices, -1)}, -1)};
}

}  // namespace cocomix
