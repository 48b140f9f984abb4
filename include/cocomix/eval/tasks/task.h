// A zero-shot task as lm-evaluation-harness builds it: per document, the
// (context, continuation) strings it asks the model to score, the choices and
// gold answer, or (rolling tasks) the text to score whole. Loading a task from
// its files is the task's own file in eval/tasks/; this header is the contract.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cocomix {

/// The harness's output_type of a task.
enum class TaskOutput {
  kLoglikelihood,   ///< one request per document: log P(continuation | context) and greedy flag (lambada)
  kMultipleChoice,  ///< one request per choice; argmax over the choices (hellaswag, piqa, arc, siqa, winogrande)
  kRolling,         ///< the whole text scored in disjoint windows of the model's context (wikitext)
};

/// One loglikelihood request in text form, exactly the strings the harness passes to the model.
struct TextRequest {
  std::string context;
  std::string continuation;
};

struct TaskDoc {
  std::string source;                 ///< "FILE:LINE" of the document, for messages
  std::vector<TextRequest> requests;  ///< kLoglikelihood: 1; kMultipleChoice: one per choice; kRolling: none
  std::vector<std::string> choices;   ///< kMultipleChoice: the choice strings (acc_norm divides by their length)
  int64_t gold = 0;                   ///< kMultipleChoice: index of the right choice
  std::string text;                   ///< kRolling: the (detokenized) text to score
  int64_t words = 0;                  ///< kRolling: len(re.split(r"\s+", original document))
  int64_t bytes = 0;                  ///< kRolling: UTF-8 bytes of the original document
};

struct Task {
  std::string name;  ///< the harness's task name, e.g. "arc_easy"
  TaskOutput output = TaskOutput::kMultipleChoice;
  std::vector<TaskDoc> docs;
};

/// The files a task reads: its data file and, for piqa and social_iqa, the label file.
struct TaskFiles {
  std::string data;
  std::string labels;
};

}  // namespace cocomix
