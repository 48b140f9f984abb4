// An LD_PRELOAD library for the fault-injection tests: makes writes to chosen
// files fail the way a full or failing disk does, inside the unmodified apps.
//
//   COCOMIX_FAULT_PATH   the writes to files whose path contains this fail (unset: the shim does nothing)
//   COCOMIX_FAULT_ERRNO  ENOSPC (default) or EIO
//   COCOMIX_FAULT_AFTER  bytes written to such files before the first failure (default 0)
//   COCOMIX_FAULT_AT     "write" (default): write, writev, fwrite and fflush fail once AFTER bytes have
//                        gone; "fsync": the writes succeed and fsync of such a file fails (EIO is how
//                        a disk's write error usually surfaces)
//
// It interposes write, writev, fwrite, fflush and fsync (the calls the apps make
// through the dynamic linker: std::ofstream reaches write/writev through
// libstdc++, a FILE* through fwrite/fflush), finds each descriptor's path in
// /proc/self/fd, and passes everything else through untouched.
#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Fault {
  const char* path = nullptr;  // substring; null = inactive
  int error = ENOSPC;
  long long after = 0;
  bool at_fsync = false;
  long long written = 0;  // bytes written so far to matching files
};

Fault& fault() {
  static Fault f = [] {
    Fault made;
    made.path = std::getenv("COCOMIX_FAULT_PATH");
    if (const char* e = std::getenv("COCOMIX_FAULT_ERRNO")) made.error = std::strcmp(e, "EIO") == 0 ? EIO : ENOSPC;
    if (const char* a = std::getenv("COCOMIX_FAULT_AFTER")) made.after = std::atoll(a);
    if (const char* at = std::getenv("COCOMIX_FAULT_AT")) made.at_fsync = std::strcmp(at, "fsync") == 0;
    return made;
  }();
  return f;
}

bool matches(int fd) {
  const Fault& f = fault();
  if (f.path == nullptr || fd < 0) return false;
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  return std::strstr(target, f.path) != nullptr;
}

/// How many of `bytes` may still be written to a matching file before the fault; sets errno when none.
long long allowance(size_t bytes) {
  Fault& f = fault();
  const long long left = f.after - f.written;
  if (left <= 0) {
    errno = f.error;
    return -1;
  }
  return static_cast<long long>(bytes) < left ? static_cast<long long>(bytes) : left;
}

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* data, size_t bytes) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (fault().at_fsync || !matches(fd)) return real(fd, data, bytes);
  const long long allowed = allowance(bytes);
  if (allowed < 0) return -1;
  const ssize_t done = real(fd, data, static_cast<size_t>(allowed));  // a short write, as a filling disk gives
  if (done > 0) fault().written += done;
  return done;
}

ssize_t writev(int fd, const struct iovec* vectors, int count) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (fault().at_fsync || !matches(fd)) return real(fd, vectors, count);
  // Written piece by piece through write() so the same allowance applies.
  ssize_t total = 0;
  for (int i = 0; i < count; ++i) {
    const ssize_t done = write(fd, vectors[i].iov_base, vectors[i].iov_len);
    if (done < 0) return total > 0 ? total : -1;
    total += done;
    if (static_cast<size_t>(done) < vectors[i].iov_len) break;
  }
  return total;
}

size_t fwrite(const void* data, size_t size, size_t count, FILE* stream) {
  static const auto real = next<size_t (*)(const void*, size_t, size_t, FILE*)>("fwrite");
  if (fault().at_fsync || size == 0 || !matches(::fileno(stream))) return real(data, size, count, stream);
  const long long allowed = allowance(size * count);
  if (allowed < 0) return 0;
  const size_t items = real(data, size, static_cast<size_t>(allowed) / size, stream);
  fault().written += static_cast<long long>(items * size);
  if (items < count) errno = fault().error;
  return items;
}

int fflush(FILE* stream) {
  static const auto real = next<int (*)(FILE*)>("fflush");
  if (stream != nullptr && !fault().at_fsync && matches(::fileno(stream)) && fault().written >= fault().after) {
    errno = fault().error;
    return EOF;
  }
  return real(stream);
}

int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  if (fault().at_fsync && matches(fd)) {
    errno = fault().error;
    return -1;
  }
  return real(fd);
}

}  // extern "C"
