// LabelCacheWriter: PATH.partial, resumed up to the windows PATH.partial.durable
// says were synced when it holds the same header, renamed to PATH when complete.
#include "cocomix/concept/label_cache_writer.h"

#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cocomix/concept/label_cache_format.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"

namespace cocomix {

using json = nlohmann::json;
using namespace label_cache_format;

namespace {

/// The window count a PATH.partial.durable records; 0 when it is absent or not a count (nothing is trusted then).
int64_t durable_windows(const std::string& durable) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(durable, error)) return 0;
  try {
    const std::string text = read_whole_file(durable);
    size_t used = 0;
    const int64_t windows = std::stoll(text, &used);
    return used > 0 && text.substr(used) == "\n" && windows > 0 ? windows : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

/// Removes `durable` and a temporary of it that a killed write_file_atomically left, durably: a crash
/// afterwards cannot bring back a count that the PATH.partial rewritten after it no longer matches.
void forget_durable(const std::string& durable) {
  bool removed = false;
  for (const auto& file : {durable, durable + ".tmp"}) {
    std::error_code error;
    removed |= std::filesystem::remove(file, error);
    if (error) throw_errno(file, "cannot remove", error.value());
  }
  if (removed) fsync_parent_directory(durable);
}

}  // namespace

LabelCacheWriter::LabelCacheWriter(const std::string& path, const json& header)
    : path_(path), partial_(path + ".partial"), durable_(path + ".partial.durable") {
  windows_ = json_field<int64_t>(header, "windows", path);
  window_values_ = json_field<int64_t>(header, "seq_len", path) * json_field<int64_t>(header, "k_attr", path);
  n_concepts_ = json_field<int64_t>(header, "n_concepts", path);
  id_bytes_ = id_bytes_of(header, path);
  const std::string encoded = encode_header(header);
  const int64_t window_bytes = window_values_ * id_bytes_;
  fd_ = ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno(partial_, "cannot open for writing", errno);
  // Keep an interrupted run's synced whole windows when it was making this very cache.
  const int64_t size = file_size(fd_, partial_), durable = durable_windows(durable_);
  if (size >= static_cast<int64_t>(encoded.size())) {
    json old;
    try {
      if (read_header(fd_, partial_, old) == static_cast<int64_t>(encoded.size()) && old == header)
        done_ = std::min({windows_, (size - static_cast<int64_t>(encoded.size())) / window_bytes, durable});
    } catch (const RuntimeError&) {
      done_ = 0;  // not ours or damaged: start over
    }
  }
  if (done_ == 0)
    forget_durable(durable_);
  else if (done_ < durable)  // windows lost after their sync: the count must not cover the ones written next
    write_file_atomically(durable_, std::to_string(done_) + "\n");
  const int64_t keep = done_ > 0 ? static_cast<int64_t>(encoded.size()) + done_ * window_bytes : 0;
  if (::ftruncate(fd_, keep) != 0) throw_errno(partial_, "cannot truncate", errno);
  if (::lseek(fd_, keep, SEEK_SET) < 0) throw_errno(partial_, "cannot seek", errno);
  if (keep == 0) write_all_bytes(fd_, partial_, encoded.data(), encoded.size());
}

LabelCacheWriter::~LabelCacheWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void LabelCacheWriter::append(const torch::Tensor& labels) {
  const int64_t n = labels.size(0);
  if (labels.numel() != n * window_values_)
    throw RuntimeError(partial_ + ": labels of " + std::to_string(labels.numel() / std::max<int64_t>(n, 1)) +
                       " values per window, expected seq_len * k_attr = " + std::to_string(window_values_));
  if (done_ + n > windows_)
    throw RuntimeError(partial_ + ": more than the header's " + std::to_string(windows_) + " windows");
  const auto flat = labels.to(torch::kCPU, torch::kInt64).contiguous().view({-1});
  if (flat.numel() > 0 && (flat.min().item<int64_t>() < 0 || flat.max().item<int64_t>() >= n_concepts_))
    throw RuntimeError(partial_ + ": a label outside [0, n_concepts = " + std::to_string(n_concepts_) + ")");
  const int64_t* ids = flat.data_ptr<int64_t>();
  if (id_bytes_ == 2) {  // little-endian hosts: the bytes as they lie
    std::vector<uint16_t> stored(ids, ids + flat.numel());
    write_all_bytes(fd_, partial_, stored.data(), stored.size() * sizeof(uint16_t));
  } else {
    std::vector<int32_t> stored(ids, ids + flat.numel());
    write_all_bytes(fd_, partial_, stored.data(), stored.size() * sizeof(int32_t));
  }
  done_ += n;
}

void LabelCacheWriter::sync() {
  if (::fsync(fd_) != 0) throw_errno(partial_, "cannot fsync", errno);
  write_file_atomically(durable_, std::to_string(done_) + "\n");
}

void LabelCacheWriter::finish() {
  if (done_ != windows_)
    throw RuntimeError(partial_ + ": " + std::to_string(done_) + " of " + std::to_string(windows_) +
                       " windows written; not renamed to " + path_);
  if (::fsync(fd_) != 0) throw_errno(partial_, "cannot fsync", errno);
  ::close(fd_);
  fd_ = -1;
  // Gone before the rename, so that a complete cache never has one beside it (a crash in between
  // costs a relabelling, never a wrong label).
  forget_durable(durable_);
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    throw_errno(path_, "cannot rename " + partial_ + " to it", errno);
  fsync_parent_directory(path_);
}

}  // namespace cocomix
