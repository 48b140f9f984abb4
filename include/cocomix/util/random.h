// Seeded random draws that give the same numbers on every platform and standard
// library (std distributions do not): the window sampler and the synthetic
// corpus derive all their randomness from these.
#pragma once

#include <cstdint>
#include <random>

namespace cocomix {

/// splitmix64's output function (Steele et al.): a bijective 64-bit mixer.
/// splitmix64(x) = z ^ (z >> 31) with z = x + 0x9E3779B97F4A7C15, then
/// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9, z = (z ^ (z >> 27)) * 0x94D049BB133111EB.
uint64_t splitmix64(uint64_t x);

/// The seed of stream `stream` (an epoch, a document index) of run seed `seed`:
/// splitmix64(splitmix64(seed) + stream). Distinct streams give unrelated seeds.
uint64_t stream_seed(uint64_t seed, uint64_t stream);

/// A uniform draw in [0, n) from `engine` by rejection (no modulo bias), the same
/// on every standard library (std::uniform_int_distribution is not): draws x
/// until x < 2^64 - (2^64 mod n) and returns x mod n. n must be >= 1.
uint64_t uniform_below(std::mt19937_64& engine, uint64_t n);

/// A keyed pseudo-random permutation of [0, n), evaluated one index at a time in
/// constant time and memory (a shuffle that is never materialised). A 4-round
/// Feistel network on 2h bits, 2h the smallest even number >= 2 with 2^(2h) >= n:
/// v = (L << h) | R; round r = 0..3 maps (L, R) to (R, L ^ (splitmix64(key ^
/// (r << 56) ^ R) & (2^h - 1))). Values >= n walk on through the network until
/// one lands below n (cycle walking), which keeps it a bijection of [0, n);
/// as 2^(2h) < 4n, fewer than 4 passes are needed on average.
class IndexPermutation {
 public:
  /// n >= 1; throws UsageError otherwise.
  IndexPermutation(uint64_t n, uint64_t key);
  /// The image of i in [0, n); throws UsageError outside.
  uint64_t operator()(uint64_t i) const;
  uint64_t size() const { return n_; }

 private:
  uint64_t pass(uint64_t v) const;

  uint64_t n_;
  uint64_t key_;
  int half_bits_;
  uint64_t half_mask_;
};

}  // namespace cocomix
