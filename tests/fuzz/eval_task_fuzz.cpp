// Evaluation task files in their released formats (LAMBADA and ARC JSON
// lines, WikiText raw text, HellaSwag rows, PIQA and Social IQa rows with
// their label files, WinoGrande rows). The first input byte picks the task;
// the rest is its data file, then after a NUL byte its label file.
#include <cstdint>
#include <string>

#include "cocomix/eval/tasks/tasks.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  if (size < 1) return 0;
  const auto& names = task_names();
  const std::string& name = names[data[0] % names.size()];
  const auto [task_data, labels] = fuzz::split_at_nul({reinterpret_cast<const char*>(data) + 1, size - 1});
  TaskFiles files;
  files.data = fuzz::write_file(name == "wikitext" ? "wiki.test.raw" : "data.jsonl", task_data);
  files.labels = fuzz::write_file("labels.lst", labels);
  fuzz::expect_success_or_clean_error([&] {
    const Task task = load_task(name, files, /*limit=*/-1);
    for (const auto& doc : task.docs) {
      if (task.output == TaskOutput::kMultipleChoice &&
          (doc.gold < 0 || doc.gold >= static_cast<int64_t>(doc.requests.size())))
        fuzz::fail(doc.source + ": gold outside the choices");
      if (task.output == TaskOutput::kLoglikelihood && doc.requests.size() != 1)
        fuzz::fail(doc.source + ": a loglikelihood document without exactly one request");
    }
  });
  return 0;
}
