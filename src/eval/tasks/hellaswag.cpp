// hellaswag: query = preprocess(activity_label + ": " + ctx_a + " " + capitalize(ctx_b)),
// choices = preprocess(each ending), continuation = " " + choice (lm_eval/tasks/
// hellaswag). Reads the original jsonl, or llama.cpp's text format (6 lines per
// task: query, gold 0-3, four endings) whose lines are used as they are.
#include "cocomix/eval/tasks/hellaswag.h"

#include <utf8proc.h>

#include "cocomix/eval/tasks/jsonl.h"
#include "cocomix/eval/tasks/python_text.h"
#include "cocomix/eval/tasks/tasks.h"
#include "cocomix/util/error.h"
#include "cocomix/util/input_file.h"

namespace cocomix {
namespace {

constexpr int64_t kEndings = 4;

/// Python's str.capitalize(): the first code point in title case, the rest lower case
/// (utf8proc's simple case mappings; Python's full mappings differ only for a few letters).
std::string capitalize(std::string_view text) {
  std::string out;
  size_t i = 0;
  bool first = true;
  while (i < text.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                    static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (n <= 0) {  // not UTF-8: keep the byte
      out.push_back(text[i++]);
      first = false;
      continue;
    }
    cp = first ? utf8proc_totitle(cp) : utf8proc_tolower(cp);
    utf8proc_uint8_t buffer[4];
    const auto m = utf8proc_encode_char(cp, buffer);
    out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(m));
    i += static_cast<size_t>(n);
    first = false;
  }
  return out;
}

TaskDoc make_doc(std::string source, const std::string& query, std::vector<std::string> choices, int64_t gold) {
  TaskDoc doc;
  doc.source = std::move(source);
  for (const auto& choice : choices) doc.requests.push_back({query, " " + choice});
  doc.choices = std::move(choices);
  doc.gold = gold;
  return doc;
}

bool is_jsonl(const std::string& path) {
  const std::string name = without_compression_suffix(path);
  return name.size() >= 6 && name.substr(name.size() - 6) == ".jsonl";
}

void load_jsonl(const TaskFiles& files, int64_t limit, Task& task) {
  for (const auto& row : read_jsonl(files.data, limit)) {
    const std::string ctx = string_field(row, "ctx_a") + " " + capitalize(string_field(row, "ctx_b"));
    const std::string query = hellaswag_preprocess(string_field(row, "activity_label") + ": " + ctx);
    const auto endings = row.value.find("endings");
    if (endings == row.value.end() || !endings->is_array() || endings->size() != kEndings)
      throw RuntimeError(row.source + ": field \"endings\" must be an array of 4 strings");
    std::vector<std::string> choices;
    for (const auto& ending : *endings) {
      if (!ending.is_string()) throw RuntimeError(row.source + ": field \"endings\" must be an array of 4 strings");
      choices.push_back(hellaswag_preprocess(ending.get<std::string>()));
    }
    const auto label = row.value.find("label");
    if (label == row.value.end()) throw RuntimeError(row.source + ": missing field \"label\"");
    const std::string label_text = label->is_string() ? label->get<std::string>() : label->dump();
    task.docs.push_back(make_doc(row.source, query, std::move(choices), parse_label(label_text, 0, kEndings,
                                                                                   row.source + ": field \"label\"")));
  }
}

void load_text(const TaskFiles& files, int64_t limit, Task& task) {
  InputFile file(files.data);
  std::string lines[6];
  int64_t line_number = 0;
  while (limit <= 0 || static_cast<int64_t>(task.docs.size()) < limit) {
    int got = 0;
    for (; got < 6 && file.read_line(lines[got]); ++got) {
      ++line_number;
      if (!lines[got].empty() && lines[got].back() == '\r') lines[got].pop_back();
    }
    if (got == 0) break;
    const int64_t first_line = line_number - got + 1;
    const std::string source = files.data + ":" + std::to_string(first_line);
    if (got < 6)
      throw RuntimeError(source + ": the last task has " + std::to_string(got) +
                         " lines; the llama.cpp HellaSwag format has 6 per task (context, gold 0-3, 4 endings)");
    const int64_t gold = parse_label(lines[1], 0, kEndings, files.data + ":" + std::to_string(first_line + 1));
    task.docs.push_back(make_doc(source, lines[0], {lines[2], lines[3], lines[4], lines[5]}, gold));
  }
  if (task.docs.empty())
    throw RuntimeError(files.data + ": empty file; expected HellaSwag tasks (6 lines each, or jsonl rows)");
}

}  // namespace

std::string hellaswag_preprocess(std::string_view text) {
  std::string s = replace_all(python_strip(text), " [title]", ". ");
  std::string out;  // re.sub("\\[.*?\\]", "", s): '.' stops at a newline
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t open = s.find('[', pos);
    if (open == std::string::npos) break;
    const size_t close = s.find_first_of("]\n", open + 1);
    if (close != std::string::npos && s[close] == ']') {
      out.append(s, pos, open - pos);
      pos = close + 1;
    } else {
      out.append(s, pos, open + 1 - pos);
      pos = open + 1;
    }
  }
  out.append(s, pos, std::string::npos);
  return replace_all(out, "  ", " ");
}

Task load_hellaswag(const TaskFiles& files, int64_t limit) {
  Task task{"hellaswag", TaskOutput::kMultipleChoice, {}};
  if (is_jsonl(files.data))
    load_jsonl(files, limit, task);
  else
    load_text(files, limit, task);
  return task;
}

}  // namespace cocomix
