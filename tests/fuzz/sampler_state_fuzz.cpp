// The data sampler's state that trainer_state.json holds for each data source
// ("sampler": seed, epoch, cursor, shard_tokens, seq_len, sampling, rank,
// world_size), restored onto a sampler of shards of 96 and 160 tokens with
// windows of 16 in each order. A restored sampler must draw its next windows
// inside the data.
#include <cstdint>
#include <string>

#include "cocomix/data/window_sampler.h"
#include "cocomix/util/json_field.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  const std::string path = fuzz::write_file("trainer_state.json", {reinterpret_cast<const char*>(data), size});
  for (const WindowOrder order : {WindowOrder::kRandom, WindowOrder::kFixed, WindowOrder::kSequential}) {
    fuzz::expect_success_or_clean_error([&] {
      WindowSampler sampler({96, 160}, /*seq_len=*/16, order, /*seed=*/7);
      sampler.restore(read_json_file(path), path);
      for (const int64_t start : sampler.next(24))
        if (start < 0 || start + 16 > 96 + 160) fuzz::fail("a restored sampler drew a window outside the data");
    });
  }
  return 0;
}
