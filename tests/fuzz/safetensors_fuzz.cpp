// safetensors files (model weights, optimizer state, SAEs): the header length,
// the JSON header's dtypes, shapes and data offsets, read from the file's bytes
// as load_safetensors reads them. Each accepted tensor's bytes are copied out
// as tensors_from_safetensors copies them, so an offset the checks let through
// past the data shows as an out-of-bounds read.
#include <cstdint>
#include <cstring>
#include <vector>

#include "cocomix/io/safetensors_header.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  fuzz::expect_success_or_clean_error([&] {
    const SafetensorsHeader header = read_safetensors_header(file, "model.safetensors");
    if (header.data_offset + header.data_size != size) fuzz::fail("header and data do not add up to the file");
    const uint8_t* tensor_data = data + header.data_offset;
    for (const auto& entry : header.entries) {
      std::vector<uint8_t> bytes(entry.end - entry.begin);
      if (!bytes.empty()) std::memcpy(bytes.data(), tensor_data + entry.begin, bytes.size());
    }
  });
  return 0;
}
