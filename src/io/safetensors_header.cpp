// safetensors header checks: strict about every field, since a truncated or
// hand-edited checkpoint must give a one-line error, never a crash or a tensor
// read from the wrong bytes.
#include "cocomix/io/safetensors_header.h"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

struct DtypeSize {
  const char* name;
  int64_t bytes;
};
constexpr DtypeSize kDtypeSizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                     {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};

/// `entry` checked against the data's size.
SafetensorsEntry checked_entry(const std::string& name, const json& entry, uint64_t data_size,
                               const std::string& path) {
  const std::string where = path + ": tensor " + name;
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets") ||
      !entry["dtype"].is_string() || !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
      entry["data_offsets"].size() != 2)
    throw RuntimeError(where + ": header entry needs dtype, shape and data_offsets [begin, end]");
  SafetensorsEntry out;
  out.name = name;
  out.dtype = entry["dtype"].get<std::string>();
  const int64_t element_bytes = safetensors_dtype_bytes(out.dtype);
  if (element_bytes == 0) throw RuntimeError(where + ": unsupported dtype \"" + out.dtype + "\"");
  uint64_t bytes = static_cast<uint64_t>(element_bytes);
  for (const auto& dim : entry["shape"]) {
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw RuntimeError(where + ": shape must hold non-negative integers");
    const uint64_t size = dim.get<uint64_t>();
    if (size != 0 && bytes > std::numeric_limits<uint64_t>::max() / size)
      throw RuntimeError(where + ": shape " + entry["shape"].dump() + " is too large to be stored");
    bytes *= size;
    out.shape.push_back(static_cast<int64_t>(size));
  }
  const auto& offsets = entry["data_offsets"];
  if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
    throw RuntimeError(where + ": data_offsets must be non-negative integers");
  out.begin = offsets[0].get<uint64_t>();
  out.end = offsets[1].get<uint64_t>();
  if (out.end < out.begin || out.end - out.begin != bytes)
    throw RuntimeError(where + ": data_offsets [" + std::to_string(out.begin) + ", " + std::to_string(out.end) +
                       ") do not match its shape and dtype (" + std::to_string(bytes) + " bytes)");
  if (out.end > data_size) throw RuntimeError(where + ": data runs past the end of the file (truncated?)");
  return out;
}

}  // namespace

int64_t safetensors_dtype_bytes(std::string_view dtype) {
  for (const auto& d : kDtypeSizes)
    if (dtype == d.name) return d.bytes;
  return 0;
}

SafetensorsHeader read_safetensors_header(std::string_view file, const std::string& path) {
  uint64_t header_size = 0;
  if (file.size() < 8) throw RuntimeError(path + ": not a safetensors file (shorter than its 8-byte header length)");
  std::memcpy(&header_size, file.data(), 8);  // little-endian, as x86-64 and aarch64 are
  const uint64_t file_size = file.size();
  if (header_size > file_size - 8)
    throw RuntimeError(path + ": header length " + std::to_string(header_size) + " exceeds the file size (truncated?)");
  const std::string_view header_text = file.substr(8, header_size);
  const json header = json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) throw RuntimeError(path + ": header is not a JSON object");

  SafetensorsHeader out;
  out.data_offset = 8 + header_size;
  out.data_size = file_size - out.data_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object())
        for (const auto& [key, value] : entry.items())
          if (value.is_string()) out.metadata[key] = value.get<std::string>();
      continue;
    }
    out.entries.push_back(checked_entry(name, entry, out.data_size, path));
  }
  return out;
}

}  // namespace cocomix
