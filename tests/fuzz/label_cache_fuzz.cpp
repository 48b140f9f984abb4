// Concept-label cache headers: the magic, the header length, the JSON header,
// its fields against the run's expected header (label_cache_expected.json
// here, whose cache make_seeds.py writes), and the file's size against the
// header's layout.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "cocomix/concept/label_cache_format.h"
#include "cocomix/util/json_field.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  static const nlohmann::json expected = read_json_file(COCOMIX_FUZZ_DIR "/label_cache_expected.json");
  const std::string path = fuzz::write_file("labels.cache", {reinterpret_cast<const char*>(data), size});
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fuzz::fail("cannot open " + path);
  fuzz::expect_success_or_clean_error([&] {
    const auto header = label_cache_format::read_checked_header(fd, path, expected);
    const int64_t ids = header.windows * header.seq_len * header.k_attr;
    if (header.data_offset + ids * header.id_bytes != static_cast<int64_t>(size))
      fuzz::fail("accepted a cache whose size does not match its layout");
  });
  ::close(fd);
  return 0;
}
