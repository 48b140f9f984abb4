// Loading and checking GPT-2 tokenizer files: the vocabulary (encoder.json or
// vocab.json) and the merges (vocab.bpe or merges.txt). Builds the byte-string
// ranks the way tiktoken's data_gym_to_mergeable_bpe_ranks does and refuses any
// file that disagrees, with one line naming the file, line or token.
#include "gpt2_vocabulary.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

/// GPT-2's byte-to-unicode alphabet: the printable bytes ! .. ~, ¡ .. ¬, ® .. ÿ
/// stand for themselves, the other 68 bytes for U+0100 onwards in byte order. The
/// order of this list (printable first) is also the rank order of the 256 bytes.
struct ByteAlphabet {
  std::vector<unsigned char> rank_to_byte;  ///< 256 entries
  int byte_of_code_point[0x200];            ///< -1 for code points outside the alphabet

  ByteAlphabet() {
    std::fill(std::begin(byte_of_code_point), std::end(byte_of_code_point), -1);
    const auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    for (int b = 0; b < 256; ++b)
      if (printable(b)) {
        rank_to_byte.push_back(static_cast<unsigned char>(b));
        byte_of_code_point[b] = b;
      }
    int extra = 0;
    for (int b = 0; b < 256; ++b)
      if (!printable(b)) {
        rank_to_byte.push_back(static_cast<unsigned char>(b));
        byte_of_code_point[256 + extra++] = b;
      }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet table;
  return table;
}

/// Quoted for a one-line message (JSON string syntax escapes controls).
std::string as_json_string(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

/// The bytes a symbol written in the byte alphabet stands for; throws RuntimeError
/// "WHERE: SUBJECT: ..." when a character is outside the alphabet.
std::string alphabet_to_bytes(std::string_view symbol, const std::string& where, const std::string& subject) {
  std::string bytes;
  const auto* p = reinterpret_cast<const unsigned char*>(symbol.data());
  for (size_t i = 0; i < symbol.size();) {
    uint32_t cp;
    size_t length;
    if (p[i] < 0x80) {
      cp = p[i];
      length = 1;
    } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < symbol.size() && (p[i + 1] & 0xC0) == 0x80) {
      cp = (p[i] & 0x1Fu) << 6 | (p[i + 1] & 0x3Fu);
      length = 2;
    } else {
      cp = 0x200;  // three- and four-byte characters and invalid UTF-8 are never in the alphabet
      length = 1;
    }
    const int byte = cp < 0x200 ? alphabet().byte_of_code_point[cp] : -1;
    if (byte < 0) {
      char character[32];
      if (cp < 0x200)
        std::snprintf(character, sizeof character, "U+%04X", static_cast<unsigned>(cp));
      else
        std::snprintf(character, sizeof character, "byte %u", static_cast<unsigned>(p[i]));
      throw RuntimeError(where + ": " + subject + ": character " + character +
                         " is not in GPT-2's byte-to-unicode alphabet");
    }
    bytes.push_back(static_cast<char>(byte));
    i += length;
  }
  return bytes;
}

/// Reads the merges file into `vocabulary.ranks` (bytes first, then one token per
/// merge) and `vocabulary.tokens`; returns the number of merges.
size_t load_merges(const std::string& path, Gpt2Tokenizer::Vocabulary& vocabulary) {
  const std::string text = read_whole_file(path);
  for (int rank = 0; rank < 256; ++rank) {
    const std::string byte(1, static_cast<char>(alphabet().rank_to_byte[rank]));
    vocabulary.ranks.insert(byte, static_cast<uint32_t>(rank));
    vocabulary.tokens.push_back(byte);
  }
  size_t begin = 0, line_number = 0, merges = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (line_number == 1 && line.substr(0, 8) == "#version") continue;
    const std::string where = path + ":" + std::to_string(line_number);
    const size_t space = line.find(' ');
    if (line.empty() || space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos)
      throw RuntimeError(where + ": expected a merge \"A B\" (two symbols separated by one space), got " +
                         as_json_string(line));
    const std::string subject = "merge " + as_json_string(line);
    const std::string first = alphabet_to_bytes(line.substr(0, space), where, subject);
    const std::string second = alphabet_to_bytes(line.substr(space + 1), where, subject);
    for (const auto& [symbol, bytes] :
         {std::pair{line.substr(0, space), &first}, std::pair{line.substr(space + 1), &second}})
      if (vocabulary.ranks.find(*bytes) == detail::BytesMap::kMissing)
        throw RuntimeError(where + ": " + subject + " names the unknown symbol " + as_json_string(symbol) +
                           " (neither a byte nor made by an earlier merge)");
    const auto rank = static_cast<uint32_t>(vocabulary.tokens.size());
    if (!vocabulary.ranks.insert(first + second, rank))
      throw RuntimeError(where + ": " + subject + " makes a token that a byte or an earlier merge already made");
    vocabulary.tokens.push_back(first + second);
    ++merges;
  }
  return merges;
}

/// Checks the vocabulary file against the ranks the merges made: every token has
/// the id tiktoken gives it, no id twice, nothing missing, and <|endoftext|> right
/// after the mergeable tokens.
void check_vocabulary(const std::string& path, size_t merges, Gpt2Tokenizer::Vocabulary& vocabulary) {
  const std::string text = read_whole_file(path);
  json document;
  try {
    document = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond a double
    throw RuntimeError(path + ": invalid JSON: " + e.what());
  }
  if (!document.is_object())
    throw RuntimeError(path + ": expected a JSON object of token -> id, got a JSON " + document.type_name());
  const size_t mergeable = vocabulary.tokens.size();
  if (!document.contains(Gpt2Tokenizer::kEndOfTextText))
    throw RuntimeError(path + ": no " + std::string(Gpt2Tokenizer::kEndOfTextText) + " token");
  if (document.size() != mergeable + 1)
    throw RuntimeError(path + ": holds " + std::to_string(document.size()) + " tokens, but the 256 bytes, " +
                       std::to_string(merges) + " merges of " + vocabulary.files[1] + " and " +
                       std::string(Gpt2Tokenizer::kEndOfTextText) + " make " + std::to_string(mergeable + 1));
  std::vector<const std::string*> owner(mergeable + 1, nullptr);  // id -> the key that claimed it
  for (const auto& [key, value] : document.items()) {
    const std::string subject = "token " + as_json_string(key);
    if (!value.is_number_unsigned())
      throw RuntimeError(path + ": " + subject + ": id must be a non-negative integer, got " + value.dump());
    const uint64_t id = value.get<uint64_t>();
    if (id > mergeable)
      throw RuntimeError(path + ": " + subject + ": id " + std::to_string(id) +
                         " is out of range: " + std::to_string(merges) +
                         " merges + 256 bytes + <|endoftext|> give ids 0.." + std::to_string(mergeable));
    if (owner[id] != nullptr)
      throw RuntimeError(path + ": duplicate id " + std::to_string(id) + ": tokens " + as_json_string(*owner[id]) +
                         " and " + as_json_string(key));
    owner[id] = &key;
    if (key == Gpt2Tokenizer::kEndOfTextText) {
      if (id != mergeable)
        throw RuntimeError(path + ": " + subject + " has id " + std::to_string(id) + ", expected " +
                           std::to_string(mergeable) + " (right after the 256 bytes and " + std::to_string(merges) +
                           " merges of the merges file)");
      continue;
    }
    const std::string bytes = alphabet_to_bytes(key, path, subject);
    const uint32_t rank = vocabulary.ranks.find(bytes);
    if (rank == detail::BytesMap::kMissing)
      throw RuntimeError(path + ": " + subject + " (id " + std::to_string(id) +
                         ") is neither a byte nor made by a merge in " + vocabulary.files[1]);
    if (rank != id)
      throw RuntimeError(path + ": " + subject + " has id " + std::to_string(id) + " but the merges in " +
                         vocabulary.files[1] + " give it id " + std::to_string(rank) +
                         " (the two files do not belong together)");
  }
  vocabulary.end_of_text = static_cast<uint32_t>(mergeable);
  vocabulary.tokens.emplace_back(Gpt2Tokenizer::kEndOfTextText);
}

}  // namespace

Gpt2Tokenizer Gpt2Tokenizer::load_files(const std::string& vocab_path, const std::string& merges_path) {
  static std::atomic<uint64_t> next_serial{1};
  auto vocabulary = std::make_shared<Vocabulary>();
  vocabulary->files = {vocab_path, merges_path};
  const size_t merges = load_merges(merges_path, *vocabulary);
  check_vocabulary(vocab_path, merges, *vocabulary);
  vocabulary->serial = next_serial.fetch_add(1);
  return Gpt2Tokenizer(std::move(vocabulary));
}

Gpt2Tokenizer Gpt2Tokenizer::load(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  if (!fs::is_directory(root)) throw RuntimeError(dir + ": not a directory of GPT-2 tokenizer files");
  for (const auto& [vocab, merges] : {std::pair{"encoder.json", "vocab.bpe"}, std::pair{"vocab.json", "merges.txt"}})
    if (fs::exists(root / vocab) || fs::exists(root / merges))
      return load_files((root / vocab).string(), (root / merges).string());
  throw RuntimeError(dir +
                     ": no GPT-2 tokenizer files (expected encoder.json + vocab.bpe, or vocab.json + merges.txt)");
}

}  // namespace cocomix
