// Checkpoints and the crash-safe file helpers: round trip, pruning, same-step
// replacement, a save that fails part-way, incomplete directories and what
// killed saves leave, the file digests (a flipped byte in any file, older
// checkpoints without digests, resume past a corrupt newest checkpoint), and the
// error messages for missing/corrupt files and unwritable directories.
#include "cocomix/io/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

/// A fresh scratch directory per test, removed afterwards.
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cocomix_checkpoint_test_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string path(const std::string& name) const { return (root_ / name).string(); }
  std::string checkpoints() const { return path("checkpoints"); }

  /// Entries of the checkpoints directory, sorted, hidden ones included.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(checkpoints())) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
};

CheckpointContents contents_for(int64_t step) {
  CheckpointContents c;
  c.model["transformer.wte.weight"] = torch::arange(12, torch::kFloat32).reshape({3, 4}) * static_cast<double>(step);
  c.model["transformer.h.0.ln_1.bias"] = torch::full({4}, 0.5, torch::kBFloat16);
  c.optimizer["transformer.wte.weight.step"] = torch::scalar_tensor(step, torch::kInt64);
  c.trainer_state = {{"step", step}, {"tokens_seen", step * 1024}, {"rng", {1, 2, 3}}};
  c.config = {{"model", {{"n_layer", 2}}}, {"optim", {{"lr", 3e-4}}}};
  return c;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST_F(CheckpointTest, RoundTrip) {
  EXPECT_EQ(latest_checkpoint(checkpoints()), std::nullopt);  // directory does not exist yet
  const auto saved = contents_for(1234);
  const auto dir = save_checkpoint(checkpoints(), 1234, saved, 3);
  EXPECT_EQ(dir, (fs::path(checkpoints()) / "step_00001234").string());
  EXPECT_EQ(listing(), std::vector<std::string>{"step_00001234"});
  for (const char* file :
       {"model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json", "COMPLETE"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(dir) / file)) << file;
  EXPECT_EQ(latest_checkpoint(checkpoints()), dir);

  const auto loaded = load_checkpoint(dir);
  ASSERT_EQ(loaded.model.size(), 2u);
  for (const auto& [name, tensor] : saved.model) {
    EXPECT_EQ(loaded.model.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(loaded.model.at(name), tensor)) << name;
  }
  EXPECT_EQ(loaded.optimizer.at("transformer.wte.weight.step").item<int64_t>(), 1234);
  EXPECT_EQ(loaded.trainer_state, saved.trainer_state);
  EXPECT_EQ(loaded.config, saved.config);
}

TEST_F(CheckpointTest, KeepsTheNewestKeepLast) {
  for (int64_t step = 100; step <= 500; step += 100) save_checkpoint(checkpoints(), step, contents_for(step), 2);
  EXPECT_EQ(listing(), (std::vector<std::string>{"step_00000400", "step_00000500"}));
  EXPECT_EQ(latest_checkpoint(checkpoints()), (fs::path(checkpoints()) / "step_00000500").string());
  // A save of an older step (a rewound run) is never pruned itself.
  save_checkpoint(checkpoints(), 50, contents_for(50), 2);
  EXPECT_EQ(listing(), (std::vector<std::string>{"step_00000050", "step_00000500"}));
  save_checkpoint(checkpoints(), 600, contents_for(600), 1);
  EXPECT_EQ(listing(), std::vector<std::string>{"step_00000600"});
}

TEST_F(CheckpointTest, ReplacesTheSameStep) {
  save_checkpoint(checkpoints(), 7, contents_for(7), 3);
  auto again = contents_for(7);
  again.trainer_state["tokens_seen"] = 99;
  const auto dir = save_checkpoint(checkpoints(), 7, again, 3);
  EXPECT_EQ(listing(), std::vector<std::string>{"step_00000007"});
  EXPECT_EQ(load_checkpoint(dir).trainer_state["tokens_seen"], 99);
}

TEST_F(CheckpointTest, FailedSaveLeavesThePreviousCheckpoint) {
  const auto first = save_checkpoint(checkpoints(), 10, contents_for(10), 3);
  auto broken = contents_for(20);
  broken.optimizer["transformer.wte.weight.exp_avg"] = torch::zeros({3, 4}, torch::kComplexFloat);
  EXPECT_THROW(save_checkpoint(checkpoints(), 20, broken, 3), RuntimeError);
  EXPECT_EQ(listing(), std::vector<std::string>{"step_00000010"});
  EXPECT_EQ(latest_checkpoint(checkpoints()), first);
  EXPECT_EQ(load_checkpoint(first).trainer_state["step"], 10);

  // A failed replacement of the same step keeps the old one too.
  auto broken_same = contents_for(10);
  broken_same.model["x"] = torch::zeros({1}, torch::kComplexFloat);
  EXPECT_THROW(save_checkpoint(checkpoints(), 10, broken_same, 3), RuntimeError);
  EXPECT_EQ(listing(), std::vector<std::string>{"step_00000010"});
  EXPECT_EQ(load_checkpoint(first).model.size(), 2u);
}

TEST_F(CheckpointTest, IgnoresIncompleteDirectories) {
  const auto good = save_checkpoint(checkpoints(), 3, contents_for(3), 5);
  // A crash after the rename but before COMPLETE, and one during writing.
  const auto interrupted = save_checkpoint(checkpoints(), 9, contents_for(9), 5);
  fs::remove(fs::path(interrupted) / "COMPLETE");
  fs::create_directories(fs::path(checkpoints()) / ".step_00000012.tmp");
  fs::create_directories(fs::path(checkpoints()) / "step_00000011_backup");
  EXPECT_EQ(latest_checkpoint(checkpoints()), good);
  EXPECT_EQ(error_of([&] { load_checkpoint(interrupted); }),
            (fs::path(interrupted) / "COMPLETE").string() +
                ": missing: the checkpoint is incomplete (its save was interrupted); use an earlier one");
  // The next save clears its own leftover temporary directory.
  fs::create_directories(fs::path(checkpoints()) / ".step_00000012.tmp" / "junk");
  save_checkpoint(checkpoints(), 12, contents_for(12), 5);
  EXPECT_FALSE(fs::exists(fs::path(checkpoints()) / ".step_00000012.tmp"));
  EXPECT_FALSE(fs::exists(fs::path(checkpoints()) / "step_00000012" / "junk"));
}

TEST_F(CheckpointTest, TidyingRemovesWhatKilledSavesLeft) {
  save_checkpoint(checkpoints(), 100, contents_for(100), 3);
  save_checkpoint(checkpoints(), 200, contents_for(200), 3);
  const auto newest = save_checkpoint(checkpoints(), 300, contents_for(300), 3);
  // What kills leave: a pruning cut short (COMPLETE gone, some files left), a same-step
  // replacement cut short after COMPLETE (.old), a save cut short before its rename (.tmp),
  // a save renamed but not yet marked; and one complete checkpoint too many (killed before pruning).
  const fs::path root(checkpoints());
  fs::create_directories(root / "step_00000050");
  std::ofstream(root / "step_00000050" / "model.safetensors") << "half";
  fs::create_directories(root / ".step_00000300.old" / "x");
  fs::create_directories(root / ".step_00000250.tmp");
  fs::create_directories(root / "step_00000250");
  fs::create_directories(root / ".step_00000400.tmp");  // a later step: its own save replaces it
  fs::create_directories(root / "step_00000400");
  fs::create_directories(root / "step_00000011_backup");  // not ours
  tidy_checkpoints(checkpoints(), newest, 2);
  EXPECT_EQ(listing(), (std::vector<std::string>{".step_00000400.tmp", "step_00000011_backup", "step_00000200",
                                                 "step_00000300", "step_00000400"}));
  // A save tidies the same way.
  fs::create_directories(root / "step_00000350");
  save_checkpoint(checkpoints(), 400, contents_for(400), 2);
  EXPECT_EQ(listing(), (std::vector<std::string>{"step_00000011_backup", "step_00000300", "step_00000400"}));
}

TEST_F(CheckpointTest, MissingOrCorruptFilesAreNamed) {
  const auto dir = save_checkpoint(checkpoints(), 5, contents_for(5), 3);
  const fs::path d(dir);
  fs::remove(d / "config.json");
  EXPECT_EQ(error_of([&] { load_checkpoint(dir); }), (d / "config.json").string() + ": missing from the checkpoint");

  // Without digests (an older checkpoint) the file's own parser names what is wrong.
  const auto dir2 = save_checkpoint(checkpoints(), 6, contents_for(6), 3);
  std::ofstream(fs::path(dir2) / "COMPLETE") << "step 6\n";
  std::ofstream(fs::path(dir2) / "trainer_state.json") << "{\"step\": 6,";
  const auto bad_json = error_of([&] { load_checkpoint(dir2); });
  EXPECT_EQ(bad_json.rfind((fs::path(dir2) / "trainer_state.json").string() + ": not valid JSON (", 0), 0u) << bad_json;

  const auto dir3 = save_checkpoint(checkpoints(), 7, contents_for(7), 3);
  fs::resize_file(fs::path(dir3) / "model.safetensors", 20);
  const auto truncated = error_of([&] { load_checkpoint(dir3); });
  EXPECT_EQ(truncated.rfind((fs::path(dir3) / "model.safetensors").string() + ": ", 0), 0u) << truncated;

  EXPECT_EQ(error_of([&] { load_checkpoint(path("nowhere")); }),
            path("nowhere") + ": not a checkpoint directory (missing)");
}

/// Flips one bit of the byte at `offset` from the end of `path`.
void flip_byte(const fs::path& path, std::streamoff offset_from_end) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(-offset_from_end, std::ios::end);
  char byte = 0;
  file.read(&byte, 1);
  file.seekp(-offset_from_end, std::ios::end);
  byte = static_cast<char>(byte ^ 0x10);
  file.write(&byte, 1);
}

TEST_F(CheckpointTest, CompleteRecordsEachFilesDigest) {
  const fs::path dir = save_checkpoint(checkpoints(), 4, contents_for(4), 3);
  std::ifstream in(dir / "COMPLETE");
  const auto complete = json::parse(in);
  EXPECT_EQ(complete.at("step"), 4);
  ASSERT_EQ(complete.at("sha256").size(), 4u);
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json"})
    EXPECT_EQ(complete.at("sha256").at(file), sha256_file_hex((dir / file).string())) << file;
  const auto loaded = load_checkpoint(dir.string());
  EXPECT_TRUE(
      torch::equal(loaded.model.at("transformer.wte.weight"), contents_for(4).model.at("transformer.wte.weight")));
  EXPECT_EQ(loaded.trainer_state, contents_for(4).trainer_state);
}

TEST_F(CheckpointTest, AFlippedByteInAnyFileIsNamed) {
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json"}) {
    const fs::path dir = save_checkpoint(checkpoints(), 8, contents_for(8), 3);
    flip_byte(dir / file, 3);
    const std::string expected = (dir / file).string() + ": corrupt: its sha256 is ";
    const auto message = error_of([&] { load_checkpoint(dir.string()); });
    EXPECT_EQ(message.rfind(expected, 0), 0u) << message;
    EXPECT_NE(message.find(", the save recorded "), std::string::npos) << message;
    // Evaluation does not read the optimizer state, so its corruption does not stop it.
    if (std::string(file) == "optimizer.safetensors")
      EXPECT_NO_THROW(load_checkpoint(dir.string(), /*with_optimizer=*/false));
    else
      EXPECT_EQ(error_of([&] { load_checkpoint(dir.string(), false); }).rfind(expected, 0), 0u) << file;
  }
}

TEST_F(CheckpointTest, OlderCheckpointsWithoutDigestsLoadUnverified) {
  const fs::path dir = save_checkpoint(checkpoints(), 2, contents_for(2), 3);
  std::ofstream(dir / "COMPLETE") << "step 2\n";  // the form written before digests were recorded
  flip_byte(dir / "optimizer.safetensors", 1);    // unverified: loaded as it is
  const auto loaded = load_checkpoint(dir.string());
  EXPECT_TRUE(
      torch::equal(loaded.model.at("transformer.wte.weight"), contents_for(2).model.at("transformer.wte.weight")));
  std::ofstream(dir / "COMPLETE") << "{\"step\": 2, \"sha256\": 7}";
  EXPECT_EQ(error_of([&] { load_checkpoint(dir.string()); }).rfind((dir / "COMPLETE").string() + ": unreadable (", 0),
            0u);
}

TEST_F(CheckpointTest, ResumeSkipsACorruptNewestCheckpoint) {
  const auto oldest = save_checkpoint(checkpoints(), 10, contents_for(10), 5);
  const auto middle = save_checkpoint(checkpoints(), 20, contents_for(20), 5);
  const auto newest = save_checkpoint(checkpoints(), 30, contents_for(30), 5);
  EXPECT_EQ(checkpoint_to_resume(root_.string(), true, "--out")->dir, newest);
  flip_byte(fs::path(newest) / "model.safetensors", 1);
  EXPECT_EQ(checkpoint_to_resume(root_.string(), true, "--out")->dir, middle);
  fs::resize_file(fs::path(middle) / "optimizer.safetensors", 10);  // truncated by a full disk
  const auto resumed = checkpoint_to_resume(root_.string(), true, "--out");
  EXPECT_EQ(resumed->dir, oldest);
  EXPECT_EQ(resumed->contents.trainer_state, contents_for(10).trainer_state);
  flip_byte(fs::path(oldest) / "config.json", 2);
  try {
    checkpoint_to_resume(root_.string(), true, "--out");
    FAIL() << "resumed from a corrupt checkpoint";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()),
              checkpoints() + ": --resume given but every complete checkpoint is corrupt (warnings above)");
  }
}

TEST_F(CheckpointTest, UnwritableParentIsAnError) {
  // Tests may run as root, for whom permissions do not stop writes: a path
  // below a regular file cannot be created by anyone.
  std::ofstream(path("file")) << "x";
  const auto below_file = path("file") + "/checkpoints";
  EXPECT_EQ(error_of([&] { ensure_writable_directory(below_file); }).rfind(below_file + ": cannot create: ", 0), 0u);
  EXPECT_THROW(save_checkpoint(below_file, 1, contents_for(1), 3), RuntimeError);
  EXPECT_EQ(error_of([&] { ensure_writable_directory(path("file")); }),
            path("file") + ": cannot create: it exists and is not a directory");
  ensure_writable_directory(path("a/b/c"));
  EXPECT_TRUE(fs::is_directory(path("a/b/c")));
}

TEST_F(CheckpointTest, FileHelpers) {
  const auto file = path("state.json");
  write_file_atomically(file, "first");
  write_file_atomically(file, "second, longer");
  EXPECT_EQ(read_whole_file(file), "second, longer");
  EXPECT_EQ(error_of([&] { read_whole_file(path("absent")); }),
            path("absent") + ": cannot open for reading: No such file or directory");
  EXPECT_FALSE(fs::exists(file + ".tmp"));
  fsync_file(file);
  fsync_directory(root_.string());
  EXPECT_EQ(error_of([&] { fsync_file(path("absent")); }).rfind(path("absent") + ": cannot open to fsync: ", 0), 0u);
  EXPECT_THROW(write_file_atomically(path("no/such/dir/f"), "x"), RuntimeError);
}

}  // namespace
}  // namespace cocomix
