// HellaSwag's text rules: the harness's preprocess (lm_eval/tasks/hellaswag/
// utils.py) for the original jsonl, and the parsing of llama.cpp's 6-line text
// format, whose lines were preprocessed already (differently: see docs/eval.md).
#pragma once

#include <string>
#include <string_view>

namespace cocomix {

/// utils.preprocess: strip(), " [title]" -> ". ", every "[...]" (no newline inside) removed, "  " -> " ".
std::string hellaswag_preprocess(std::string_view text);

}  // namespace cocomix
