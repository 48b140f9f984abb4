// The label cache's on-disk layout, shared by its writer and reader: the
// magic, the JSON header, its checks against a run, and the raw reads
// (docs/label-cache.md). No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace cocomix {

inline constexpr char kLabelCacheMagic[8] = {'C', 'C', 'M', 'X', 'L', 'B', 'L', 'S'};
inline constexpr int64_t kLabelCacheVersion = 2;

namespace label_cache_format {

/// The header fields a run must match, in the order they are checked.
const std::vector<std::string>& checked_fields();
/// Bytes per stored id: 2 for "uint16", 4 for "int32" (RuntimeError naming `source` otherwise).
int64_t id_bytes_of(const nlohmann::json& header, const std::string& source);
/// Magic, header length (uint64 LE), the JSON padded with spaces to a multiple of 8 bytes.
std::string encode_header(const nlohmann::json& header);
/// pread of exactly `bytes` at `offset`; RuntimeError naming `path` when the file ends first.
void read_exactly(int fd, const std::string& path, void* data, size_t bytes, int64_t offset);
/// What a reader's errors about a cache file's content say to do: a run rebuilds the cache,
/// `cocomix-sae label` (which never overwrites a file) says so instead.
inline constexpr std::string_view kRebuildIt = "rebuild it with cocomix-sae label --config FILE";

/// Reads the magic and JSON header of an open cache file; returns the data offset. RuntimeError
/// "PATH: WHAT; REMEDY" for a file too short for its header, a bad magic, or a header that is
/// not a JSON object.
int64_t read_header(int fd, const std::string& path, nlohmann::json& header, std::string_view remedy = kRebuildIt);
/// The size of an open file.
int64_t file_size(int fd, const std::string& path);

/// A cache file's header, checked against a run's and against the file's size.
struct CheckedHeader {
  nlohmann::json header;
  int64_t data_offset = 0;  ///< where the ids begin
  int64_t windows = 0;
  int64_t seq_len = 0;
  int64_t k_attr = 0;
  int64_t n_concepts = 0;
  int64_t id_bytes = 0;               ///< 2 or 4
  std::vector<int64_t> shard_tokens;  ///< tokens of each shard, in the header's order
};

/// Reads the header of the cache open as `fd` and checks it: every checked_fields() entry equal
/// to `expected`'s (UsageError "PATH: FIELD: the cache was built for X, this run has Y; REMEDY"),
/// and the file exactly as long as the header's layout (RuntimeError "...; REMEDY" otherwise,
/// as for read_header's errors).
CheckedHeader read_checked_header(int fd, const std::string& path, const nlohmann::json& expected,
                                  std::string_view remedy = kRebuildIt);

}  // namespace label_cache_format
}  // namespace cocomix
