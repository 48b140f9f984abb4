// safetensors files (model weights, optimizer state, SAEs): the header length,
// the JSON header's dtypes, shapes and data offsets. Each accepted tensor's
// bytes are copied out of the data as load_safetensors copies them, so an
// offset the checks let through past the data shows as an out-of-bounds read.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "cocomix/io/safetensors_header.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  const std::string path = fuzz::write_file("model.safetensors", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_success_or_clean_error([&] {
    std::ifstream in(path, std::ios::binary);
    const SafetensorsHeader header = read_safetensors_header(in, size, path);
    if (header.data_offset + header.data_size != size) fuzz::fail("header and data do not add up to the file");
    const uint8_t* tensor_data = data + header.data_offset;
    for (const auto& entry : header.entries) {
      std::vector<uint8_t> bytes(entry.end - entry.begin);
      if (!bytes.empty()) std::memcpy(bytes.data(), tensor_data + entry.begin, bytes.size());
    }
  });
  return 0;
}
