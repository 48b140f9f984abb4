// lambada_openai (lm_eval/tasks/lambada/lambada_openai.yaml):
// context = " ".join(text.split(" ")[:-1]), continuation = " " + text.split(" ")[-1].
#include "cocomix/eval/tasks/jsonl.h"
#include "cocomix/eval/tasks/tasks.h"

namespace cocomix {

Task load_lambada(const TaskFiles& files, int64_t limit) {
  Task task{"lambada_openai", TaskOutput::kLoglikelihood, {}};
  for (const auto& row : read_jsonl(files.data, limit)) {
    const std::string text = string_field(row, "text");
    const size_t last_space = text.rfind(' ');
    TaskDoc doc;
    doc.source = row.source;
    if (last_space == std::string::npos)
      doc.requests.push_back({"", " " + text});
    else
      doc.requests.push_back({text.substr(0, last_space), text.substr(last_space)});
    task.docs.push_back(std::move(doc));
  }
  return task;
}

}  // namespace cocomix
