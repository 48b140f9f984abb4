// SHA-256 (FIPS 180-4) of byte strings and files: the digests that checkpoints,
// SAEs, label caches and corpus manifests record of their files. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cocomix {

/// Incremental SHA-256: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  /// The 64 lowercase hex digits of the digest; the object is spent afterwards.
  std::string hex_digest();

 private:
  void compress(const unsigned char* block);

  uint32_t state_[8];
  unsigned char buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// Hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// Hex SHA-256 of the file at `path`, read in pieces. Throws RuntimeError naming the file.
std::string sha256_file_hex(const std::string& path);

/// Whether blocks go through the CPU's SHA extensions (x86 SHA-NI), as they do
/// wherever the CPU has them.
bool sha256_uses_sha_extensions();
/// Tests only: the portable rounds even where the extensions exist (true), or back to the CPU's choice.
void sha256_force_portable(bool portable);

}  // namespace cocomix
