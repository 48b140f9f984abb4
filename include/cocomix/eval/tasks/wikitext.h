// The wikitext task's text rules: the document split of the Hugging Face
// dataset EleutherAI/wikitext_document_level (its loading script cuts
// wiki.test.raw at level-1 headings) and the harness's wikitext_detokenizer
// (lm_eval/tasks/wikitext/preprocess_wikitext.py).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cocomix {

/// The pages of a wiki.*.raw file: lines split at "\n"; a line that, after
/// "= = =" -> "===" and "= =" -> "==" and strip(), starts with "= " and ends
/// with " =" starts a new page; a page is its lines joined with "\n"; pages
/// that are only whitespace are dropped, except the last, which is always kept.
std::vector<std::string> wikitext_documents(std::string_view raw);

/// lm_eval's wikitext_detokenizer(doc["page"]), rule for rule.
std::string wikitext_detokenize(std::string_view page);

}  // namespace cocomix
