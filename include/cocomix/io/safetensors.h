// The safetensors file format (Hugging Face): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__"},
// then the raw little-endian tensor bytes. Used for model weights, optimizer
// state and SAEs; knows nothing about models.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <string_view>

#include "cocomix/io/safetensors_header.h"

namespace cocomix {

/// Tensors by name, sorted (the on-disk order).
using TensorMap = std::map<std::string, torch::Tensor>;

/// Writes `tensors` (any device, contiguous or not) to `path`. Supports
/// F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL. Throws RuntimeError on I/O failure.
/// Not atomic by itself: checkpoints write into a temporary directory.
void save_safetensors(const std::string& path, const TensorMap& tensors, const StringMap& metadata = {});

/// save_safetensors to PATH.tmp, fsynced, renamed to `path`, parent fsynced: a
/// reader never sees a partial file. Throws RuntimeError on I/O failure.
void save_safetensors_atomically(const std::string& path, const TensorMap& tensors, const StringMap& metadata = {});

/// Reads every tensor of `path` onto the CPU. Throws RuntimeError naming the file
/// and the tensor when read_safetensors_header finds the header wrong.
TensorMap load_safetensors(const std::string& path, StringMap* metadata = nullptr);

/// The tensors of a safetensors file already read into memory (`file`, its
/// bytes; `path` names it in errors), as load_safetensors gives them.
TensorMap tensors_from_safetensors(std::string_view file, const std::string& path, StringMap* metadata = nullptr);

}  // namespace cocomix
