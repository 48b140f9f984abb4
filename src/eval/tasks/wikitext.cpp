// wikitext: EleutherAI/wikitext_document_level's page split and the harness's
// detokenizer, written out without std::regex: each of its bracket regexes
// r"O\s*([^C]*?)\s*C" matches from an opening O to the next closing C and keeps
// the text between them stripped of whitespace, which is what bracket_strip does.
#include "cocomix/eval/tasks/wikitext.h"

#include "cocomix/eval/tasks/python_text.h"
#include "cocomix/eval/tasks/tasks.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

bool is_page_heading(std::string_view line) {
  const std::string r = replace_all(replace_all(line, "= = =", "==="), "= =", "==");
  const std::string_view stripped = python_strip(r);
  return stripped.substr(0, 2) == "= " && stripped.size() >= 2 && stripped.substr(stripped.size() - 2) == " =";
}

/// re.sub(r"O\s*([^C]*?)\s*C", r"O\1C", text) for single-character O and C.
std::string bracket_strip(std::string_view text, char open, char close) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t start = text.find(open, pos);
    if (start == std::string_view::npos) break;
    const size_t end = text.find(close, start + 1);
    if (end == std::string_view::npos) break;  // no closing character after this opening, nor after any later one
    out.append(text.substr(pos, start - pos));
    out.push_back(open);
    out.append(python_strip(text.substr(start + 1, end - start - 1)));
    out.push_back(close);
    pos = end + 1;
  }
  out.append(text.substr(pos));
  return out;
}

/// re.sub(r"/' [0-9]/", r"/'[0-9]/", text): the literal replacement the harness has.
std::string slash_quote_digit(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find("/' ", pos);
    if (hit == std::string_view::npos) break;
    if (hit + 4 < text.size() && text[hit + 3] >= '0' && text[hit + 3] <= '9' && text[hit + 4] == '/') {
      out.append(text.substr(pos, hit - pos));
      out.append("/'[0-9]/");
      pos = hit + 5;
    } else {
      out.append(text.substr(pos, hit + 1 - pos));
      pos = hit + 1;
    }
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

std::vector<std::string> wikitext_documents(std::string_view raw) {
  std::vector<std::string> pages;
  std::string page;
  bool page_empty = true;  // no line in `page` yet
  auto flush = [&](bool keep_blank) {
    if (keep_blank || !python_strip(page).empty()) pages.push_back(page);
    page.clear();
    page_empty = true;
  };
  size_t pos = 0;
  while (true) {
    const size_t newline = raw.find('\n', pos);
    const std::string_view line = raw.substr(pos, newline == std::string_view::npos ? raw.npos : newline - pos);
    if (is_page_heading(line)) flush(false);
    if (!page_empty) page.push_back('\n');
    page.append(line);
    page_empty = false;
    if (newline == std::string_view::npos) break;
    pos = newline + 1;
  }
  flush(true);
  return pages;
}

std::string wikitext_detokenize(std::string_view page) {
  std::string s(page);
  s = replace_all(s, "s '", "s'");
  s = slash_quote_digit(s);
  s = replace_all(s, " @-@ ", "-");
  s = replace_all(s, " @,@ ", ",");
  s = replace_all(s, " @.@ ", ".");
  s = replace_all(s, " : ", ": ");
  s = replace_all(s, " ; ", "; ");
  s = replace_all(s, " . ", ". ");
  s = replace_all(s, " ! ", "! ");
  s = replace_all(s, " ? ", "? ");
  s = replace_all(s, " , ", ", ");
  s = bracket_strip(s, '(', ')');
  s = bracket_strip(s, '[', ']');
  s = bracket_strip(s, '{', '}');
  s = bracket_strip(s, '"', '"');
  s = bracket_strip(s, '\'', '\'');
  s = replace_all(s, "= = = =", "====");
  s = replace_all(s, "= = =", "===");
  s = replace_all(s, "= =", "==");
  s = replace_all(s, " \xC2\xB0 ", "\xC2\xB0");  // chr(176), the degree sign
  s = replace_all(s, " \n", "\n");
  s = replace_all(s, "\n ", "\n");
  s = replace_all(s, " N ", " 1 ");
  s = replace_all(s, " 's", "'s");
  return s;
}

Task load_wikitext(const TaskFiles& files, int64_t limit) {
  const std::string raw = read_whole_file(files.data);
  if (raw.empty()) throw RuntimeError(files.data + ": empty file; expected the raw WikiText test text (wiki.test.raw)");
  Task task{"wikitext", TaskOutput::kRolling, {}};
  const auto pages = wikitext_documents(raw);
  for (size_t i = 0; i < pages.size() && (limit <= 0 || static_cast<int64_t>(i) < limit); ++i) {
    TaskDoc doc;
    doc.source = files.data + ": document " + std::to_string(i + 1);
    doc.text = wikitext_detokenize(pages[i]);
    doc.words = python_whitespace_split_count(pages[i]);
    doc.bytes = static_cast<int64_t>(pages[i].size());
    task.docs.push_back(std::move(doc));
  }
  return task;
}

}  // namespace cocomix
