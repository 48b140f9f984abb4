// CRC-32C (Castagnoli polynomial, reflected 0x82F63B78), computed in software.
// TensorBoard event files frame every record with a "masked" CRC-32C of its
// length and of its payload (the TFRecord format).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cocomix {

/// CRC-32C of `size` bytes at `data`. Pass the result of an earlier call as `crc`
/// to continue over a following chunk (crc32c(b, crc32c(a)) == crc32c(a + b)).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

/// CRC-32C of the bytes of `bytes`; crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const std::string& bytes);

/// The TFRecord mask of a CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8, all mod 2^32.
/// Stored instead of the raw CRC so that CRCs of data holding CRCs stay well mixed.
uint32_t mask_crc32c(uint32_t crc);

}  // namespace cocomix
