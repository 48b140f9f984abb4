// Small POSIX file-system helpers for crash-safe writes: fsync of files and
// directories, write-to-temporary-then-rename, and an early check that an output
// directory can be created and written. No LibTorch here.
#pragma once

#include <cstddef>
#include <string>

namespace cocomix {

/// Throws RuntimeError "PATH: WHAT: strerror(error)" (error is an errno value).
[[noreturn]] void throw_errno(const std::string& path, const std::string& what, int error);

/// The whole contents of the file at `path`. Throws RuntimeError
/// "PATH: cannot open for reading: REASON" or "PATH: read failed: REASON".
std::string read_whole_file(const std::string& path);

/// Writes all `bytes` bytes at `data` to the open descriptor `fd`, retrying
/// short writes and EINTR. Throws RuntimeError "PATH: write failed: REASON".
void write_all_bytes(int fd, const std::string& path, const void* data, size_t bytes);

/// Flushes the contents of the file at `path` to stable storage.
/// Throws RuntimeError "PATH: cannot fsync: REASON" on failure.
void fsync_file(const std::string& path);

/// Flushes the directory entries of `path` (creations, renames, deletions) to
/// stable storage. File systems that cannot fsync a directory (EINVAL) are
/// accepted silently; any other failure throws RuntimeError.
void fsync_directory(const std::string& path);

/// fsync_directory of the directory holding `path` ("." for a bare file name):
/// makes a rename or creation of `path` durable.
void fsync_parent_directory(const std::string& path);

/// Replaces `path` with `contents` so that a crash leaves either the old or the
/// new file, never a mix: writes PATH.tmp, fsyncs it, renames it over `path`,
/// then fsyncs the parent directory. Throws RuntimeError naming the file.
void write_file_atomically(const std::string& path, const std::string& contents);

/// Creates `dir` (and its parents) if needed and checks it is a writable
/// directory. Throws RuntimeError "DIR: cannot create: REASON" or
/// "DIR: is not writable: REASON".
void ensure_writable_directory(const std::string& dir);

}  // namespace cocomix
