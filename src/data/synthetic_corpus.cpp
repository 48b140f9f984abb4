// The synthetic concept corpus: per document, draw the hidden variables, then
// write an opening, one block per entity (introduction + sentences about the
// entities met so far), a block about everyone, a last paragraph recalling each
// entity's city and colour, and a closing whose wording depends on register and sentiment.
#include "cocomix/data/synthetic_corpus.h"

#include <cctype>
#include <random>
#include <utility>
#include <vector>

#include "cocomix/util/random.h"

namespace cocomix {
namespace {

using Words = std::vector<const char*>;

/// A topic sets the nouns, verbs, places and tools of the whole document. Nouns
/// and tools are disjoint across topics.
struct Topic {
  const char* name;
  Words nouns;   ///< singular objects of the activity
  Words verbs;   ///< past-tense transitive verbs that take those nouns
  Words places;  ///< prepositional phrases ("in the kitchen")
  Words tools;   ///< singular instruments
};

const std::vector<Topic>& topics() {
  static const std::vector<Topic> kTopics = {
      {"cooking",
       {"soup", "bread", "sauce", "pastry", "stew", "omelette", "risotto", "pie"},
       {"prepared", "tasted", "seasoned", "served", "reheated", "garnished"},
       {"in the kitchen", "at the stove", "in the bakery", "at the market"},
       {"oven", "whisk", "ladle", "skillet"}},
      {"sailing",
       {"sail", "rudder", "mast", "anchor", "hull", "jib", "tiller", "keel"},
       {"inspected", "repaired", "adjusted", "cleaned", "secured", "checked"},
       {"at the harbour", "on the deck", "in the marina", "near the lighthouse"},
       {"rope", "compass", "winch", "lifejacket"}},
      {"astronomy",
       {"comet", "nebula", "quasar", "galaxy", "planet", "meteor", "crater", "eclipse"},
       {"observed", "photographed", "sketched", "tracked", "catalogued", "studied"},
       {"at the observatory", "on the hilltop", "in the desert", "on the rooftop"},
       {"telescope", "eyepiece", "chart", "tripod"}},
      {"gardening",
       {"hedge", "seedling", "lettuce", "orchard", "vine", "shrub", "pumpkin", "lawn"},
       {"watered", "tended", "trimmed", "fertilised", "mulched", "examined"},
       {"in the greenhouse", "in the allotment", "behind the cottage", "by the fence"},
       {"trowel", "hose", "shears", "wheelbarrow"}},
      {"music",
       {"sonata", "waltz", "concerto", "chorus", "ballad", "prelude", "fugue", "overture"},
       {"rehearsed", "performed", "composed", "arranged", "practised", "recorded"},
       {"in the concert hall", "at the studio", "in the rehearsal room", "on the stage"},
       {"piano", "cello", "metronome", "songbook"}},
      {"medicine",
       {"fracture", "fever", "infection", "rash", "sprain", "wound", "allergy", "cough"},
       {"examined", "treated", "diagnosed", "monitored", "assessed", "documented"},
       {"at the clinic", "in the ward", "at the hospital", "in the surgery"},
       {"stethoscope", "thermometer", "bandage", "syringe"}},
  };
  return kTopics;
}

const Words kFemaleNames = {"Maria", "Aisha", "Ingrid", "Chloe", "Priya", "Yuki", "Fatima", "Elena",
                            "Nadia", "Sofia", "Hannah", "Leila", "Zara",  "Mei",  "Greta",  "Lucia"};
const Words kMaleNames = {"Omar", "Lars",   "Diego", "Kenji", "Tomas", "Rahul", "Felix", "Mateo",
                          "Ivan", "Samuel", "Hugo",  "Karim", "Jonas", "Pablo", "Ethan", "Arjun"};
const Words kSurnames = {"Lopez", "Okafor",  "Lindqvist", "Tanaka", "Novak",   "Haddad", "Moreau", "Kowalski",
                         "Silva", "Brennan", "Petrov",    "Mensah", "Fischer", "Romano", "Chen",   "Dubois"};
const Words kProfessions = {"baker",   "teacher",    "nurse",   "engineer",   "pilot",      "carpenter",
                            "lawyer",  "librarian",  "chemist", "farmer",     "journalist", "architect",
                            "plumber", "pharmacist", "tailor",  "electrician"};
const Words kCities = {"Lisbon", "Oslo",  "Nairobi", "Lima",  "Osaka",  "Dublin", "Krakow", "Seoul",
                       "Quito",  "Tunis", "Hanoi",   "Perth", "Denver", "Bergen", "Porto",  "Accra"};
const Words kColours = {"red",     "blue",   "green", "yellow", "purple",  "orange",    "silver", "teal",
                        "crimson", "violet", "amber", "indigo", "scarlet", "turquoise", "maroon", "magenta"};
const Words kGarments = {"scarf", "jacket", "coat", "hat", "sweater", "apron", "cardigan", "raincoat"};
const Words kSeasons = {"spring", "summer", "autumn", "winter"};

const Words kFormalConnectives = {"Furthermore, ",  "Moreover, ",     "In addition, ",
                                  "Subsequently, ", "Nevertheless, ", "Later that day, "};
const Words kCasualConnectives = {"Also, ", "So, ", "Anyway, ", "Plus, ", "Then, ", "Oh, and "};
const Words kFormalClauses = {", which took most of the morning", ", exactly as the manual recommended",
                              ", although the weather was far from ideal", ", with considerable care and patience"};
const Words kCasualInterjections = {"What a day!", "Seriously.", "Typical!", "No kidding."};
const Words kIntensifiers = {"really", "so", "super", "totally"};

/// Adjectives and feelings by [formal][positive].
const Words kAdjectives[2][2] = {
    {{"terrible", "awful", "rubbish", "lousy", "horrible"}, {"awesome", "great", "amazing", "lovely", "brilliant"}},
    {{"dreadful", "disappointing", "deplorable", "unsatisfactory", "dismal"},
     {"excellent", "superb", "splendid", "admirable", "delightful"}}};
const Words kFeelings[2] = {{"annoyed", "gloomy", "frustrated", "weary", "uneasy"},
                            {"pleased", "proud", "cheerful", "grateful", "content"}};

/// Seeded draws: std::mt19937_64 + uniform_below only (no std distributions).
class Draw {
 public:
  explicit Draw(uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, n).
  size_t below(size_t n) { return static_cast<size_t>(uniform_below(engine_, n)); }
  /// Uniform in [low, high].
  int between(int low, int high) { return low + static_cast<int>(below(static_cast<size_t>(high - low + 1))); }
  /// True with probability percent / 100.
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
  /// A uniform element of `items`.
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }
  /// `count` distinct indices of [0, n), in random order (partial Fisher-Yates).
  std::vector<size_t> distinct(size_t n, size_t count) {
    std::vector<size_t> index(n);
    for (size_t i = 0; i < n; ++i) index[i] = i;
    for (size_t i = 0; i < count; ++i) std::swap(index[i], index[i + below(n - i)]);
    index.resize(count);
    return index;
  }

 private:
  std::mt19937_64 engine_;
};

struct Entity {
  std::string first, last, profession, city, colour;
  bool female = false;
  std::string subject() const { return female ? "she" : "he"; }
  std::string object() const { return female ? "her" : "him"; }
  std::string possessive() const { return female ? "her" : "his"; }
};

std::string with_article(const std::string& word) {
  const bool vowel = std::string("aeiou").find(word[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + word;
}

/// Writes the document sentence by sentence. Invariant: a pronoun or a colour
/// word always refers to `last_named_`, the entity whose first name came last.
class DocumentWriter {
 public:
  DocumentWriter(Draw& draw, const Topic& topic, std::vector<Entity> entities, bool formal, bool positive)
      : draw_(draw), topic_(topic), entities_(std::move(entities)), formal_(formal), positive_(positive) {}

  std::string write() {
    opening();
    for (size_t k = 0; k < entities_.size(); ++k) {
      introduce(k);
      const int sentences = formal_ ? draw_.between(2, 4) : draw_.between(3, 5);
      for (int i = 0; i < sentences; ++i) body_sentence(k + 1);
      paragraph();
    }
    const int sentences = formal_ ? draw_.between(4, 9) : draw_.between(5, 11);
    for (int i = 0; i < sentences; ++i) {
      body_sentence(entities_.size());
      if (i % 5 == 4 && i + 1 < sentences) paragraph();
    }
    paragraph();
    callbacks();
    closing();
    return text_ + "\n";
  }

 private:
  // ---- words ------------------------------------------------------------------
  const char* noun() { return draw_.pick(topic_.nouns); }
  const char* verb() { return draw_.pick(topic_.verbs); }
  const char* place() { return draw_.pick(topic_.places); }
  const char* tool() { return draw_.pick(topic_.tools); }
  const char* adjective() { return draw_.pick(kAdjectives[formal_][positive_]); }
  const char* feeling() { return draw_.pick(kFeelings[positive_]); }
  std::string negated(const std::string& auxiliary) { return formal_ ? auxiliary + " not" : auxiliary + "n't"; }
  /// Names entity `k` (its first name) and makes it the referent of pronouns.
  const std::string& name(size_t k) {
    last_named_ = k;
    return entities_[k].first;
  }

  // ---- sentences --------------------------------------------------------------
  /// Appends one sentence; `body` starts lowercase unless it starts with a name.
  void say(std::string body, bool connective = false) {
    if (connective) {
      body = draw_.pick(formal_ ? kFormalConnectives : kCasualConnectives) + body;
    } else {
      body[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(body[0])));
    }
    if (!paragraph_start_) text_ += ' ';
    text_ += body;
    paragraph_start_ = false;
  }
  void paragraph() {
    if (!paragraph_start_) text_ += "\n\n";
    paragraph_start_ = true;
  }

  void opening() {
    const std::string season = draw_.pick(kSeasons);
    const std::string where = place();
    if (formal_) {
      say("this is an account of " + with_article(season) + " day spent " + where + ".");
    } else {
      say("okay, so here's what happened one " + season + " day " + where + ".");
    }
  }

  void introduce(size_t k) {
    const Entity& e = entities_[k];
    say(name(k) + " " + e.last + " is " + with_article(e.profession) + " from " + e.city + ".");
    if (formal_) {
      say(e.subject() + " has always been fond of the colour " + e.colour + ".");
    } else {
      say(e.subject() + "'s totally crazy about " + e.colour + ".");
    }
  }

  /// One sentence about the first `known` entities (sometimes two). Every draw
  /// is its own statement: the order of operands of + is unspecified in C++,
  /// and the text must not depend on the compiler.
  void body_sentence(size_t known) {
    const size_t k = draw_.below(known);
    const Entity& e = entities_[k];
    const bool connective = draw_.chance(30);
    const std::string thing = noun();
    const std::string action = verb();
    const std::string where = place();
    const std::string instrument = tool();
    switch (draw_.below(known > 1 ? 10 : 9)) {
      case 0:
      case 1: {  // an action, by name, maybe followed by one by pronoun with the entity's colour
        const std::string clause = formal_ && draw_.chance(70) ? draw_.pick(kFormalClauses) : "";
        say(name(k) + " " + action + " the " + thing + " " + where + clause + ".", connective);
        if (draw_.chance(50)) {
          const std::string second = verb();
          say(e.subject() + " " + second + " the " + thing + " with " + e.possessive() + " " + e.colour + " " +
              instrument + ".");
        }
        break;
      }
      case 2: {
        const std::string garment = draw_.pick(kGarments);
        say(name(k) + " put on " + e.possessive() + " " + e.colour + " " + garment + " and went back to work " + where +
                ".",
            connective);
        break;
      }
      case 3:
        if (formal_) {
          say(name(k) + " recalled how the " + thing + " was handled back in " + e.city + ".", connective);
        } else {
          say(name(k) + " missed " + e.city + " a lot, but " + e.subject() + " " + negated("was") +
                  " going to admit it.",
              connective);
        }
        break;
      case 4:
        if (formal_) {
          say("as " + with_article(e.profession) + ", " + name(k) + " had a particular view of the " + thing + ".",
              connective);
        } else {
          say("being " + with_article(e.profession) + ", " + name(k) + " knew a trick or two about the " + instrument +
                  ".",
              connective);
        }
        break;
      case 5: {
        const std::string quality = adjective();
        if (formal_) {
          say("the " + thing + " proved " + quality + ", by all accounts.", connective);
        } else {
          const std::string intensity = draw_.pick(kIntensifiers);
          say("the " + thing + " was " + intensity + " " + quality + "!", connective);
        }
        break;
      }
      case 6: {
        const std::string mood = feeling();
        say(name(k) + " felt " + mood + " about the " + thing + ".", connective);
        break;
      }
      case 7:
        if (formal_) {
          say(name(k) + " painted the " + instrument + " " + e.colour + ", since " + e.colour + " is " +
                  e.possessive() + " favourite colour.",
              connective);
        } else {
          say(name(k) + " painted the " + instrument + " " + e.colour + ", obviously.", connective);
        }
        break;
      case 8:
        if (formal_) {
          say(name(k) + " " + negated("could") + " find " + e.possessive() + " " + instrument + " anywhere " + where +
                  ".",
              connective);
        } else if (draw_.chance(50)) {
          say(name(k) + " " + negated("could") + " find " + e.possessive() + " " + instrument + " anywhere!",
              connective);
        } else {
          say(draw_.pick(kCasualInterjections));
        }
        break;
      default: {  // two entities talk; the answer's pronoun is the second one's
        size_t other = draw_.below(known - 1);
        if (other >= k) ++other;
        const Entity& o = entities_[other];
        const std::string quality = adjective();
        const std::string asker = name(k);
        const std::string asked = name(other);  // named last: the pronoun below is theirs
        say(asker + " asked " + asked + " about the " + thing + ".", connective);
        if (formal_) {
          say(o.subject() + " replied that the " + thing + " was " + quality + ".");
        } else {
          const std::string intensity = draw_.pick(kIntensifiers);
          say(o.subject() + " said it was " + intensity + " " + quality + "!");
        }
        break;
      }
    }
  }

  /// Far from the introductions: every entity's city and colour again, in a random order.
  void callbacks() {
    for (const size_t k : draw_.distinct(entities_.size(), entities_.size())) {
      const Entity& e = entities_[k];
      const std::string garment = draw_.pick(kGarments);
      say(name(k) + " went home to " + e.city + " that evening, still wearing " + e.possessive() + " " + e.colour +
          " " + garment + ".");
    }
  }

  void closing() {
    const std::string outcome = positive_ ? "better" : "worse";
    if (formal_) {
      say("in sum, the day could not have gone " + outcome + ".");
    } else {
      say("honestly, it couldn't have gone " + outcome + (positive_ ? "!" : "."));
    }
  }

  Draw& draw_;
  const Topic& topic_;
  std::vector<Entity> entities_;
  bool formal_;
  bool positive_;
  size_t last_named_ = 0;
  bool paragraph_start_ = true;
  std::string text_;
};

}  // namespace

nlohmann::json synthetic_vocabulary() {
  nlohmann::json vocabulary = {{"topics", nlohmann::json::object()}};
  for (const Topic& topic : topics())
    vocabulary["topics"][topic.name] = {
        {"nouns", topic.nouns}, {"verbs", topic.verbs}, {"places", topic.places}, {"tools", topic.tools}};
  vocabulary["registers"] = {{"formal", {{"connectives", kFormalConnectives}}},
                             {"casual", {{"connectives", kCasualConnectives}}}};
  return vocabulary;
}

SyntheticDocument generate_synthetic_document(uint64_t seed, int64_t index) {
  Draw draw(stream_seed(seed, static_cast<uint64_t>(index)));
  const Topic& topic = draw.pick(topics());
  const bool formal = draw.chance(50);
  const bool positive = draw.chance(50);
  const size_t count = static_cast<size_t>(draw.between(2, 3));

  // Distinct first names, surnames, professions, cities and colours within a document.
  const auto female_names = draw.distinct(kFemaleNames.size(), count);
  const auto male_names = draw.distinct(kMaleNames.size(), count);
  const auto surnames = draw.distinct(kSurnames.size(), count);
  const auto professions = draw.distinct(kProfessions.size(), count);
  const auto cities = draw.distinct(kCities.size(), count);
  const auto colours = draw.distinct(kColours.size(), count);
  std::vector<Entity> entities(count);
  nlohmann::json hidden_entities = nlohmann::json::array();
  for (size_t i = 0; i < count; ++i) {
    Entity& e = entities[i];
    e.female = draw.chance(50);
    e.first = e.female ? kFemaleNames[female_names[i]] : kMaleNames[male_names[i]];
    e.last = kSurnames[surnames[i]];
    e.profession = kProfessions[professions[i]];
    e.city = kCities[cities[i]];
    e.colour = kColours[colours[i]];
    hidden_entities.push_back({{"name", e.first + " " + e.last},
                               {"first_name", e.first},
                               {"gender", e.female ? "female" : "male"},
                               {"pronoun", e.subject()},
                               {"profession", e.profession},
                               {"city", e.city},
                               {"colour", e.colour}});
  }

  SyntheticDocument document;
  document.hidden = {{"topic", topic.name},
                     {"register", formal ? "formal" : "casual"},
                     {"sentiment", positive ? "positive" : "negative"},
                     {"entities", hidden_entities}};
  document.text = DocumentWriter(draw, topic, std::move(entities), formal, positive).write();
  return document;
}

}  // namespace cocomix
