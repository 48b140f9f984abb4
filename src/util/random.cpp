// Platform-independent seeded draws (see util/random.h).
#include "cocomix/util/random.h"

#include <string>

#include "cocomix/util/error.h"

namespace cocomix {

uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t stream_seed(uint64_t seed, uint64_t stream) { return splitmix64(splitmix64(seed) + stream); }

uint64_t uniform_below(std::mt19937_64& engine, uint64_t n) {
  if (n == 0) throw UsageError("uniform_below: n must be at least 1");
  // 2^64 mod n, computed without 2^64: (2^64 - n) mod n.
  const uint64_t rejected = (0 - n) % n;
  const uint64_t limit = 0 - rejected;  // 2^64 - rejected, a multiple of n (0 stands for 2^64)
  for (;;) {
    const uint64_t x = engine();
    if (limit == 0 || x < limit) return x % n;
  }
}

IndexPermutation::IndexPermutation(uint64_t n, uint64_t key) : n_(n), key_(key) {
  if (n == 0) throw UsageError("IndexPermutation: n must be at least 1");
  int bits = 2;
  while (bits < 64 && (uint64_t{1} << bits) < n) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
}

uint64_t IndexPermutation::pass(uint64_t v) const {
  uint64_t left = v >> half_bits_;
  uint64_t right = v & half_mask_;
  for (uint64_t round = 0; round < 4; ++round) {
    const uint64_t mixed = left ^ (splitmix64(key_ ^ (round << 56) ^ right) & half_mask_);
    left = right;
    right = mixed;
  }
  return (left << half_bits_) | right;
}

uint64_t IndexPermutation::operator()(uint64_t i) const {
  if (i >= n_)
    throw UsageError("IndexPermutation: index " + std::to_string(i) + " is outside [0, " + std::to_string(n_) + ")");
  uint64_t v = pass(i);
  while (v >= n_) v = pass(v);
  return v;
}

}  // namespace cocomix
