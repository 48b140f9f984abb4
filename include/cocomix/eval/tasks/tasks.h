// The zero-shot tasks cocomix-eval runs, each built exactly as lm-evaluation-
// harness 0.4 builds it from its task YAML and utils (prompts, choices, targets,
// preprocessing), from local files laid out like shared/data. `limit` > 0 keeps
// the first `limit` documents, as the harness's --limit does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cocomix/eval/tasks/task.h"

namespace cocomix {

/// lambada_openai: context = text without its last " "-separated word, continuation = " " + that word.
Task load_lambada(const TaskFiles& files, int64_t limit);
/// wikitext (wikitext-2-raw-v1 test, document level): rolling text = the harness's detokenized page.
Task load_wikitext(const TaskFiles& files, int64_t limit);
/// hellaswag: llama.cpp's 6-line text format (.txt or .txt.bz2) or the original jsonl.
Task load_hellaswag(const TaskFiles& files, int64_t limit);
/// piqa: valid.jsonl ("goal", "sol1", "sol2") + valid-labels.lst (0/1).
Task load_piqa(const TaskFiles& files, int64_t limit);
/// arc_easy / arc_challenge: Hugging Face (choices {text, label}) or AI2 (question {stem, choices}) jsonl.
Task load_arc(const std::string& name, const TaskFiles& files, int64_t limit);
/// social_iqa: dev.jsonl ("context", "question", "answerA/B/C") + dev-labels.lst (1/2/3).
Task load_siqa(const TaskFiles& files, int64_t limit);
/// winogrande (partial scoring): dev.jsonl ("sentence" with "_", "option1", "option2", "answer").
Task load_winogrande(const TaskFiles& files, int64_t limit);

/// Task names load_task knows, in the paper's order.
const std::vector<std::string>& task_names();
/// Where `name`'s files are under a directory laid out like shared/data.
TaskFiles default_task_files(const std::string& name, const std::string& data_dir);
/// Loads task `name`; UsageError naming the known tasks for an unknown name.
Task load_task(const std::string& name, const TaskFiles& files, int64_t limit);

}  // namespace cocomix
