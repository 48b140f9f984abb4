// The label cache's on-disk layout, shared by its writer and reader: the
// magic, the JSON header and the raw reads (docs/label-cache.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cocomix::label_cache_format {

/// The header fields a run must match, in the order they are checked.
const std::vector<std::string>& checked_fields();
/// Bytes per stored id: 2 for "uint16", 4 for "int32" (RuntimeError naming `source` otherwise).
int64_t id_bytes_of(const nlohmann::json& header, const std::string& source);
/// Magic, header length (uint64 LE), the JSON padded with spaces to a multiple of 8 bytes.
std::string encode_header(const nlohmann::json& header);
/// pread of exactly `bytes` at `offset`; RuntimeError naming `path` when the file ends first.
void read_exactly(int fd, const std::string& path, void* data, size_t bytes, int64_t offset);
/// Reads the magic and JSON header of an open cache file; returns the data offset.
int64_t read_header(int fd, const std::string& path, nlohmann::json& header);
/// The size of an open file.
int64_t file_size(int fd, const std::string& path);

}  // namespace cocomix::label_cache_format
