// Crash-safe training checkpoints: one directory per step, written under a
// temporary name, fsynced, renamed, and marked complete last; resume takes the
// newest complete one. On-disk layout (CHECKPOINTS_DIR is usually OUT/checkpoints):
//
//   CHECKPOINTS_DIR/step_00001234/       step formatted %08d
//     model.safetensors                  model parameters and buffers by name
//     optimizer.safetensors              optimizer state (see train/optimizer.h)
//     trainer_state.json                 step, tokens seen, sampler cursor, RNG states, ...
//     config.json                        the resolved run config
//     COMPLETE                           written and fsynced last: the checkpoint is whole;
//                                        {"step": N, "sha256": {FILE: hex digest}} of the four files
//   CHECKPOINTS_DIR/.step_00001234.tmp/  a save in progress (or interrupted): ignored
//   CHECKPOINTS_DIR/.step_00001234.old/  a same-step checkpoint being replaced: ignored
//
// What a killed save leaves (the hidden directories, a step directory without
// COMPLETE, one complete checkpoint too many) goes with the next save or resume
// (tidy_checkpoints).
//
// A directory without COMPLETE is never loaded nor counted as the latest. Every
// load checks each file it reads against the digest COMPLETE recorded, so a
// flipped or truncated byte is one error naming the file. A COMPLETE of the
// older form "step N" (no digests) loads unverified, with one warning.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cocomix/io/safetensors.h"

namespace cocomix {

/// Everything one checkpoint holds. The library does not interpret the JSON parts.
struct CheckpointContents {
  TensorMap model;               ///< model.safetensors
  TensorMap optimizer;           ///< optimizer.safetensors
  nlohmann::json trainer_state;  ///< trainer_state.json
  nlohmann::json config;         ///< config.json
};

/// Writes CHECKPOINTS_DIR/step_%08d (creating CHECKPOINTS_DIR if needed) and
/// returns its path. Files go to .step_%08d.tmp (removed first if a crash left
/// it), each fsynced; the directory is renamed to its final name, the parent
/// fsynced, and COMPLETE written and fsynced last. A complete checkpoint of the
/// same step is replaced (moved aside, then deleted once the new one is
/// complete). Then tidy_checkpoints prunes the others. Throws UsageError when
/// step < 0 or keep_last < 1, RuntimeError on any I/O failure (the temporary
/// directory is removed and earlier checkpoints are untouched).
std::string save_checkpoint(const std::string& checkpoints_dir, int64_t step, const CheckpointContents& contents,
                            int64_t keep_last);

/// Prunes the complete checkpoints under CHECKPOINTS_DIR other than `newest` (a
/// step directory there) to the newest keep_last - 1, so keep_last remain, and
/// deletes what interrupted saves and prunings left of the steps up to newest's:
/// step directories without COMPLETE before it and .step_*.tmp / .step_*.old
/// directories. save_checkpoint ends with it; a resumed run calls it on the
/// checkpoint it resumes from, so that a run killed during its last save (after
/// COMPLETE) ends with the directories of one that was not. Throws RuntimeError
/// when a directory cannot be removed.
void tidy_checkpoints(const std::string& checkpoints_dir, const std::string& newest, int64_t keep_last);

/// Path of the complete checkpoint with the highest step under
/// `checkpoints_dir`, or nullopt when there is none (or no such directory).
std::optional<std::string> latest_checkpoint(const std::string& checkpoints_dir);

/// The checkpoint a user's path names: `path` itself when it is a step
/// directory (holds COMPLETE or trainer_state.json), else the newest complete
/// checkpoint under PATH/checkpoints or PATH (a run directory). Throws
/// RuntimeError naming `path` when it is not a directory or holds none.
std::string resolve_checkpoint_dir(const std::string& path);

/// A checkpoint chosen to resume from, and what it holds.
struct ResumePoint {
  std::string dir;
  CheckpointContents contents;
};

/// The start-up rule of every resumable run writing into OUT_DIR/checkpoints:
/// with `resume`, the newest complete checkpoint that loads (load_checkpoint: a
/// corrupt newer one is skipped with a warning naming the file; UsageError when
/// every one is corrupt or there is none); without, nullopt (UsageError when
/// checkpoints exist: never overwrite a run). `out_flag` names the app's output
/// flag in the message ("--out", "-o").
std::optional<ResumePoint> checkpoint_to_resume(const std::string& out_dir, bool resume, const std::string& out_flag);

/// Reads the checkpoint directory `dir` (tensors on the CPU), each file once,
/// checking it against the SHA-256 its COMPLETE recorded before parsing it. A
/// COMPLETE of the older form (no digests) loads unverified with one warning.
/// Throws RuntimeError naming the file when COMPLETE is absent or unreadable or
/// records no digest of a file, a file is missing, its digest differs
/// ("DIR/FILE: corrupt: its sha256 is ..., the save recorded ..."), a JSON file
/// is invalid or a safetensors file malformed. Without `with_optimizer`
/// (evaluation) optimizer.safetensors is neither needed nor read.
CheckpointContents load_checkpoint(const std::string& dir, bool with_optimizer = true);

}  // namespace cocomix
