// Task names, their default files under a shared/data-like directory, and the
// dispatch from a name to its loader.
#include "cocomix/eval/tasks/tasks.h"

#include <algorithm>

#include "cocomix/util/error.h"

namespace cocomix {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"lambada_openai", "wikitext",     "hellaswag", "piqa",
                                                 "arc_easy",       "arc_challenge", "social_iqa", "winogrande"};
  return names;
}

TaskFiles default_task_files(const std::string& name, const std::string& data_dir) {
  const std::string d = data_dir + "/";
  if (name == "lambada_openai") return {d + "eval_lambada/lambada_test.jsonl", ""};
  if (name == "wikitext") return {d + "eval_wikitext2/wiki.test.raw", ""};
  if (name == "hellaswag") return {d + "eval_hellaswag/hellaswag_val_full.txt.bz2", ""};
  if (name == "piqa") return {d + "eval_piqa/valid.jsonl", d + "eval_piqa/valid-labels.lst"};
  if (name == "arc_easy") return {d + "eval_arc/hf_format/ARC-Easy-test.jsonl", ""};
  if (name == "arc_challenge") return {d + "eval_arc/hf_format/ARC-Challenge-test.jsonl", ""};
  if (name == "social_iqa") return {d + "eval_siqa/dev.jsonl", d + "eval_siqa/dev-labels.lst"};
  if (name == "winogrande") return {d + "eval_winogrande/dev.jsonl", ""};
  std::string known;
  for (const auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("--tasks: unknown task \"" + name + "\"; known tasks: " + known);
}

Task load_task(const std::string& name, const TaskFiles& files, int64_t limit) {
  if (name == "lambada_openai") return load_lambada(files, limit);
  if (name == "wikitext") return load_wikitext(files, limit);
  if (name == "hellaswag") return load_hellaswag(files, limit);
  if (name == "piqa") return load_piqa(files, limit);
  if (name == "arc_easy" || name == "arc_challenge") return load_arc(name, files, limit);
  if (name == "social_iqa") return load_siqa(files, limit);
  if (name == "winogrande") return load_winogrande(files, limit);
  default_task_files(name, "");  // throws the unknown-task error
  return {};
}

}  // namespace cocomix
