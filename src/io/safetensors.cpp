// safetensors reader/writer: the header is read and checked by
// read_safetensors_header (io/safetensors_header.h); this file makes the tensors.
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

/// The type of a dtype name read_safetensors_header accepted.
torch::ScalarType dtype_from_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw RuntimeError("safetensors dtype \"" + name + "\" has no LibTorch type");
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
  return tensors_from_safetensors(read_whole_file(path), path, metadata);
}

TensorMap tensors_from_safetensors(std::string_view file, const std::string& path, StringMap* metadata) {
  SafetensorsHeader header = read_safetensors_header(file, path);
  if (metadata != nullptr)
    for (auto& [key, value] : header.metadata) (*metadata)[key] = std::move(value);
  const char* data = file.data() + header.data_offset;
  TensorMap tensors;
  for (const auto& entry : header.entries) {
    auto tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(dtype_from_name(entry.dtype)));
    if (entry.end > entry.begin) std::memcpy(tensor.data_ptr(), data + entry.begin, entry.end - entry.begin);
    tensors.emplace(entry.name, std::move(tensor));
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
