// cocomix-eval's task output: the JSON object {"<task>": {"<metric>": value,
// "<metric>_stderr": value or null, "examples": n, ...}} and a markdown table
// of the same numbers, the concept-quality object of --concepts, plus the
// parsing of the --tasks list.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/eval/concept_quality.h"
#include "cocomix/eval/task_runner.h"

namespace cocomix {

struct TaskReport {
  std::string name;
  TaskRun run;
};

/// "a,b,c" -> {"a", "b", "c"} (spaces around names ignored, empty list for "");
/// UsageError for an empty name or a repeated one.
std::vector<std::string> split_task_list(const std::string& list);

/// {"<task>": {"<metric>": v, "<metric>_stderr": v or null, "examples": n,
/// "requests": r, "seconds": s, "examples_per_second": e}}.
nlohmann::json tasks_json(const std::vector<TaskReport>& reports);

/// {"concept_loss", "label_recall", "top1_recall", "k_attr", "k_pred", "positions",
/// "label_hits", "top1_hits", "windows", "teacher", "sae", "selection"}: --concepts' numbers, the teacher and SAE
/// directories that labelled them and the label selection.
nlohmann::json concept_quality_json(const ConceptQualityResult& result, const std::string& teacher,
                                    const std::string& sae, LabelSelection selection);

/// | task | metric | value | stderr | examples | as GitHub markdown, one row per metric.
std::string tasks_markdown(const std::vector<TaskReport>& reports);

}  // namespace cocomix
