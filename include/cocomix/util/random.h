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

}  // namespace cocomix
