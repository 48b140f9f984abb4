// Token files: llm.c shards (1024-byte header, uint16 or uint32 tokens) and
// headerless uint16 files. The first input byte picks the format the reader is
// told (auto, llmc, u16); the rest is the file. Every token of a file that
// opens is read, so a size that disagrees with the header shows as an
// out-of-bounds read.
#include <cstdint>
#include <vector>

#include "cocomix/data/token_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  if (size < 1) return 0;
  static constexpr TokenFormat kFormats[] = {TokenFormat::kAuto, TokenFormat::kLlmc, TokenFormat::kU16};
  const TokenFormat format = kFormats[data[0] % 3];
  const std::string path = fuzz::write_file("tokens.bin", {reinterpret_cast<const char*>(data) + 1, size - 1});
  fuzz::expect_success_or_clean_error([&] {
    const TokenFileLayout layout = probe_token_file(path, format);
    const TokenFile file = TokenFile::open(path, format);
    if (file.format() != layout.format || file.token_bytes() != layout.token_bytes)
      fuzz::fail("probe_token_file and TokenFile::open disagree on " + path);
    std::vector<int64_t> tokens(static_cast<size_t>(file.size()));
    if (!tokens.empty()) file.read(0, file.size(), tokens.data());
    for (int64_t i = 0; i < file.size(); ++i)
      if (static_cast<uint32_t>(tokens[static_cast<size_t>(i)]) != file.at(i)) fuzz::fail("read and at disagree");
  });
  return 0;
}
