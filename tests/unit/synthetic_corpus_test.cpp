// Synthetic concept corpus: documents depend only on (seed, index), and the
// hidden variables really decide text far downstream: pronouns and colour words
// follow the most recently named entity, each entity's colour and city recur
// after its introduction, the topic picks the nouns, the register the contractions.
#include "cocomix/data/synthetic_corpus.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace cocomix {
namespace {

using json = nlohmann::json;

/// Lowercased runs of letters ("She's" -> "she", "s").
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  return words;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Topic nouns, written out from the corpus description (the test's own copy).
const std::map<std::string, std::set<std::string>> kTopicNouns = {
    {"cooking", {"soup", "bread", "sauce", "pastry", "stew", "omelette", "risotto", "pie"}},
    {"sailing", {"sail", "rudder", "mast", "anchor", "hull", "jib", "tiller", "keel"}},
    {"astronomy", {"comet", "nebula", "quasar", "galaxy", "planet", "meteor", "crater", "eclipse"}},
    {"gardening", {"hedge", "seedling", "lettuce", "orchard", "vine", "shrub", "pumpkin", "lawn"}},
    {"music", {"sonata", "waltz", "concerto", "chorus", "ballad", "prelude", "fugue", "overture"}},
    {"medicine", {"fracture", "fever", "infection", "rash", "sprain", "wound", "allergy", "cough"}},
};

constexpr int kDocuments = 300;

TEST(SyntheticCorpus, DependsOnlyOnSeedAndIndex) {
  const auto first = generate_synthetic_document(11, 5);
  generate_synthetic_document(11, 6);
  generate_synthetic_document(12, 5);
  const auto again = generate_synthetic_document(11, 5);
  EXPECT_EQ(first.text, again.text);
  EXPECT_EQ(first.hidden, again.hidden);
  EXPECT_NE(first.text, generate_synthetic_document(12, 5).text);
  EXPECT_NE(first.text, generate_synthetic_document(11, 6).text);
  std::set<std::string> texts;
  for (int i = 0; i < kDocuments; ++i) texts.insert(generate_synthetic_document(1, i).text);
  EXPECT_EQ(texts.size(), static_cast<size_t>(kDocuments));
}

TEST(SyntheticCorpus, DocumentsAreHundredsOfBytesToAFewKilobytes) {
  size_t shortest = SIZE_MAX, longest = 0;
  std::set<std::string> topics, registers, sentiments;
  for (int i = 0; i < kDocuments; ++i) {
    const auto doc = generate_synthetic_document(3, i);
    shortest = std::min(shortest, doc.text.size());
    longest = std::max(longest, doc.text.size());
    topics.insert(doc.hidden["topic"].get<std::string>());
    registers.insert(doc.hidden["register"].get<std::string>());
    sentiments.insert(doc.hidden["sentiment"].get<std::string>());
    for (const char c : doc.text) ASSERT_TRUE(c == '\n' || (c >= 32 && c < 127)) << "non-ASCII byte in doc " << i;
  }
  EXPECT_GE(shortest, 300u);
  EXPECT_LE(longest, 5000u);
  EXPECT_EQ(topics.size(), kTopicNouns.size());
  EXPECT_EQ(registers, (std::set<std::string>{"casual", "formal"}));
  EXPECT_EQ(sentiments, (std::set<std::string>{"negative", "positive"}));
}

TEST(SyntheticCorpus, PronounsAndColoursFollowTheLastNamedEntity) {
  const std::set<std::string> female = {"she", "her", "herself"}, male = {"he", "him", "his", "himself"};
  for (int i = 0; i < kDocuments; ++i) {
    const auto doc = generate_synthetic_document(7, i);
    std::map<std::string, json> by_name;
    std::map<std::string, std::string> colour_owner;
    for (const auto& entity : doc.hidden["entities"]) {
      by_name[lower(entity["first_name"].get<std::string>())] = entity;
      colour_owner[entity["colour"].get<std::string>()] = lower(entity["first_name"].get<std::string>());
    }
    ASSERT_GE(by_name.size(), 2u);
    ASSERT_EQ(colour_owner.size(), by_name.size());  // colours are distinct within a document
    std::string last_named;
    std::map<std::string, int> colour_uses;
    int pronouns = 0;
    for (const auto& word : words_of(doc.text)) {
      if (by_name.count(word)) {
        last_named = word;
      } else if (female.count(word) || male.count(word)) {
        ASSERT_FALSE(last_named.empty()) << "pronoun before any name in doc " << i;
        EXPECT_EQ(by_name[last_named]["gender"], female.count(word) ? "female" : "male")
            << "\"" << word << "\" after " << last_named << " in doc " << i << ":\n"
            << doc.text;
        ++pronouns;
      } else if (colour_owner.count(word)) {
        EXPECT_EQ(colour_owner[word], last_named) << "colour " << word << " in doc " << i << ":\n" << doc.text;
        ++colour_uses[word];
      }
    }
    EXPECT_GE(pronouns, static_cast<int>(by_name.size()));  // at least the introductions
    for (const auto& [colour, owner] : colour_owner)
      EXPECT_GE(colour_uses[colour], 2) << owner << "'s colour recurs after the introduction, doc " << i;
  }
}

TEST(SyntheticCorpus, LastParagraphRecallsEveryCityAndColour) {
  for (int i = 0; i < 50; ++i) {
    const auto doc = generate_synthetic_document(9, i);
    const std::string last = doc.text.substr(doc.text.rfind("\n\n", doc.text.size() - 3));
    for (const auto& entity : doc.hidden["entities"]) {
      const auto first = entity["first_name"].get<std::string>();
      const auto pronoun = entity["pronoun"] == "she" ? std::string("her") : std::string("his");
      EXPECT_NE(last.find(first + " went home to " + entity["city"].get<std::string>() +
                          " that evening, still wearing " + pronoun + " " + entity["colour"].get<std::string>()),
                std::string::npos)
          << last;
    }
  }
}

TEST(SyntheticCorpus, TopicRegisterAndSentimentShapeTheWords) {
  for (int i = 0; i < kDocuments; ++i) {
    const auto doc = generate_synthetic_document(5, i);
    const auto topic = doc.hidden["topic"].get<std::string>();
    int own_nouns = 0;
    for (const auto& word : words_of(doc.text)) {
      for (const auto& [other, nouns] : kTopicNouns) {
        if (!nouns.count(word)) continue;
        EXPECT_EQ(other, topic) << "noun \"" << word << "\" in a " << topic << " document";
        ++own_nouns;
      }
    }
    EXPECT_GE(own_nouns, 1) << doc.text;
    const bool contracted = doc.text.find("n't") != std::string::npos;
    EXPECT_EQ(contracted, doc.hidden["register"] == "casual") << doc.text;
    EXPECT_EQ(doc.text.find("have gone better") != std::string::npos, doc.hidden["sentiment"] == "positive");
  }
}

}  // namespace
}  // namespace cocomix

namespace cocomix {
namespace {

// The published word lists are the generator's: the test's own copy of the
// nouns matches them, and in every document the nouns, places and tools that
// occur are those of its topic and no other's.
TEST(SyntheticCorpus, VocabularyListsAreTheWordsTheDocumentsUse) {
  const json vocabulary = synthetic_vocabulary();
  ASSERT_EQ(vocabulary["topics"].size(), kTopicNouns.size());
  for (const auto& [topic, nouns] : kTopicNouns)
    EXPECT_EQ(vocabulary["topics"][topic]["nouns"].get<std::set<std::string>>(), nouns) << topic;
  EXPECT_EQ(vocabulary["registers"]["formal"]["connectives"][1], "Moreover, ");
  EXPECT_EQ(vocabulary["registers"]["casual"]["connectives"][0], "Also, ");
  for (int index = 0; index < 100; ++index) {
    const auto document = generate_synthetic_document(7, index);
    const auto words = words_of(document.text);
    const std::set<std::string> present(words.begin(), words.end());
    const std::string text = lower(document.text);
    const std::string own = document.hidden["topic"];
    for (const auto& [topic, lists] : vocabulary["topics"].items()) {
      int found = 0;
      for (const char* kind : {"nouns", "tools"})
        for (const auto& word : lists[kind]) found += present.count(word.get<std::string>());
      for (const auto& place : lists["places"]) found += text.find(place.get<std::string>()) != std::string::npos;
      if (topic == own)
        EXPECT_GT(found, 0) << "document " << index;
      else
        EXPECT_EQ(found, 0) << "document " << index << " (" << own << ") uses " << topic << "'s words";
    }
  }
}

}  // namespace
}  // namespace cocomix
