// Generator states travel as hex strings of the byte tensors LibTorch exposes.
#include "cocomix/train/rng_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cocomix/util/error.h"

#ifdef COCOMIX_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <torch/cuda.h>
#endif

namespace cocomix {
namespace {

std::string to_hex(const torch::Tensor& bytes) {
  static const char* digits = "0123456789abcdef";
  const auto t = bytes.contiguous();
  const auto* data = t.data_ptr<uint8_t>();
  std::string out(static_cast<size_t>(t.numel()) * 2, '0');
  for (int64_t i = 0; i < t.numel(); ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

torch::Tensor from_hex(const std::string& hex, const std::string& source) {
  if (hex.size() % 2 != 0) throw RuntimeError(source + ": rng_state: odd-length hex string");
  auto out = torch::empty({static_cast<int64_t>(hex.size() / 2)}, torch::kUInt8);
  auto* data = out.data_ptr<uint8_t>();
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw RuntimeError(source + ": rng_state: not a hex string");
  };
  for (size_t i = 0; i < hex.size() / 2; ++i)
    data[i] = static_cast<uint8_t>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  return out;
}

}  // namespace

nlohmann::json capture_rng_state() {
  nlohmann::json state;
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    state["cpu"] = to_hex(cpu.get_state());
  }
  state["cuda"] = nlohmann::json::array();
#ifdef COCOMIX_WITH_CUDA
  if (torch::cuda::is_available()) {
    for (int64_t d = 0; d < static_cast<int64_t>(torch::cuda::device_count()); ++d) {
      auto gen = at::cuda::detail::getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(d));
      std::lock_guard<std::mutex> lock(gen.mutex());
      state["cuda"].push_back(to_hex(gen.get_state()));
    }
  }
#endif
  return state;
}

void restore_rng_state(const nlohmann::json& state, const std::string& source) {
  if (!state.is_object() || !state.contains("cpu") || !state["cpu"].is_string())
    throw RuntimeError(source + ": rng_state.cpu: missing or not a string");
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(from_hex(state["cpu"].get<std::string>(), source));
  }
#ifdef COCOMIX_WITH_CUDA
  if (torch::cuda::is_available() && state.contains("cuda") && state["cuda"].is_array()) {
    const auto& devices = state["cuda"];
    const size_t count = std::min(devices.size(), static_cast<size_t>(torch::cuda::device_count()));
    for (size_t d = 0; d < count; ++d) {
      auto gen = at::cuda::detail::getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(d));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(from_hex(devices[d].get<std::string>(), source));
    }
  }
#endif
}

}  // namespace cocomix
