// sae.json: the SAE's sizes, teacher layer and digests, and the check of the
// weights' digest it records against a real file beside it.
#include <cstdint>
#include <string>

#include "cocomix/concept/sae_info.h"
#include "cocomix/util/json_field.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  static const std::string weights = fuzz::write_file("sae.safetensors", "weights of a fuzzed sae.json");
  const std::string path = fuzz::write_file("sae.json", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_success_or_clean_error([&] {
    const SaeInfo info = read_sae_info(path);
    if (info.d < 1 || info.n_latents < 1 || info.k < 1 || info.k > info.n_latents || info.layer < 1)
      fuzz::fail("accepted sizes that are not positive or a k above n_latents");
    verify_sae_weights(read_json_file(path), path, weights);
  });
  return 0;
}
