// A deterministic corpus whose documents are driven by hidden variables drawn
// per document (topic, 2-3 named entities with gender, profession, city and
// favourite colour, register, sentiment) that decide word choices far
// downstream, so a model gains from representing them. No LibTorch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace cocomix {

/// One generated document and the variables that produced it.
struct SyntheticDocument {
  std::string text;  ///< English-like text, a few hundred bytes to a few KB
  /// {"topic", "register" ("formal"|"casual"), "sentiment" ("positive"|"negative"),
  ///  "entities": [{"name", "first_name", "gender", "pronoun", "profession", "city", "colour"}]}
  nlohmann::json hidden;
};

/// Document `index` of the corpus with seed `seed`; depends only on (seed,
/// index): its engine is std::mt19937_64(stream_seed(seed, index)) with
/// uniform_below draws (util/random.h), identical on every platform.
///
/// Guarantees the text keeps (checked by the unit tests): every pronoun
/// (she/her/herself, he/him/his/himself) and every favourite-colour word refers
/// to the most recently named entity; each entity's colour recurs after its
/// introduction; topic nouns come from the document's topic only; formal text
/// has no contractions, casual text has some.
SyntheticDocument generate_synthetic_document(uint64_t seed, int64_t index);

/// The generator's word lists, for measuring what a model writes (the
/// steering experiment): {"topics": {NAME: {"nouns", "verbs", "places",
/// "tools"}}, "registers": {"formal" | "casual": {"connectives"}}}. Nouns,
/// places and tools belong to one topic each; verbs may be shared.
nlohmann::json synthetic_vocabulary();

}  // namespace cocomix
