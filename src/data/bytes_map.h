// Internal to the GPT-2 tokenizer: an open-addressing hash map from short byte
// strings to uint32 values, with the keys packed in one arena. It serves the
// vocabulary (token bytes -> rank) and the pre-token cache, the two lookups on the
// encoder's hot path, where std::unordered_map's node allocations and string
// hashing cost more than the BPE itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cocomix::detail {

/// A 64-bit hash of `bytes`: 8 bytes at a time, multiply-xorshift mixing.
inline uint64_t hash_bytes(std::string_view bytes) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = bytes.size() * kMul;
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

class BytesMap {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  BytesMap() { clear(); }

  /// The value of `key`, or kMissing.
  uint32_t find(std::string_view key) const {
    const uint64_t h = hash_bytes(key);
    const auto tag = static_cast<uint32_t>(h);
    for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
      const Slot& s = slots_[slot];
      if (s.entry == kMissing) return kMissing;
      if (s.tag == tag) {
        const Entry& e = entries_[s.entry];
        if (e.length == key.size() && std::memcmp(arena_.data() + e.offset, key.data(), key.size()) == 0)
          return e.value;
      }
    }
  }

  /// Adds `key` -> `value`; returns false (and changes nothing) when `key` is present.
  bool insert(std::string_view key, uint32_t value) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const uint64_t h = hash_bytes(key);
    const auto tag = static_cast<uint32_t>(h);
    size_t slot = h & mask_;
    for (;; slot = (slot + 1) & mask_) {
      const Slot& s = slots_[slot];
      if (s.entry == kMissing) break;
      if (s.tag == tag) {
        const Entry& e = entries_[s.entry];
        if (e.length == key.size() && std::memcmp(arena_.data() + e.offset, key.data(), key.size()) == 0) return false;
      }
    }
    slots_[slot] = {tag, static_cast<uint32_t>(entries_.size())};
    entries_.push_back({arena_.size(), static_cast<uint32_t>(key.size()), value});
    arena_.append(key.data(), key.size());
    return true;
  }

  size_t size() const { return entries_.size(); }

  void clear() {
    slots_.assign(kInitialSlots, Slot{});
    mask_ = kInitialSlots - 1;
    entries_.clear();
    arena_.clear();
  }

 private:
  static constexpr size_t kInitialSlots = 1024;
  struct Slot {
    uint32_t tag = 0;
    uint32_t entry = kMissing;  ///< index into entries_, kMissing = empty
  };
  struct Entry {
    size_t offset;
    uint32_t length;
    uint32_t value;
  };

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.entry == kMissing) continue;
      const Entry& e = entries_[s.entry];
      size_t slot = hash_bytes({arena_.data() + e.offset, e.length}) & mask_;
      while (slots_[slot].entry != kMissing) slot = (slot + 1) & mask_;
      slots_[slot] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<Entry> entries_;
  std::string arena_;
};

}  // namespace cocomix::detail
