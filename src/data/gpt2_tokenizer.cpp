// Encoding and decoding with the GPT-2 vocabulary. Each pre-token is looked up
// whole, then in a per-thread cache, and only then merged: the leftmost
// lowest-rank adjacent pair first, as tiktoken's byte_pair_merge does. Short
// pieces use tiktoken's scan; long ones a heap with a linked list, so a 1 MB run
// of one character costs O(n log n) instead of O(n^2).
#include "cocomix/data/gpt2_tokenizer.h"

#include <algorithm>
#include <queue>
#include <tuple>

#include "cocomix/data/gpt2_pretokenizer.h"
#include "cocomix/util/error.h"
#include "cocomix/util/utf8.h"
#include "gpt2_vocabulary.h"

namespace cocomix {
namespace {

using detail::BytesMap;
constexpr uint32_t kNoRank = BytesMap::kMissing;

/// Pieces up to this many bytes are merged by rescanning all pairs (tiktoken's
/// loop, fastest for words); longer ones by the heap.
constexpr size_t kScanMergeMaxBytes = 128;
/// Pieces up to this many bytes are cached; longer ones rarely repeat.
constexpr size_t kCachedPieceMaxBytes = 64;
/// A thread's cache is emptied when it reaches this many pieces (a few tens of MB).
constexpr size_t kCacheMaxPieces = size_t{1} << 19;

/// tiktoken's merge loop: parts[i] = (start, rank of parts i and i+1 merged).
void merge_by_scan(const BytesMap& ranks, std::string_view piece, std::vector<uint32_t>& ids) {
  thread_local std::vector<std::pair<size_t, uint32_t>> parts;
  const size_t n = piece.size();
  parts.clear();
  for (size_t i = 0; i + 1 < n; ++i) parts.emplace_back(i, ranks.find(piece.substr(i, 2)));
  parts.emplace_back(n - 1, kNoRank);
  parts.emplace_back(n, kNoRank);
  // Rank of parts i and i+1 merged, the span parts[i].start .. parts[i+2].start.
  const auto pair_rank = [&](size_t i) {
    if (i + 2 >= parts.size()) return kNoRank;
    return ranks.find(piece.substr(parts[i].first, parts[i + 2].first - parts[i].first));
  };
  for (;;) {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i)
      if (parts[i].second < best) {
        best = parts[i].second;
        at = i;
      }
    if (best == kNoRank) break;
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    parts[at].second = pair_rank(at);
    if (at > 0) parts[at - 1].second = pair_rank(at - 1);
  }
  for (size_t k = 0; k + 1 < parts.size(); ++k)
    ids.push_back(ranks.find(piece.substr(parts[k].first, parts[k + 1].first - parts[k].first)));
}

/// The same merge order with a min-heap of (rank, start, end) pair candidates over
/// a linked list of parts. A candidate is current when a part still starts at
/// `start` and it and its successor still end at `end`: the same bytes, so the
/// same rank. Ties in rank go to the smallest start, the leftmost pair, as in the scan.
void merge_by_heap(const BytesMap& ranks, std::string_view piece, std::vector<uint32_t>& ids) {
  const size_t n = piece.size();
  std::vector<size_t> next(n), prev(n);  // part starting at i: successor's start (n at the end), predecessor's
  std::vector<bool> alive(n, true);
  using Candidate = std::tuple<uint32_t, size_t, size_t>;  // rank, start, end
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  const auto push = [&](size_t start, size_t end) {
    const uint32_t rank = ranks.find(piece.substr(start, end - start));
    if (rank != kNoRank) heap.emplace(rank, start, end);
  };
  for (size_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? 0 : i - 1;
    if (i + 2 <= n) push(i, i + 2);
  }
  while (!heap.empty()) {
    const auto [rank, start, end] = heap.top();
    heap.pop();
    const size_t second = next[start];
    if (!alive[start] || second >= n || next[second] != end) continue;  // stale
    alive[second] = false;
    next[start] = end;
    if (end < n) prev[end] = start;
    if (start > 0) push(prev[start], end);
    if (end < n) push(start, next[end]);
  }
  for (size_t i = 0; i < n; i = next[i]) ids.push_back(ranks.find(piece.substr(i, next[i] - i)));
}

/// One thread's cache of piece -> ids: `index` maps the piece to an offset in
/// `ids`, where its id count is followed by the ids.
struct PieceCache {
  uint64_t serial = 0;
  BytesMap index;
  std::vector<uint32_t> ids;
};

PieceCache& thread_cache(uint64_t serial) {
  thread_local PieceCache cache;
  if (cache.serial != serial || cache.index.size() >= kCacheMaxPieces) {
    cache.serial = serial;
    cache.index.clear();
    cache.ids.clear();
  }
  return cache;
}

}  // namespace

Gpt2Tokenizer::Gpt2Tokenizer(std::shared_ptr<const Vocabulary> vocabulary) : vocabulary_(std::move(vocabulary)) {}

int64_t Gpt2Tokenizer::vocab_size() const { return static_cast<int64_t>(vocabulary_->tokens.size()); }
uint32_t Gpt2Tokenizer::end_of_text() const { return vocabulary_->end_of_text; }
const std::vector<std::string>& Gpt2Tokenizer::files() const { return vocabulary_->files; }

void Gpt2Tokenizer::encode_piece(std::string_view piece, std::vector<uint32_t>& ids) const {
  const BytesMap& ranks = vocabulary_->ranks;
  if (const uint32_t whole = ranks.find(piece); whole != kNoRank) {
    ids.push_back(whole);
    return;
  }
  if (piece.size() > kScanMergeMaxBytes) return merge_by_heap(ranks, piece, ids);
  if (piece.size() > kCachedPieceMaxBytes) return merge_by_scan(ranks, piece, ids);
  PieceCache& cache = thread_cache(vocabulary_->serial);
  if (const uint32_t at = cache.index.find(piece); at != kNoRank) {
    ids.insert(ids.end(), cache.ids.begin() + at + 1, cache.ids.begin() + at + 1 + cache.ids[at]);
    return;
  }
  const size_t first = ids.size();
  merge_by_scan(ranks, piece, ids);
  cache.index.insert(piece, static_cast<uint32_t>(cache.ids.size()));
  cache.ids.push_back(static_cast<uint32_t>(ids.size() - first));
  cache.ids.insert(cache.ids.end(), ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end());
}

void Gpt2Tokenizer::encode_stretch(std::string_view text, std::vector<uint32_t>& ids) const {
  Gpt2PreTokenizer splitter(text);
  for (std::string_view piece; splitter.next(piece);) encode_piece(piece, ids);
}

void Gpt2Tokenizer::encode_ordinary(std::string_view text, std::vector<uint32_t>& ids) const {
  if (is_valid_utf8(text)) return encode_stretch(text, ids);
  const std::string repaired = utf8_replace_invalid(text);
  encode_stretch(repaired, ids);
}

void Gpt2Tokenizer::encode(std::string_view text, std::vector<uint32_t>& ids) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = utf8_replace_invalid(text);
    text = repaired;
  }
  for (;;) {
    const size_t special = text.find(kEndOfTextText);
    encode_stretch(text.substr(0, special), ids);
    if (special == std::string_view::npos) return;
    ids.push_back(vocabulary_->end_of_text);
    text.remove_prefix(special + kEndOfTextText.size());
  }
}

std::vector<uint32_t> Gpt2Tokenizer::encode_ordinary(std::string_view text) const {
  std::vector<uint32_t> ids;
  ids.reserve(text.size() / 3);
  encode_ordinary(text, ids);
  return ids;
}

std::vector<uint32_t> Gpt2Tokenizer::encode(std::string_view text) const {
  std::vector<uint32_t> ids;
  ids.reserve(text.size() / 3);
  encode(text, ids);
  return ids;
}

const std::string& Gpt2Tokenizer::token_bytes(uint32_t id) const {
  if (id >= vocabulary_->tokens.size())
    throw RuntimeError("gpt2 tokenizer: token id " + std::to_string(id) + " is >= vocab_size " +
                       std::to_string(vocabulary_->tokens.size()));
  return vocabulary_->tokens[id];
}

std::string Gpt2Tokenizer::decode(const std::vector<uint32_t>& ids) const {
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (const uint32_t id : ids) bytes += token_bytes(id);
  return bytes;
}

std::string Gpt2Tokenizer::decode_text(const std::vector<uint32_t>& ids) const {
  return utf8_replace_invalid(decode(ids));
}

}  // namespace cocomix
