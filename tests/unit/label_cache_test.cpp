// The label-cache file (concept/label_cache.h) through its writer and reader:
// ids round-trip in both id types at the windows' offsets, a PATH.partial of
// the same header resumes at its last whole window that was synced (another
// header starts over), nothing is named PATH before finish(), every header field mismatch is
// refused naming the file and the field, and a run with a cache builds its
// objective without loading the teacher or the SAE.
#include "cocomix/concept/label_cache.h"
#include "cocomix/concept/label_cache_writer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "cocomix/objective/make_objective.h"
#include "cocomix/objective/objective.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

/// A header as label_cache_header writes it, for T = 3, K = 2 and a corpus of
/// shards of `shard_tokens` tokens (default: one shard of `windows` windows).
json header_for(int64_t windows, int64_t n_concepts, std::vector<int64_t> shard_tokens = {}) {
  if (shard_tokens.empty()) shard_tokens = {3 * windows + 1};
  json shards = json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < shard_tokens.size(); ++i) {
    shards.push_back({{"file", "train_" + std::to_string(i) + ".bin"}, {"tokens", shard_tokens[i]}, {"sha256", "aa"}});
    tokens += shard_tokens[i];
  }
  return {{"format_version", kLabelCacheVersion}, {"data", "train"},    {"shards", shards},
          {"num_tokens", tokens},                 {"seq_len", 3},       {"window_stride", 3},
          {"windows", windows},                   {"k_attr", 2},        {"selection", "attribution"},
          {"teacher_precision", "fp32"},          {"teacher_sha256", "bb"}, {"sae_sha256", "cc"},
          {"sae_k", 8},                           {"teacher_layer", 1}, {"n_concepts", n_concepts},
          {"id_type", n_concepts <= 65536 ? "uint16" : "int32"}};
}

std::string open_error(const std::string& path, const json& expected) {
  try {
    LabelCache::open(path, expected);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(LabelCache, RoundTripsIdsOfBothTypesAtTheirWindows) {
  testing::TempDir dir;
  for (const int64_t C : {int64_t{65536}, int64_t{100000}}) {
    const std::string path = dir.path() + "/labels_" + std::to_string(C);
    const auto header = header_for(5, C);
    const auto labels = torch::randint(0, C, {5, 3, 2}, torch::kInt64);  // [windows, T, K]
    {
      LabelCacheWriter writer(path, header);
      writer.append(labels.narrow(0, 0, 2));
      EXPECT_FALSE(fs::exists(path));  // only PATH.partial until finish()
      writer.append(labels.narrow(0, 2, 3));
      writer.finish();
    }
    EXPECT_TRUE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".partial"));
    const auto cache = LabelCache::open(path, header);
    const auto read = cache.labels({12, 0, 6});  // windows 4, 0, 2
    EXPECT_TRUE(torch::equal(read, torch::stack({labels[4], labels[0], labels[2]})));
    EXPECT_THROW(cache.labels({1}), RuntimeError);   // not a window start
    EXPECT_THROW(cache.labels({15}), RuntimeError);  // beyond the last window
  }
}

TEST(LabelCache, NumbersTheWindowsShardAfterShard) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/labels";
  // Shards of 10 and 7 tokens, T = 3: windows at 0, 3, 6 (shard 0) and 10, 13 (shard 1, begins at 10).
  const auto header = header_for(5, 50, {10, 7});
  const auto labels = torch::randint(0, 50, {5, 3, 2}, torch::kInt64);
  {
    LabelCacheWriter writer(path, header);
    writer.append(labels);
    writer.finish();
  }
  const auto cache = LabelCache::open(path, header);
  EXPECT_TRUE(torch::equal(cache.labels({13, 0, 10, 6}), torch::stack({labels[4], labels[0], labels[3], labels[2]})));
  EXPECT_THROW(cache.labels({9}), RuntimeError);   // a multiple of T, but no window of shard 0 starts there
  EXPECT_THROW(cache.labels({12}), RuntimeError);  // shard 1's windows start at 10 + 3i
}

TEST(LabelCache, WriterResumesWholeWindowsOfTheSameHeaderOnly) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/labels";
  const auto header = header_for(4, 50);
  const auto labels = torch::randint(0, 50, {4, 3, 2}, torch::kInt64);
  {
    LabelCacheWriter writer(path, header);
    writer.append(labels.narrow(0, 0, 3));
    writer.sync();
  }  // interrupted: no finish()
  fs::resize_file(path + ".partial", fs::file_size(path + ".partial") - 5);  // window 2 incomplete
  {
    LabelCacheWriter writer(path, header);
    EXPECT_EQ(writer.windows_done(), 2);
    EXPECT_EQ(read_whole_file(path + ".partial.durable"), "2\n");  // no longer counts the lost window
    EXPECT_THROW(writer.finish(), RuntimeError);  // windows missing: nothing renamed
    EXPECT_FALSE(fs::exists(path));
    writer.append(labels.narrow(0, 2, 2));
    writer.finish();
  }
  EXPECT_TRUE(torch::equal(LabelCache::open(path, header).labels({0, 3, 6, 9}), labels));
  // A partial file of another header is started over.
  {
    LabelCacheWriter writer(path + "2", header_for(4, 50));
    writer.append(labels.narrow(0, 0, 1));
    writer.sync();
  }
  LabelCacheWriter other(path + "2", header_for(4, 60));
  EXPECT_EQ(other.windows_done(), 0);
  EXPECT_FALSE(fs::exists(path + "2.partial.durable"));
  EXPECT_THROW(other.append(torch::full({1, 3, 2}, 60, torch::kInt64)), RuntimeError);  // id >= n_concepts
}

TEST(LabelCache, WriterKeepsOnlyTheWindowsItSynced) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/labels";
  const auto header = header_for(5, 50);
  const auto labels = torch::randint(1, 50, {5, 3, 2}, torch::kInt64);
  {
    LabelCacheWriter writer(path, header);
    writer.append(labels.narrow(0, 0, 2));
    writer.sync();
    writer.append(labels.narrow(0, 2, 2));
  }
  // A power loss after the file's size reached the disk but before windows 2 and 3 did (12 bytes each).
  {
    std::fstream partial(path + ".partial", std::ios::in | std::ios::out | std::ios::binary);
    partial.seekp(-24, std::ios::end);
    partial.write(std::string(24, '\0').data(), 24);
  }
  {
    LabelCacheWriter writer(path, header);
    EXPECT_EQ(writer.windows_done(), 2);
    writer.append(labels.narrow(0, 2, 3));
    writer.finish();
  }
  EXPECT_FALSE(fs::exists(path + ".partial"));
  EXPECT_FALSE(fs::exists(path + ".partial.durable"));
  EXPECT_TRUE(torch::equal(LabelCache::open(path, header).labels({0, 3, 6, 9, 12}), labels));
  // Whole windows that were never synced are not kept.
  {
    LabelCacheWriter writer(path + "2", header);
    writer.append(labels.narrow(0, 0, 3));
  }
  EXPECT_EQ(LabelCacheWriter(path + "2", header).windows_done(), 0);
}

TEST(LabelCache, RefusesEveryMismatchedFieldNamingIt) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/labels";
  const auto header = header_for(2, 50);
  {
    LabelCacheWriter writer(path, header);
    writer.append(torch::zeros({2, 3, 2}, torch::kInt64));
    writer.finish();
  }
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
           {"seq_len", 4}, {"k_attr", 3},
           {"selection", "activation"}, {"teacher_precision", "bf16"}, {"teacher_sha256", "bc"},
           {"sae_sha256", "cd"}, {"sae_k", 16}, {"teacher_layer", 2}, {"n_concepts", 51}}) {
    json expected = header;
    expected[field] = value;
    EXPECT_EQ(open_error(path, expected).rfind(path + ": " + field + ": the cache was built for ", 0), 0u)
        << field << ": " << open_error(path, expected);
  }
  // A changed shard is named with what changed.
  json changed = header;
  changed["shards"][0]["sha256"] = "ab";
  EXPECT_EQ(open_error(path, changed), path + ": shards: shard 0 (\"train_0.bin\"): sha256 \"aa\" then, \"ab\" now; "
                                              "rebuild it with cocomix-sae label --config FILE");
  changed = header;
  changed["shards"].push_back({{"file", "train_1.bin"}, {"tokens", 4}, {"sha256", "cd"}});
  EXPECT_EQ(open_error(path, changed), path + ": shards: 1 shards then, 2 now (\"train_1.bin\" is new); "
                                              "rebuild it with cocomix-sae label --config FILE");
  json renamed = header;
  renamed["data"] = "elsewhere/train";  // where the data lies is not what it holds
  EXPECT_EQ(open_error(path, renamed), "");
  fs::resize_file(path, fs::file_size(path) - 1);
  EXPECT_NE(open_error(path, header).find("truncated or damaged"), std::string::npos);
}

/// Labels fixed in advance, as a cache returns them for a batch's windows.
class FixedLabels : public LabelSource {
 public:
  explicit FixedLabels(torch::Tensor labels) : labels_(std::move(labels)) {}
  torch::Tensor labels(const Batch&) override { return labels_; }
  void to(const torch::Device&) override {}
  ConceptLabeler* labeler() override { return nullptr; }

 private:
  torch::Tensor labels_;
};

TEST(LabelCache, ObjectiveOfACachedRunLoadsNoTeacher) {
  Config config;
  config.model.vocab_size = 64;
  config.model.n_positions = 8;
  config.model.n_embd = 16;
  config.model.n_layer = 2;
  config.model.n_head = 2;
  config.model.dropout = 0;  // compute() twice must give the same loss
  config.concepts.mode = Mode::kCocomix;
  config.concepts.teacher_path = "/nonexistent/teacher";  // loading either would throw
  config.concepts.sae_path = "/nonexistent/sae";
  config.concepts.n_concepts = 32;
  config.concepts.insert_layer = 1;
  config.concepts.k_pred = 4;
  config.concepts.label_cache = "/nonexistent/labels";
  // The cache is what fails, not the teacher or the SAE: they are never loaded.
  try {
    make_objective(config, /*with_teacher=*/true);
    ADD_FAILURE() << "a missing label cache was accepted";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()).find("/nonexistent/teacher"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("/nonexistent/sae"), std::string::npos) << e.what();
  }
  // The labels come from the label source.
  const auto labels = torch::randint(0, 32, {2, 8, 4}, torch::kInt64);
  Objective objective(CocomixModel(config.model, config.concepts), config.concepts,
                      std::make_unique<FixedLabels>(labels), GPT(nullptr));
  EXPECT_EQ(objective.labeler(), nullptr);
  Batch batch;
  batch.inputs = torch::randint(0, 64, {2, 8}, torch::kInt64);
  batch.targets = torch::randint(0, 64, {2, 8}, torch::kInt64);
  const auto from_source = objective.compute(batch);
  const auto direct = objective.loss_with_labels(batch, labels);
  EXPECT_EQ(from_source.loss.item<double>(), direct.loss.item<double>());
  Objective without_labels(CocomixModel(config.model, config.concepts), config.concepts, nullptr, GPT(nullptr));
  EXPECT_THROW(without_labels.compute(batch), UsageError);
  config.concepts.label_cache.clear();
  EXPECT_THROW(make_objective(config, /*with_teacher=*/true), std::exception);  // the online path loads them
}

}  // namespace
}  // namespace cocomix
