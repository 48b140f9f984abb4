// The header of a safetensors file, read and checked without LibTorch: the
// 8-byte little-endian header length, the JSON header's entries
// {name: {dtype, shape, data_offsets}} and "__metadata__". Every field is
// checked against the file's size before any tensor is made, so a truncated or
// hand-edited file is one RuntimeError naming the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cocomix {

/// Free-form string metadata ("__metadata__").
using StringMap = std::map<std::string, std::string>;

/// One tensor's header entry, checked: `end - begin` is the byte size of its
/// shape and dtype and `end` lies within the data.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;           ///< "F32", "BF16", ... (a name safetensors_dtype_bytes knows)
  std::vector<int64_t> shape;  ///< non-negative dimensions
  uint64_t begin = 0;          ///< byte offsets into the data, which follows the header
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  ///< in name order, as nlohmann's object iterates
  StringMap metadata;                     ///< the string values of "__metadata__"
  uint64_t data_offset = 0;               ///< 8 + the header length
  uint64_t data_size = 0;                 ///< bytes after the header
};

/// Bytes per element of a safetensors dtype name (F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL); 0 for any other.
int64_t safetensors_dtype_bytes(std::string_view dtype);

/// Reads and checks the header of the safetensors file whose bytes are `file`. Throws
/// RuntimeError "PATH: ..." for a file shorter than its header length, a header that is not a
/// JSON object, or an entry with a missing field, an unknown dtype, a negative or overflowing
/// shape, or data offsets that do not match its shape or run past the end of the file.
SafetensorsHeader read_safetensors_header(std::string_view file, const std::string& path);

}  // namespace cocomix
