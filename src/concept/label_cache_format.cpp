// The label cache's magic, header encoding and raw reads.
#include "cocomix/concept/label_cache_format.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cocomix/data/token_corpus.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"

namespace cocomix::label_cache_format {

using json = nlohmann::json;

const std::vector<std::string>& checked_fields() {
  static const std::vector<std::string> fields = {
      "format_version", "id_type",   "shards",         "num_tokens", "seq_len",       "window_stride",
      "windows",        "k_attr",    "selection",      "teacher_precision", "teacher_sha256", "sae_sha256",
      "sae_k",          "teacher_layer", "n_concepts"};
  return fields;
}

int64_t id_bytes_of(const json& header, const std::string& source) {
  const auto type = json_field<std::string>(header, "id_type", source);
  if (type == "uint16") return 2;
  if (type == "int32") return 4;
  throw RuntimeError(source + ": id_type: expected \"uint16\" or \"int32\", got \"" + type + "\"");
}

std::string encode_header(const json& header) {
  std::string text = header.dump();
  text.append((8 - (16 + text.size()) % 8) % 8, ' ');
  std::string out(kLabelCacheMagic, sizeof kLabelCacheMagic);
  const uint64_t length = text.size();
  out.append(reinterpret_cast<const char*>(&length), sizeof length);  // x86-64 / aarch64: little-endian
  return out + text;
}

void read_exactly(int fd, const std::string& path, void* data, size_t bytes, int64_t offset) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(path, "read failed", errno);
    if (n == 0) throw RuntimeError(path + ": truncated (file ends at byte " + std::to_string(offset) + ")");
    p += n;
    bytes -= static_cast<size_t>(n);
    offset += n;
  }
}

int64_t read_header(int fd, const std::string& path, json& header, std::string_view remedy) {
  const std::string then = "; " + std::string(remedy);
  // The size is checked first, so that a short file is named as one rather than as a failed read.
  const int64_t size = file_size(fd, path);
  if (size < 16)
    throw RuntimeError(path + ": truncated: " + std::to_string(size) + " bytes, shorter than a label cache's header" +
                       then);
  char magic[8];
  uint64_t length = 0;
  read_exactly(fd, path, magic, sizeof magic, 0);
  if (std::memcmp(magic, kLabelCacheMagic, sizeof magic) != 0)
    throw RuntimeError(path + ": not a concept-label cache (bad magic)" + then);
  read_exactly(fd, path, &length, sizeof length, 8);
  if (length > static_cast<uint64_t>(size - 16))
    throw RuntimeError(path + ": truncated: a header of " + std::to_string(length) + " bytes runs past its end (" +
                       std::to_string(size) + " bytes)" + then);
  std::string text(length, '\0');
  read_exactly(fd, path, text.data(), length, 16);
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    throw RuntimeError(path + ": header is not valid JSON (" + e.what() + ")" + then);
  }
  if (!header.is_object()) throw RuntimeError(path + ": header is not a JSON object" + then);
  return 16 + static_cast<int64_t>(length);
}

int64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(path, "cannot stat", errno);
  return st.st_size;
}

CheckedHeader read_checked_header(int fd, const std::string& path, const json& expected, std::string_view remedy) {
  const std::string then = "; " + std::string(remedy);
  CheckedHeader out;
  out.data_offset = read_header(fd, path, out.header, remedy);
  const auto& h = out.header;
  for (const auto& field : checked_fields()) {
    if (!h.contains(field)) throw RuntimeError(path + ": header field " + field + ": missing" + then);
    if (h.at(field) == expected.at(field)) continue;
    const std::string change = field == "shards" ? shard_list_change(h.at(field), expected.at(field))
                                                 : "the cache was built for " + h.at(field).dump() + ", this run has " +
                                                       expected.at(field).dump();
    throw UsageError(path + ": " + field + ": " + change + then);
  }
  out.windows = json_field<int64_t>(h, "windows", path);
  out.seq_len = json_field<int64_t>(h, "seq_len", path);
  out.k_attr = json_field<int64_t>(h, "k_attr", path);
  out.n_concepts = json_field<int64_t>(h, "n_concepts", path);
  out.id_bytes = id_bytes_of(h, path);
  for (const auto& shard : h.at("shards")) out.shard_tokens.push_back(json_field<int64_t>(shard, "tokens", path));
  const int64_t expected_size = out.data_offset + out.windows * out.seq_len * out.k_attr * out.id_bytes;
  const int64_t size = file_size(fd, path);
  if (size != expected_size)
    throw RuntimeError(path + ": " + std::to_string(size) + " bytes, the header's layout needs " +
                       std::to_string(expected_size) + " (truncated or damaged)" + then);
  return out;
}

}  // namespace cocomix::label_cache_format
