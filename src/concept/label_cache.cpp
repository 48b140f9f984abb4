// Label cache file: header building (hashes of the data, teacher and SAE), the
// resumable writer (PATH.partial, renamed when complete) and the checked reader.
#include "cocomix/concept/label_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "cocomix/data/token_file.h"
#include "cocomix/concept/objective_factory.h"
#include "cocomix/concept/sae_trainer.h"
#include "cocomix/data/batch.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/progress.h"
#include "cocomix/util/system.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

/// The fields a run must match, in the order they are checked.
const std::vector<std::string>& checked_fields() {
  static const std::vector<std::string> fields = {
      "format_version", "id_type",   "token_file_bytes",  "token_file_sha256", "num_tokens",
      "seq_len",        "window_stride", "windows",       "k_attr",            "selection",
      "teacher_precision", "teacher_sha256", "sae_sha256", "sae_k",            "teacher_layer",
      "n_concepts"};
  return fields;
}

int64_t id_bytes_of(const json& header, const std::string& source) {
  const auto type = json_field<std::string>(header, "id_type", source);
  if (type == "uint16") return 2;
  if (type == "int32") return 4;
  throw RuntimeError(source + ": id_type: expected \"uint16\" or \"int32\", got \"" + type + "\"");
}

/// Magic, header length (uint64 LE), the JSON padded with spaces to a multiple of 8 bytes.
std::string encode_header(const json& header) {
  std::string text = header.dump();
  text.append((8 - (16 + text.size()) % 8) % 8, ' ');
  std::string out(kLabelCacheMagic, sizeof kLabelCacheMagic);
  const uint64_t length = text.size();
  out.append(reinterpret_cast<const char*>(&length), sizeof length);  // x86-64 / aarch64: little-endian
  return out + text;
}

void read_exactly(int fd, const std::string& path, void* data, size_t bytes, int64_t offset) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(path, "read failed", errno);
    if (n == 0) throw RuntimeError(path + ": truncated (file ends at byte " + std::to_string(offset) + ")");
    p += n;
    bytes -= static_cast<size_t>(n);
    offset += n;
  }
}

/// Reads the magic and JSON header of an open cache file; returns the data offset.
int64_t read_header(int fd, const std::string& path, json& header) {
  char magic[8];
  uint64_t length = 0;
  read_exactly(fd, path, magic, sizeof magic, 0);
  if (std::memcmp(magic, kLabelCacheMagic, sizeof magic) != 0)
    throw RuntimeError(path + ": not a concept-label cache (bad magic; made by cocomix-sae label?)");
  read_exactly(fd, path, &length, sizeof length, 8);
  if (length > (uint64_t{1} << 24)) throw RuntimeError(path + ": header length " + std::to_string(length) + " is implausible");
  std::string text(length, '\0');
  read_exactly(fd, path, text.data(), length, 16);
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    throw RuntimeError(path + ": header is not valid JSON (" + e.what() + ")");
  }
  if (!header.is_object()) throw RuntimeError(path + ": header is not a JSON object");
  return 16 + static_cast<int64_t>(length);
}

int64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(path, "cannot stat", errno);
  return st.st_size;
}

}  // namespace

json label_cache_header(const Config& config) {
  const auto& k = config.concepts;
  const auto tokens = TokenFile::open(config.data.train_path, parse_token_format(config.data.format));
  const std::string sae_json = (fs::path(k.sae_path) / "sae.json").string();
  json sae;
  try {
    sae = json::parse(read_whole_file(sae_json));
  } catch (const json::exception& e) {
    throw RuntimeError(sae_json + ": not valid JSON (" + e.what() + ")");
  }
  const int64_t T = config.data.seq_len;
  return {{"format_version", kLabelCacheVersion},
          {"token_file", config.data.train_path},
          {"token_file_bytes", static_cast<int64_t>(fs::file_size(config.data.train_path))},
          {"token_file_sha256", sha256_file_hex(config.data.train_path)},
          {"num_tokens", tokens.size()},
          {"seq_len", T},
          {"window_stride", T},
          {"windows", tokens.size() > T ? (tokens.size() - 1) / T : 0},
          {"k_attr", k.k_attr},
          {"selection", k.selection},
          {"teacher_precision", k.teacher_precision},
          {"teacher_sha256", sha256_file_hex(teacher_weights_file(k.teacher_path))},
          {"sae_sha256", sha256_file_hex((fs::path(k.sae_path) / "sae.safetensors").string())},
          {"sae_k", json_field<int64_t>(sae, "k", sae_json)},
          {"teacher_layer", json_field<int64_t>(sae, "layer", sae_json)},
          {"n_concepts", k.n_concepts},
          {"id_type", k.n_concepts <= 65536 ? "uint16" : "int32"}};
}

// ---- writer ----

LabelCacheWriter::LabelCacheWriter(const std::string& path, const json& header)
    : path_(path), partial_(path + ".partial") {
  windows_ = json_field<int64_t>(header, "windows", path);
  window_values_ = json_field<int64_t>(header, "seq_len", path) * json_field<int64_t>(header, "k_attr", path);
  n_concepts_ = json_field<int64_t>(header, "n_concepts", path);
  id_bytes_ = id_bytes_of(header, path);
  const std::string encoded = encode_header(header);
  const int64_t window_bytes = window_values_ * id_bytes_;
  fd_ = ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno(partial_, "cannot open for writing", errno);
  // Keep an interrupted run's whole windows when it was making this very cache.
  const int64_t size = file_size(fd_, partial_);
  if (size >= static_cast<int64_t>(encoded.size())) {
    json old;
    try {
      if (read_header(fd_, partial_, old) == static_cast<int64_t>(encoded.size()) && old == header)
        done_ = std::min(windows_, (size - static_cast<int64_t>(encoded.size())) / window_bytes);
    } catch (const RuntimeError&) {
      done_ = 0;  // not ours or damaged: start over
    }
  }
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

void LabelCacheWriter::finish() {
  if (done_ != windows_)
    throw RuntimeError(partial_ + ": " + std::to_string(done_) + " of " + std::to_string(windows_) +
                       " windows written; not renamed to " + path_);
  if (::fsync(fd_) != 0) throw_errno(partial_, "cannot fsync", errno);
  ::close(fd_);
  fd_ = -1;
  if (std::rename(partial_.c_str(), path_.c_str()) != 0) throw_errno(path_, "cannot rename " + partial_ + " to it", errno);
  fsync_parent_directory(path_);
}

int64_t build_label_cache(const Config& config, const std::string& path, int64_t log_every) {
  const auto header = label_cache_header(config);
  auto labeler = make_concept_labeler(config);
  const auto tokens = TokenFile::open(config.data.train_path, parse_token_format(config.data.format));
  LabelCacheWriter writer(path, header);
  const int64_t T = config.data.seq_len, B = config.train.batch_size, windows = writer.windows();
  if (writer.windows_done() > 0)
    log_info(path + ".partial: resuming after " + std::to_string(writer.windows_done()) + " of " +
             std::to_string(windows) + " windows");
  const auto started = std::chrono::steady_clock::now();
  const int64_t first = writer.windows_done();
  for (int64_t batch = 0; writer.windows_done() < windows; ++batch) {
    const int64_t begin = writer.windows_done(), n = std::min(B, windows - begin);
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < B; ++i) starts.push_back((begin + std::min(i, n - 1)) * T);
    const auto inputs = read_batch(tokens, starts, T, config.model.vocab_size).inputs;  // [B, T]
    writer.append(labeler->label(inputs).labels.narrow(0, 0, n));
    const int64_t done = writer.windows_done();
    if ((batch + 1) % log_every == 0 || done == windows) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const double rate = seconds > 0 ? static_cast<double>(done - first) / seconds : 0;
      log_info("labels: windows " + std::to_string(done) + "/" + std::to_string(windows) + " | tok/s " +
               format_thousands(rate * static_cast<double>(T)) + " | eta " +
               format_duration(rate > 0 ? static_cast<double>(windows - done) / rate : 0));
    }
  }
  writer.finish();
  return windows;
}

// ---- reader ----

LabelCache LabelCache::open(const std::string& path, const json& expected) {
  LabelCache cache;
  cache.path_ = path;
  cache.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (cache.fd_ < 0)
    throw RuntimeError(path + ": cannot open the concept-label cache (" + std::strerror(errno) +
                       "); build it with cocomix-sae label --config FILE");
  cache.data_offset_ = read_header(cache.fd_, path, cache.header_);
  const auto& h = cache.header_;
  for (const auto& field : checked_fields()) {
    if (!h.contains(field)) throw RuntimeError(path + ": header field " + field + ": missing");
    if (h.at(field) != expected.at(field))
      throw UsageError(path + ": " + field + ": the cache was built for " + h.at(field).dump() + ", this run has " +
                       expected.at(field).dump() + "; rebuild it with cocomix-sae label --config FILE");
  }
  cache.windows_ = json_field<int64_t>(h, "windows", path);
  cache.seq_len_ = json_field<int64_t>(h, "seq_len", path);
  cache.k_attr_ = json_field<int64_t>(h, "k_attr", path);
  cache.n_concepts_ = json_field<int64_t>(h, "n_concepts", path);
  cache.id_bytes_ = id_bytes_of(h, path);
  const int64_t expected_size = cache.data_offset_ + cache.windows_ * cache.seq_len_ * cache.k_attr_ * cache.id_bytes_;
  const int64_t size = file_size(cache.fd_, path);
  if (size != expected_size)
    throw RuntimeError(path + ": " + std::to_string(size) + " bytes, the header's layout needs " +
                       std::to_string(expected_size) + " (truncated or damaged; rebuild it)");
  return cache;
}

LabelCache LabelCache::open_for(const Config& config) {
  const auto& path = config.concepts.label_cache;
  if (config.data.sampling != "fixed")
    throw UsageError(path + ": data.sampling: a label cache covers the fixed windows 0, T, 2T, ...; set data.sampling "
                     "to \"fixed\" (it is \"" + config.data.sampling + "\")");
  return open(path, label_cache_header(config));
}

LabelCache::LabelCache(LabelCache&& other) noexcept { *this = std::move(other); }

LabelCache& LabelCache::operator=(LabelCache&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    header_ = std::move(other.header_);
    fd_ = std::exchange(other.fd_, -1);
    data_offset_ = other.data_offset_;
    windows_ = other.windows_;
    seq_len_ = other.seq_len_;
    k_attr_ = other.k_attr_;
    id_bytes_ = other.id_bytes_;
    n_concepts_ = other.n_concepts_;
  }
  return *this;
}

LabelCache::~LabelCache() {
  if (fd_ >= 0) ::close(fd_);
}

torch::Tensor LabelCache::labels(const std::vector<int64_t>& starts) const {
  const int64_t B = static_cast<int64_t>(starts.size()), values = seq_len_ * k_attr_;
  std::vector<char> stored(static_cast<size_t>(B * values * id_bytes_));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t start = starts[static_cast<size_t>(b)];
    if (start < 0 || start % seq_len_ != 0 || start / seq_len_ >= windows_)
      throw RuntimeError(path_ + ": no labels for the window at token " + std::to_string(start) + " (the cache holds " +
                         std::to_string(windows_) + " windows at multiples of " + std::to_string(seq_len_) + ")");
    read_exactly(fd_, path_, stored.data() + b * values * id_bytes_,
                 static_cast<size_t>(values * id_bytes_), data_offset_ + start / seq_len_ * values * id_bytes_);
  }
  auto labels = torch::empty({B, values}, torch::kInt64);  // widened from the stored uint16 / int32
  int64_t* out = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < B * values; ++i) {
    if (id_bytes_ == 2) {
      uint16_t id;
      std::memcpy(&id, stored.data() + 2 * i, 2);
      out[i] = id;
    } else {
      int32_t id;
      std::memcpy(&id, stored.data() + 4 * i, 4);
      out[i] = id;
    }
  }
  if (B > 0 && (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= n_concepts_))
    throw RuntimeError(path_ + ": a label outside [0, n_concepts = " + std::to_string(n_concepts_) + ") (damaged file)");
  return labels.view({B, seq_len_, k_attr_});
}

}  // namespace cocomix
