// Checkpoint directories: write to a hidden temporary directory, fsync, rename,
// mark COMPLETE (with each file's SHA-256) last, prune old ones and what killed
// saves left; find the newest complete one; verify and load one with errors that
// name the offending file.
// Layout in checkpoint.h.
#include "cocomix/io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kOptimizerFile = "optimizer.safetensors";
constexpr const char* kTrainerStateFile = "trainer_state.json";
constexpr const char* kConfigFile = "config.json";
constexpr const char* kCompleteFile = "COMPLETE";
constexpr const char* kStepPrefix = "step_";
constexpr const char* kFiles[] = {kModelFile, kOptimizerFile, kTrainerStateFile, kConfigFile};

std::string step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "%s%08lld", kStepPrefix, static_cast<long long>(step));
  return name;
}

/// The step of a directory named step_DDDDDDDD (8 or more digits), else -1.
int64_t parse_step_name(const std::string& name) {
  const std::string prefix = kStepPrefix;
  if (name.size() < prefix.size() + 8 || name.size() > prefix.size() + 18 || name.compare(0, prefix.size(), prefix))
    return -1;
  const std::string digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  return std::stoll(digits);
}

bool is_complete(const fs::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / kCompleteFile, error);
}

/// Complete checkpoints under `root` as (step, path), any order; none if `root` is absent.
std::vector<std::pair<int64_t, fs::path>> complete_checkpoints(const fs::path& root) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    const int64_t step = parse_step_name(it->path().filename().string());
    if (step >= 0 && it->is_directory(error) && is_complete(it->path())) found.emplace_back(step, it->path());
  }
  return found;
}

void remove_tree(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
  if (error) throw RuntimeError(path.string() + ": cannot remove: " + error.message());
}

void rename_path(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (error) throw RuntimeError(from.string() + ": cannot rename to " + to.string() + ": " + error.message());
}

/// Deletes a checkpoint directory, un-marking it first so a crash part-way
/// never leaves a half-deleted directory that looks complete.
void delete_checkpoint(const fs::path& dir) {
  std::error_code error;
  fs::remove(dir / kCompleteFile, error);
  if (error) throw RuntimeError((dir / kCompleteFile).string() + ": cannot remove: " + error.message());
  fsync_directory(dir.string());
  remove_tree(dir);
}

/// Writes every file of `contents` into `dir` (which exists), each fsynced;
/// returns COMPLETE's text, which records each file's SHA-256 (read back from the
/// page cache just written).
std::string write_files(const fs::path& dir, int64_t step, const CheckpointContents& contents) {
  for (const auto& [file, tensors] :
       {std::make_pair(kModelFile, &contents.model), std::make_pair(kOptimizerFile, &contents.optimizer)}) {
    const std::string path = (dir / file).string();
    save_safetensors(path, *tensors);
    fsync_file(path);
  }
  write_file_atomically((dir / kTrainerStateFile).string(), contents.trainer_state.dump(2) + "\n");
  write_file_atomically((dir / kConfigFile).string(), contents.config.dump(2) + "\n");
  fsync_directory(dir.string());
  json digests = json::object();
  for (const char* file : kFiles) digests[file] = sha256_file_hex((dir / file).string());
  return json{{"step", step}, {"sha256", digests}}.dump(2) + "\n";
}

/// The digests COMPLETE records by file name; empty for the older "step N" form.
std::map<std::string, std::string> recorded_digests(const fs::path& dir) {
  const std::string path = (dir / kCompleteFile).string();
  if (!is_complete(dir))
    throw RuntimeError(path + ": missing: the checkpoint is incomplete (its save was interrupted); use an earlier one");
  const std::string text = read_whole_file(path);
  if (text.rfind("step ", 0) == 0) return {};
  std::map<std::string, std::string> digests;
  try {
    const json complete = json::parse(text);  // named: a range-for over a temporary's member dangles
    for (const auto& [file, digest] : complete.at("sha256").items()) digests[file] = digest.get<std::string>();
  } catch (const json::exception& error) {
    throw RuntimeError(path + ": unreadable (" + error.what() + "): the checkpoint cannot be verified");
  }
  return digests;
}

/// Deletes the oldest complete checkpoints other than `keep` so that keep_last remain.
void prune(const fs::path& root, const fs::path& keep, int64_t keep_last) {
  auto others = complete_checkpoints(root);
  others.erase(std::remove_if(others.begin(), others.end(), [&](const auto& c) { return c.second == keep; }),
               others.end());
  std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  bool removed = false;
  for (size_t i = static_cast<size_t>(keep_last - 1); i < others.size(); ++i) {
    delete_checkpoint(others[i].second);
    removed = true;
  }
  if (removed) fsync_directory(root.string());
}

/// Deletes what interrupted saves and prunings left of steps up to `step`: step
/// directories without COMPLETE (a save killed before it was marked, a deletion
/// killed part-way) before it, and .step_*.tmp / .step_*.old directories. None
/// is ever loaded, and no later save of the run would replace them.
void remove_leftovers(const fs::path& root, int64_t step) {
  std::vector<fs::path> leftovers;
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::error_code kind_error;
    if (!it->is_directory(kind_error)) continue;
    const int64_t visible = parse_step_name(name);
    const bool hidden =
        name.size() > 5 && name[0] == '.' &&
        (name.compare(name.size() - 4, 4, ".tmp") == 0 || name.compare(name.size() - 4, 4, ".old") == 0);
    const int64_t hidden_step = hidden ? parse_step_name(name.substr(1, name.size() - 5)) : -1;
    if ((visible >= 0 && visible < step && !is_complete(it->path())) || (hidden_step >= 0 && hidden_step <= step))
      leftovers.push_back(it->path());
  }
  for (const auto& path : leftovers) remove_tree(path);
  if (!leftovers.empty()) fsync_directory(root.string());
}

}  // namespace

void tidy_checkpoints(const std::string& checkpoints_dir, const std::string& newest, int64_t keep_last) {
  const fs::path root(checkpoints_dir), keep = root / fs::path(newest).filename();
  prune(root, keep, keep_last);
  remove_leftovers(root, parse_step_name(keep.filename().string()));
}

std::string save_checkpoint(const std::string& checkpoints_dir, int64_t step, const CheckpointContents& contents,
                            int64_t keep_last) {
  if (step < 0) throw UsageError("save_checkpoint: step must be >= 0, got " + std::to_string(step));
  if (keep_last < 1) throw UsageError("save_checkpoint: keep_last must be >= 1, got " + std::to_string(keep_last));
  ensure_writable_directory(checkpoints_dir);
  const fs::path root(checkpoints_dir);
  const std::string name = step_name(step);
  const fs::path final_dir = root / name;
  const fs::path tmp_dir = root / ("." + name + ".tmp");
  const fs::path old_dir = root / ("." + name + ".old");

  remove_tree(tmp_dir);  // left by a crash during an earlier save of this step
  std::string complete;
  try {
    std::error_code error;
    fs::create_directory(tmp_dir, error);
    if (error) throw RuntimeError(tmp_dir.string() + ": cannot create: " + error.message());
    complete = write_files(tmp_dir, step, contents);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp_dir, ignored);
    throw;
  }

  // A checkpoint of the same step (complete or not) is moved aside, not deleted,
  // until the new one is complete.
  std::error_code error;
  if (fs::exists(final_dir, error)) {
    remove_tree(old_dir);
    rename_path(final_dir, old_dir);
  }
  try {
    rename_path(tmp_dir, final_dir);
  } catch (...) {
    std::error_code ignored;
    if (fs::exists(old_dir, ignored)) fs::rename(old_dir, final_dir, ignored);
    throw;
  }
  fsync_directory(root.string());
  write_file_atomically((final_dir / kCompleteFile).string(), complete);

  if (fs::exists(old_dir, error)) {
    remove_tree(old_dir);
    fsync_directory(root.string());
  }
  tidy_checkpoints(checkpoints_dir, final_dir.string(), keep_last);
  return final_dir.string();
}

std::optional<std::string> latest_checkpoint(const std::string& checkpoints_dir) {
  const auto found = complete_checkpoints(fs::path(checkpoints_dir));
  if (found.empty()) return std::nullopt;
  return std::max_element(found.begin(), found.end())->second.string();
}

std::string resolve_checkpoint_dir(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) throw RuntimeError(path + ": not a directory (expected a checkpoint or run directory)");
  if (fs::exists(fs::path(path) / "COMPLETE") || fs::exists(fs::path(path) / "trainer_state.json")) return path;
  auto latest = latest_checkpoint((fs::path(path) / "checkpoints").string());
  if (!latest) latest = latest_checkpoint(path);
  if (!latest) throw RuntimeError(path + ": holds no complete checkpoint");
  return *latest;
}

std::optional<ResumePoint> checkpoint_to_resume(const std::string& out_dir, bool resume, const std::string& out_flag) {
  const std::string checkpoints_dir = (std::filesystem::path(out_dir) / "checkpoints").string();
  auto found = complete_checkpoints(fs::path(checkpoints_dir));
  // Newest first.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (!resume && !found.empty())
    throw UsageError(out_dir + ": already holds checkpoints (" + found.front().second.string() +
                     "); pass --resume to continue it or choose another " + out_flag);
  if (!resume) return std::nullopt;
  if (found.empty())
    throw UsageError(checkpoints_dir + ": --resume given but there is no complete checkpoint to resume from");
  for (const auto& [step, dir] : found) {
    try {
      return ResumePoint{dir.string(), load_checkpoint(dir.string())};
    } catch (const RuntimeError& error) {
      log_warn(std::string(error.what()) + "; resuming from the checkpoint before it");
    }
  }
  throw UsageError(checkpoints_dir + ": --resume given but every complete checkpoint is corrupt (warnings above)");
}

CheckpointContents load_checkpoint(const std::string& dir, bool with_optimizer) {
  const fs::path root(dir);
  std::error_code error;
  if (!fs::is_directory(root, error)) throw RuntimeError(dir + ": not a checkpoint directory (missing)");
  const auto digests = recorded_digests(root);
  if (digests.empty())
    log_warn(dir + ": written without file digests (an older checkpoint): loaded without verifying it");
  for (const char* file : kFiles) {
    if (!with_optimizer && std::string(file) == kOptimizerFile) continue;
    const std::string path = (root / file).string();
    if (!fs::exists(path, error)) throw RuntimeError(path + ": missing from the checkpoint");
    if (!digests.empty() && digests.count(file) == 0)
      throw RuntimeError((root / kCompleteFile).string() + ": records no sha256 of " + file);
  }
  // Each file is read once: its digest is checked on the bytes that are then parsed.
  const auto read_verified = [&](const char* file) {
    const std::string path = (root / file).string();
    std::string bytes = read_whole_file(path);
    if (!digests.empty()) {
      const std::string actual = sha256_hex(bytes), &recorded = digests.at(file);
      if (actual != recorded)
        throw RuntimeError(path + ": corrupt: its sha256 is " + actual + ", the save recorded " + recorded);
    }
    return bytes;
  };
  const auto parse_json = [&](const char* file) {
    const std::string path = (root / file).string();
    try {
      return json::parse(read_verified(file));
    } catch (const json::exception& e) {
      throw RuntimeError(path + ": not valid JSON (" + e.what() + ")");
    }
  };
  CheckpointContents contents;
  // The small JSON files first, so that a damaged one is found before gigabytes of tensors are read.
  contents.trainer_state = parse_json(kTrainerStateFile);
  contents.config = parse_json(kConfigFile);
  contents.model = tensors_from_safetensors(read_verified(kModelFile), (root / kModelFile).string());
  if (with_optimizer)
    contents.optimizer = tensors_from_safetensors(read_verified(kOptimizerFile), (root / kOptimizerFile).string());
  return contents;
}

}  // namespace cocomix
