// safetensors reader/writer: strict about every header field, since a truncated
// or hand-edited checkpoint must give a one-line error, never a crash.
#include "cocomix/io/safetensors.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {torch::kFloat64, "F64"}, {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"},
    {torch::kInt64, "I64"},   {torch::kInt32, "I32"},   {torch::kInt16, "I16"},   {torch::kInt8, "I8"},
    {torch::kUInt8, "U8"},    {torch::kBool, "BOOL"},
};

const char* dtype_name(torch::ScalarType type, const std::string& path, const std::string& tensor) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.name;
  throw RuntimeError(path + ": tensor " + tensor + ": dtype " + std::string(c10::toString(type)) +
                     " cannot be stored in safetensors");
}

torch::ScalarType dtype_from_name(const std::string& name, const std::string& path, const std::string& tensor) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw RuntimeError(path + ": tensor " + tensor + ": unsupported dtype \"" + name + "\"");
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors, const StringMap& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> cpu;
  cpu.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type(), path, name)},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(std::move(t));
  }
  std::string header_text = header.dump();
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw RuntimeError(path + ": cannot open for writing");
  const uint64_t header_size = header_text.size();
  out.write(reinterpret_cast<const char*>(&header_size), sizeof header_size);
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const auto& t : cpu)
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
  out.flush();
  if (!out) throw RuntimeError(path + ": write failed (disk full or not writable?)");
}

TensorMap load_safetensors(const std::string& path, StringMap* metadata) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw RuntimeError(path + ": cannot open (missing or unreadable)");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t header_size = 0;
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(&header_size), 8))
    throw RuntimeError(path + ": not a safetensors file (shorter than its 8-byte header length)");
  if (header_size > file_size - 8)
    throw RuntimeError(path + ": header length " + std::to_string(header_size) + " exceeds the file size (truncated?)");
  std::string header_text(header_size, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_size));
  const json header = json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) throw RuntimeError(path + ": header is not a JSON object");

  const uint64_t data_size = file_size - 8 - header_size;
  std::vector<char> data(data_size);
  if (data_size > 0 && !in.read(data.data(), static_cast<std::streamsize>(data_size)))
    throw RuntimeError(path + ": cannot read the tensor data");

  TensorMap tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (metadata != nullptr && entry.is_object())
        for (const auto& [key, value] : entry.items())
          if (value.is_string()) (*metadata)[key] = value.get<std::string>();
      continue;
    }
    const std::string where = path + ": tensor " + name;
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets") ||
        !entry["dtype"].is_string() || !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2)
      throw RuntimeError(where + ": header entry needs dtype, shape and data_offsets [begin, end]");
    const auto type = dtype_from_name(entry["dtype"].get<std::string>(), path, name);
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& dim : entry["shape"]) {
      if (!dim.is_number_unsigned()) throw RuntimeError(where + ": shape must hold non-negative integers");
      shape.push_back(dim.get<int64_t>());
      numel *= dim.get<uint64_t>();
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw RuntimeError(where + ": data_offsets must be non-negative integers");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    const uint64_t bytes = numel * c10::elementSize(type);
    if (end < begin || end - begin != bytes)
      throw RuntimeError(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                         ") do not match its shape and dtype (" + std::to_string(bytes) + " bytes)");
    if (end > data_size) throw RuntimeError(where + ": data runs past the end of the file (truncated?)");
    auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
    if (bytes > 0) std::memcpy(tensor.data_ptr(), data.data() + begin, bytes);
    tensors.emplace(name, std::move(tensor));
  }
  return tensors;
}

void save_safetensors_atomically(const std::string& path, const TensorMap& tensors, const StringMap& metadata) {
  const std::string temporary = path + ".tmp";
  save_safetensors(temporary, tensors, metadata);
  fsync_file(temporary);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw_errno(path, "rename failed", errno);
  fsync_parent_directory(path);
}

}  // namespace cocomix
