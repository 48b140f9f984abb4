// cocomix-eval's task JSON and markdown table.
#include "cocomix/eval/eval_report.h"

#include <cstdio>
#include <set>

#include "cocomix/util/error.h"

namespace cocomix {

std::vector<std::string> split_task_list(const std::string& list) {
  std::vector<std::string> names;
  if (list.find_first_not_of(' ') == std::string::npos) return names;
  std::set<std::string> seen;
  size_t pos = 0;
  while (true) {
    const size_t comma = list.find(',', pos);
    std::string name = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const size_t b = name.find_first_not_of(' ');
    name = b == std::string::npos ? "" : name.substr(b, name.find_last_not_of(' ') - b + 1);
    if (name.empty()) throw UsageError("--tasks: \"" + list + "\" has an empty task name");
    if (!seen.insert(name).second) throw UsageError("--tasks: task \"" + name + "\" is listed twice");
    names.push_back(name);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return names;
}

nlohmann::json tasks_json(const std::vector<TaskReport>& reports) {
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& report : reports) {
    nlohmann::json entry = nlohmann::json::object();
    for (const auto& metric : report.run.metrics) {
      entry[metric.name] = metric.value;
      entry[metric.name + "_stderr"] = metric.stderr_known ? nlohmann::json(metric.stderr_value) : nlohmann::json();
    }
    entry["examples"] = report.run.examples;
    entry["requests"] = report.run.requests;
    entry["seconds"] = report.run.seconds;
    entry["examples_per_second"] =
        report.run.seconds > 0 ? static_cast<double>(report.run.examples) / report.run.seconds : 0.0;
    tasks[report.name] = entry;
  }
  return tasks;
}

nlohmann::json concept_quality_json(const ConceptQualityResult& result, const std::string& teacher,
                                    const std::string& sae, LabelSelection selection) {
  return {{"concept_loss", result.concept_loss},
          {"label_recall", result.label_recall},
          {"top1_recall", result.top1_recall},
          {"k_attr", result.k_attr},
          {"k_pred", result.k_pred},
          {"positions", result.counts.positions},
          {"label_hits", result.counts.label_hits},
          {"top1_hits", result.counts.top1_hits},
          {"windows", result.windows},
          {"teacher", teacher},
          {"sae", sae},
          {"selection", name_of(selection)}};
}

std::string tasks_markdown(const std::vector<TaskReport>& reports) {
  std::string table = "| task | metric | value | stderr | examples |\n|---|---|---:|---:|---:|\n";
  char line[256];
  for (const auto& report : reports)
    for (const auto& metric : report.run.metrics) {
      char stderr_text[32] = "N/A";
      if (metric.stderr_known) std::snprintf(stderr_text, sizeof stderr_text, "%.4f", metric.stderr_value);
      std::snprintf(line, sizeof line, "| %s | %s | %.4f | %s | %lld |\n", report.name.c_str(), metric.name.c_str(),
                    metric.value, stderr_text, static_cast<long long>(report.run.examples));
      table += line;
    }
  return table;
}

}  // namespace cocomix
