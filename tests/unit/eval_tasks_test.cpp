// Zero-shot task requests against lm-evaluation-harness's own task code
// (tests/reference/make_eval_requests.py): the (context, continuation) strings
// of the first 50 documents of every task byte for byte, gold answers and
// choices, HFLM's token ids of each pair (transformers' GPT-2 tokenizer), the
// wikitext document split (count and every page's sha256) and its detokenized
// texts; plus the rolling windows of the harness's docstring and Python str rules.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/eval/loglikelihood.h"
#include "cocomix/eval/task_runner.h"
#include "cocomix/eval/tasks/python_text.h"
#include "cocomix/eval/tasks/tasks.h"
#include "cocomix/eval/tasks/wikitext.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/sha256.h"
#include "test_env.h"

namespace cocomix {
namespace {

constexpr int64_t kDocs = 50;  // make_eval_requests.py's DOCS

std::string reference(const std::string& name) {
  return test_env_dir("COCOMIX_REFERENCE_DIR") + "/eval_requests/" + name;
}
std::string shared_data() { return test_env_dir("COCOMIX_SHARED_DATA"); }

const Gpt2Tokenizer& tokenizer() {
  static const Gpt2Tokenizer loaded = Gpt2Tokenizer::load(shared_data() + "/gpt2_tokenizer");
  return loaded;
}

/// requests.jsonl grouped by task, in file order.
const std::map<std::string, std::vector<nlohmann::json>>& harness_requests() {
  static const auto grouped = [] {
    std::map<std::string, std::vector<nlohmann::json>> out;
    std::ifstream in(reference("requests.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      auto record = nlohmann::json::parse(line);
      out[record["task"].get<std::string>()].push_back(std::move(record));
    }
    return out;
  }();
  return grouped;
}

std::vector<int64_t> ids(const nlohmann::json& value) { return value.get<std::vector<int64_t>>(); }

/// Every request of `task` equals the harness's: strings, gold, choices, token ids.
void expect_harness_requests(const Task& task, const std::string& reference_name) {
  const auto& expected = harness_requests().at(reference_name);
  size_t k = 0;
  for (size_t d = 0; d < task.docs.size(); ++d) {
    const auto& doc = task.docs[d];
    for (const auto& request : doc.requests) {
      ASSERT_LT(k, expected.size()) << reference_name << ": more requests than the harness";
      const auto& want = expected[k++];
      ASSERT_EQ(want["doc"].get<size_t>(), d) << reference_name << " " << doc.source;
      EXPECT_EQ(request.context, want["context"].get<std::string>()) << doc.source;
      EXPECT_EQ(request.continuation, want["continuation"].get<std::string>()) << doc.source;
      if (task.output == TaskOutput::kMultipleChoice) {
        EXPECT_EQ(doc.gold, want["gold"].get<int64_t>()) << doc.source;
        EXPECT_EQ(doc.choices, want["choices"].get<std::vector<std::string>>()) << doc.source;
      }
      const auto encoded = encode_request(tokenizer(), request);
      EXPECT_EQ(encoded.context, ids(want["context_ids"])) << doc.source;
      EXPECT_EQ(encoded.continuation, ids(want["continuation_ids"])) << doc.source;
    }
  }
  EXPECT_EQ(k, expected.size()) << reference_name << ": fewer requests than the harness";
}

TEST(EvalTasks, RequestsMatchTheHarnessTaskCode) {
  for (const std::string name :
       {"lambada_openai", "piqa", "social_iqa", "winogrande", "arc_easy", "arc_challenge", "hellaswag"}) {
    SCOPED_TRACE(name);
    const auto task = load_task(name, default_task_files(name, shared_data()), kDocs);
    ASSERT_EQ(static_cast<int64_t>(task.docs.size()), kDocs);
    expect_harness_requests(task, name);
  }
}

TEST(EvalTasks, HellaswagOriginalJsonlIsPreprocessedLikeTheHarness) {
  // Brackets, " [title]", a bracket cut by a newline, double spaces, non-ASCII capitalisation, int and string labels.
  const auto task = load_hellaswag({reference("hellaswag_original.jsonl"), ""}, 0);
  ASSERT_EQ(task.docs.size(), 3u);
  expect_harness_requests(task, "hellaswag_jsonl");
}

TEST(EvalTasks, ArcAi2FormatGivesTheSameRequestsAsTheHuggingFaceFormat) {
  const auto hf = load_arc("arc_easy", {shared_data() + "/eval_arc/hf_format/ARC-Easy-test.jsonl", ""}, 0);
  const auto ai2 = load_arc("arc_easy", {shared_data() + "/eval_arc/ai2_format/ARC-Easy-Test.jsonl", ""}, 0);
  ASSERT_EQ(hf.docs.size(), 2376u);
  ASSERT_EQ(ai2.docs.size(), hf.docs.size());
  for (size_t d = 0; d < hf.docs.size(); ++d) {
    EXPECT_EQ(ai2.docs[d].choices, hf.docs[d].choices) << d;
    EXPECT_EQ(ai2.docs[d].gold, hf.docs[d].gold) << d;
    ASSERT_EQ(ai2.docs[d].requests.size(), hf.docs[d].requests.size());
    EXPECT_EQ(ai2.docs[d].requests[0].context, hf.docs[d].requests[0].context) << d;
  }
}

TEST(EvalTasks, WikitextDocumentSplitMatchesTheDatasetScript) {
  const auto split = nlohmann::json::parse(read_whole_file(reference("wikitext_split.json")));
  const auto pages = wikitext_documents(read_whole_file(shared_data() + "/eval_wikitext2/wiki.test.raw"));
  ASSERT_EQ(pages.size(), split["documents"].get<size_t>());
  EXPECT_EQ(pages.size(), 62u);  // the harness's wikitext test split has 62 documents
  for (size_t i = 0; i < pages.size(); ++i) EXPECT_EQ(sha256_hex(pages[i]), split["sha256"][i].get<std::string>()) << "page " << i;
}

TEST(EvalTasks, WikitextRollingTextsMatchTheHarnessDetokenizer) {
  const auto task = load_wikitext(default_task_files("wikitext", shared_data()), kDocs);
  const auto& expected = harness_requests().at("wikitext");
  ASSERT_EQ(task.docs.size(), expected.size());
  for (size_t d = 0; d < task.docs.size(); ++d) {
    EXPECT_EQ(task.docs[d].text, expected[d]["text"].get<std::string>()) << d;
    EXPECT_EQ(task.docs[d].words, expected[d]["words"].get<int64_t>()) << d;
    EXPECT_EQ(task.docs[d].bytes, expected[d]["bytes"].get<int64_t>()) << d;
    const auto tokens = tokenizer().encode(task.docs[d].text);
    EXPECT_EQ(std::vector<int64_t>(tokens.begin(), tokens.end()), ids(expected[d]["ids"])) << d;
  }
}

TEST(EvalTasks, RollingWindowsAsInTheHarnessDocstring) {
  // lm_eval.api.model.LM.loglikelihood_rolling: tokens 0..9, max length 4, prefix EOT:
  // INPUT EOT 0 1 2 -> PRED 0 1 2 3; INPUT 3 4 5 6 -> PRED 4 5 6 7; INPUT 5 6 7 8 -> PRED 8 9.
  const std::vector<int64_t> tokens = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto windows = rolling_windows(tokens, 99, 4);
  ASSERT_EQ(windows.size(), 3u);
  EXPECT_EQ(windows[0].context, (std::vector<int64_t>{99}));
  EXPECT_EQ(windows[0].continuation, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(windows[1].context, (std::vector<int64_t>{3}));
  EXPECT_EQ(windows[1].continuation, (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(windows[2].context, (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(windows[2].continuation, (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(rolling_windows({7, 8}, 99, 4).size(), 1u);
  EXPECT_TRUE(rolling_windows({}, 99, 4).empty());
}

TEST(EvalTasks, PythonStringRules) {
  EXPECT_EQ(python_strip(" \xC2\xA0" "a b\t\n"), "a b");  // U+00A0 is whitespace for Python
  EXPECT_EQ(python_rstrip("x\xE2\x80\x83 "), "x");     // U+2003 EM SPACE
  EXPECT_EQ(python_length("caf\xC3\xA9"), 4);
  EXPECT_EQ(python_whitespace_split_count(" a  b\n"), 4);  // re.split(r"\s+", " a  b\n") == ['', 'a', 'b', '']
  EXPECT_EQ(replace_all("aaa", "aa", "b"), "ba");
  EXPECT_EQ(wikitext_detokenize("a ( b c ) \" q \" 1 @,@ 000 = = x = ="), "a (b c) \"q\" 1,000 == x ==");
}

TEST(EvalTasks, EncodeRequestMovesTrailingSpaceAndUsesEndOfTextForAnEmptyContext) {
  const auto moved = encode_request(tokenizer(), {"Answer: ", "yes"});
  EXPECT_EQ(moved.context, (std::vector<int64_t>{33706, 25}));  // "Answer", ":"
  EXPECT_EQ(moved.continuation, (std::vector<int64_t>{3763}));   // " yes"
  const auto empty = encode_request(tokenizer(), {"", " yes"});
  EXPECT_EQ(empty.context, (std::vector<int64_t>{50256}));
  EXPECT_EQ(empty.continuation, (std::vector<int64_t>{3763}));
}

TEST(EvalTasks, ContinuationLongerThanTheContextNamesTheDocumentAndChoice) {
  Task task;
  task.name = "piqa";
  task.docs.push_back({"valid.jsonl:7", {{"Goal:", " a"}, {"Goal:", " a b c d e"}}, {" a", " a b c d e"}, 0});
  EXPECT_EQ(encode_task(task, tokenizer(), 5).requests.size(), 2u);  // " a b c d e" is exactly 5 tokens
  try {
    encode_task(task, tokenizer(), 4);
    FAIL() << "expected a RuntimeError";
  } catch (const RuntimeError& error) {
    EXPECT_STREQ(error.what(),
                 "valid.jsonl:7: choice 1 is 5 tokens, more than the model's context of 4 (model.n_positions)");
  }
}

}  // namespace
}  // namespace cocomix
