// POSIX implementations of the crash-safe file helpers in util/fs.h: raw
// open/write/fsync/rename, since iostreams cannot fsync.
#include "cocomix/util/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

/// Owns a file descriptor; closes it on scope exit (errors there are ignored:
/// callers that care close explicitly through release()).
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  /// Gives up ownership; the caller closes.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

void throw_errno(const std::string& path, const std::string& what, int error) {
  throw RuntimeError(path + ": " + what + ": " + std::strerror(error));
}

void fsync_parent_directory(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  fsync_directory(parent.empty() ? std::string(".") : parent.string());
}

std::string read_whole_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(path, "cannot open for reading", errno);
  // Read in place into a string of the file's size (checkpoints run to gigabytes: no
  // doubling growth, no second copy); it grows only if the file grew meanwhile.
  std::string contents;
  struct stat st {};
  // One byte more than the file, so the read that finds its end needs no growth.
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) contents.resize(static_cast<size_t>(st.st_size) + 1);
  size_t size = 0;
  for (;;) {
    if (size == contents.size()) contents.resize(std::max<size_t>(2 * contents.size(), size_t{1} << 16));
    const ssize_t got = ::read(fd.get(), contents.data() + size, contents.size() - size);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno(path, "read failed", errno);
    }
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  contents.resize(size);
  return contents;
}

void write_all_bytes(int fd, const std::string& path, const void* data, size_t bytes) {
  const char* next = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t written = ::write(fd, next, bytes);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw_errno(path, "write failed", errno);
    }
    next += written;
    bytes -= static_cast<size_t>(written);
  }
}

void fsync_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(path, "cannot open to fsync", errno);
  if (::fsync(fd.get()) != 0) throw_errno(path, "cannot fsync", errno);
}

void fsync_directory(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(path, "cannot open directory to fsync", errno);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_errno(path, "cannot fsync directory", errno);
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  try {
    FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw_errno(tmp, "cannot open for writing", errno);
    write_all_bytes(fd.get(), tmp, contents.data(), contents.size());
    if (::fsync(fd.get()) != 0) throw_errno(tmp, "cannot fsync", errno);
    if (::close(fd.release()) != 0) throw_errno(tmp, "close failed", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno(path, "cannot rename " + tmp + " into place", errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_parent_directory(path);
}

void ensure_writable_directory(const std::string& dir) {
  std::error_code error;
  if (std::filesystem::exists(dir, error) && !std::filesystem::is_directory(dir, error))
    throw RuntimeError(dir + ": cannot create: it exists and is not a directory");
  std::filesystem::create_directories(dir, error);
  if (error) throw RuntimeError(dir + ": cannot create: " + error.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0) throw_errno(dir, "is not writable", errno);
}

}  // namespace cocomix
