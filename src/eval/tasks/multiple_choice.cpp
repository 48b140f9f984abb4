// The multiple-choice tasks whose prompts are one template each (lm_eval/tasks/
// piqa, arc, siqa, winogrande YAMLs): the context, the choices (continuation =
// " " + choice, target_delimiter " "), and the gold index from a label file or field.
#include <algorithm>

#include "cocomix/eval/tasks/jsonl.h"
#include "cocomix/eval/tasks/python_text.h"
#include "cocomix/eval/tasks/tasks.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

TaskDoc choice_doc(const std::string& source, const std::string& context, std::vector<std::string> choices,
                   int64_t gold) {
  TaskDoc doc;
  doc.source = source;
  for (const auto& choice : choices) doc.requests.push_back({context, " " + choice});
  doc.choices = std::move(choices);
  doc.gold = gold;
  return doc;
}

/// The rows of files.data with the label line of each (files.labels must have one line per row).
std::vector<std::pair<JsonRow, std::string>> rows_with_labels(const TaskFiles& files, int64_t limit,
                                                              std::vector<std::string>& label_sources) {
  auto rows = read_jsonl(files.data, limit);
  const auto labels = read_label_lines(files.labels, count_jsonl_rows(files.data), files.data);
  std::vector<std::pair<JsonRow, std::string>> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    label_sources.push_back(files.labels + ":" + std::to_string(i + 1));
    out.emplace_back(std::move(rows[i]), labels[i]);
  }
  return out;
}

std::vector<std::string> string_array(const JsonRow& row, const nlohmann::json& value, const char* what) {
  if (!value.is_array() || value.empty())
    throw RuntimeError(row.source + ": field \"" + what + "\" must be a non-empty array of strings");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) throw RuntimeError(row.source + ": field \"" + what + "\" must hold strings only");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

Task load_piqa(const TaskFiles& files, int64_t limit) {
  Task task{"piqa", TaskOutput::kMultipleChoice, {}};
  std::vector<std::string> label_sources;
  const auto rows = rows_with_labels(files, limit, label_sources);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i].first;
    task.docs.push_back(choice_doc(row.source, "Question: " + string_field(row, "goal") + "\nAnswer:",
                                   {string_field(row, "sol1"), string_field(row, "sol2")},
                                   parse_label(rows[i].second, 0, 2, label_sources[i])));
  }
  return task;
}

Task load_siqa(const TaskFiles& files, int64_t limit) {
  Task task{"social_iqa", TaskOutput::kMultipleChoice, {}};
  std::vector<std::string> label_sources;
  const auto rows = rows_with_labels(files, limit, label_sources);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i].first;
    const std::string context = "Q: " + string_field(row, "context") + " " + string_field(row, "question") + "\nA:";
    task.docs.push_back(choice_doc(
        row.source, context,
        {string_field(row, "answerA"), string_field(row, "answerB"), string_field(row, "answerC")},
        parse_label(rows[i].second, 1, 3, label_sources[i])));
  }
  return task;
}

Task load_arc(const std::string& name, const TaskFiles& files, int64_t limit) {
  Task task{name, TaskOutput::kMultipleChoice, {}};
  for (const auto& row : read_jsonl(files.data, limit)) {
    const auto question = row.value.find("question");
    if (question == row.value.end()) throw RuntimeError(row.source + ": missing field \"question\"");
    std::string stem;
    std::vector<std::string> texts;
    std::vector<std::string> labels;
    if (question->is_object()) {  // AI2 format: {"question": {"stem", "choices": [{"text", "label"}]}}
      const JsonRow inner{*question, row.source + ": field \"question\""};
      stem = string_field(inner, "stem");
      const auto choices = question->find("choices");
      if (choices == question->end() || !choices->is_array() || choices->empty())
        throw RuntimeError(row.source + ": field \"question.choices\" must be a non-empty array");
      for (const auto& choice : *choices) {
        if (!choice.is_object()) throw RuntimeError(row.source + ": field \"question.choices\" must hold objects");
        const JsonRow item{choice, row.source + ": a question.choices entry"};
        texts.push_back(string_field(item, "text"));
        labels.push_back(string_field(item, "label"));
      }
    } else {  // Hugging Face format: {"question", "choices": {"text": [..], "label": [..]}}
      stem = string_field(row, "question");
      const auto choices = row.value.find("choices");
      if (choices == row.value.end() || !choices->is_object())
        throw RuntimeError(row.source + ": missing object field \"choices\" ({\"text\": [...], \"label\": [...]})");
      texts = string_array(row, choices->value("text", nlohmann::json()), "choices.text");
      labels = string_array(row, choices->value("label", nlohmann::json()), "choices.label");
      if (texts.size() != labels.size())
        throw RuntimeError(row.source + ": \"choices.text\" and \"choices.label\" differ in length");
    }
    const std::string answer = string_field(row, "answerKey");
    const auto hit = std::find(labels.begin(), labels.end(), answer);
    if (hit == labels.end())
      throw RuntimeError(row.source + ": answerKey \"" + answer + "\" is out of range: not one of the choice labels");
    task.docs.push_back(choice_doc(row.source, "Question: " + stem + "\nAnswer:", std::move(texts),
                                   static_cast<int64_t>(hit - labels.begin())));
  }
  return task;
}

Task load_winogrande(const TaskFiles& files, int64_t limit) {
  Task task{"winogrande", TaskOutput::kMultipleChoice, {}};
  for (const auto& row : read_jsonl(files.data, limit)) {
    const std::string sentence = string_field(row, "sentence");
    const size_t blank = sentence.find('_');
    if (blank == std::string::npos) throw RuntimeError(row.source + ": field \"sentence\" has no \"_\" blank");
    const std::string target = std::string(python_strip(std::string_view(sentence).substr(blank + 1)));
    const int64_t gold = parse_label(string_field(row, "answer"), 1, 2, row.source + ": field \"answer\"");
    TaskDoc doc;
    doc.source = row.source;
    for (const char* option : {"option1", "option2"}) {
      doc.choices.push_back(sentence.substr(0, blank) + string_field(row, option));
      doc.requests.push_back({doc.choices.back(), " " + target});
    }
    doc.gold = gold;
    task.docs.push_back(std::move(doc));
  }
  return task;
}

}  // namespace cocomix
