// TrainingData: every window of a mixture comes from the source the documented
// counter-based draw names (recomputed here from splitmix64 / stream_seed), the
// realised shares converge to the weights, each source keeps its own sampler and
// epochs, a single corpus is the one-source case, and the state resumes exactly
// and refuses data that changed.
#include "cocomix/data/training_data.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/random.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kSeqLen = 8;

/// A token file of `tokens` ids cycling through [first, first + 50): a window's
/// ids tell which source it came from.
std::string token_file(const fs::path& dir, const std::string& name, int64_t tokens, uint32_t first) {
  std::vector<uint32_t> ids(static_cast<size_t>(tokens));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = first + static_cast<uint32_t>(i % 50);
  const std::string path = (dir / name).string();
  write_token_file(path, ids);
  return path;
}

Config mixture(const std::vector<TrainSource>& sources, uint64_t seed = 11) {
  Config config;
  config.source = "mix.json";
  config.data.train_sources = sources;
  config.data.seq_len = kSeqLen;
  config.train.seed = seed;
  return config;
}

/// Which source (by its id range of 50) a batch row came from.
std::vector<int64_t> row_sources(const Batch& batch) {
  std::vector<int64_t> out;
  for (int64_t b = 0; b < batch.inputs.size(0); ++b) out.push_back(batch.inputs[b][0].item<int64_t>() / 50);
  return out;
}

/// The documented choice of window c on rank r: the first source i with u < (w_0 + ... + w_i) / sum.
int64_t expected_source(const std::vector<double>& weights, uint64_t seed, int rank, int64_t window) {
  const uint64_t key = stream_seed(stream_seed(seed, uint64_t{1} << 32), static_cast<uint64_t>(rank));
  const double u = static_cast<double>(splitmix64(key + static_cast<uint64_t>(window)) >> 11) / 9007199254740992.0;
  double total = 0, sum = 0;
  for (const double w : weights) total += w;
  for (size_t i = 0; i < weights.size(); ++i) {
    sum += weights[i];
    if (u < sum / total) return static_cast<int64_t>(i);
  }
  return static_cast<int64_t>(weights.size()) - 1;
}

TEST(TrainingData, EachWindowComesFromTheDocumentedSourceAndSharesConvergeToTheWeights) {
  testing::TempDir tmp;
  const std::vector<double> weights = {5, 3, 2};
  const auto config = mixture({{token_file(tmp.path(), "a.bin", 4000, 0), weights[0], "a"},
                               {token_file(tmp.path(), "b.bin", 900, 50), weights[1], "b"},
                               {token_file(tmp.path(), "c.bin", 90, 100), weights[2], "c"}});
  for (const int rank : {0, 1}) {
    TrainingData data(config, rank, 2);
    std::vector<int64_t> counts(3, 0);
    const int64_t draws = 10000, batch = 100;
    for (int64_t step = 0; step < draws / batch; ++step) {
      const auto sources = row_sources(data.next_batch(batch, 150));
      for (int64_t b = 0; b < batch; ++b) {
        ASSERT_EQ(sources[static_cast<size_t>(b)], expected_source(weights, 11, rank, step * batch + b))
            << "rank " << rank << " window " << step * batch + b;
        ++counts[static_cast<size_t>(sources[static_cast<size_t>(b)])];
      }
    }
    EXPECT_EQ(data.windows(), draws);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(data.sources()[i].drawn, counts[i]);
      // Within 4 binomial standard deviations of the weight's share (p = 0.5, 0.3, 0.2 over 10,000 draws).
      const double p = weights[i] / 10.0, tolerance = 4 * std::sqrt(p * (1 - p) / draws);
      EXPECT_NEAR(static_cast<double>(counts[i]) / draws, p, tolerance) << "source " << i << " rank " << rank;
    }
    // Each source runs its own epochs: the 90-token source (11 windows, 5 per rank) has
    // gone round far more often than the 4000-token one (499 windows, 249 per rank).
    EXPECT_GT(data.sources()[2].sampler.epoch(), 100);
    EXPECT_LT(data.sources()[0].sampler.epoch(), 25);
  }
}

TEST(TrainingData, OneCorpusIsTheOneSourceCase) {
  testing::TempDir tmp;
  Config config;
  config.data.train_path = token_file(tmp.path(), "train.bin", 1000, 0);
  config.data.seq_len = kSeqLen;
  config.train.seed = 5;
  TrainingData data(config, 1, 2);
  ASSERT_EQ(data.sources().size(), 1u);
  EXPECT_EQ(data.sources()[0].name, "train.bin");
  // The windows are those of a sampler seeded stream_seed(seed, 0), read from the file.
  WindowSampler sampler(std::vector<int64_t>{1000}, kSeqLen, WindowOrder::kRandom, stream_seed(5, 0), 1, 2);
  for (int step = 0; step < 30; ++step) {
    const auto batch = data.next_batch(4, 50);
    const auto starts = sampler.next(4);
    EXPECT_EQ(batch.starts, starts);
    for (size_t b = 0; b < starts.size(); ++b)
      EXPECT_EQ(batch.inputs[static_cast<int64_t>(b)][0].item<int64_t>(), starts[b] % 50);
  }
}

TEST(TrainingData, ResumesExactlyAndRefusesDataThatChanged) {
  testing::TempDir tmp;
  const fs::path dir = fs::path(tmp.path()) / "shards";
  fs::create_directories(dir);
  token_file(dir, "part_0.bin", 300, 0);
  token_file(dir, "part_1.bin", 200, 0);
  const auto config = mixture({{(dir / "part_*.bin").string(), 1, "web"},
                               {token_file(tmp.path(), "books.bin", 500, 50), 2, "books"}});
  TrainingData original(config, 0, 1);
  for (int i = 0; i < 37; ++i) original.next_batch(3, 100);
  const json saved = json::parse(original.state().dump());  // through text, as in a checkpoint
  TrainingData resumed(config, 0, 1);
  resumed.restore(saved, "ckpt/trainer_state.json");
  EXPECT_EQ(resumed.windows(), original.windows());
  for (int i = 0; i < 50; ++i) {
    const auto a = original.next_batch(3, 100), b = resumed.next_batch(3, 100);
    ASSERT_TRUE(torch::equal(a.inputs, b.inputs)) << "batch " << i;
    ASSERT_EQ(a.starts, b.starts);
  }

  const auto restore_error = [&](const Config& changed) {
    try {
      TrainingData data(changed, 0, 1);
      data.restore(saved, "ckpt/trainer_state.json");
    } catch (const RuntimeError& e) {
      return std::string(e.what());
    }
    return std::string("restored");
  };
  // A shard added to the glob.
  token_file(dir, "part_2.bin", 100, 0);
  EXPECT_EQ(restore_error(config),
            "ckpt/trainer_state.json: data state: source \"web\" (" + (dir / "part_*.bin").string() +
                ") changed since the checkpoint: 2 shards then, 3 now (\"part_2.bin\" is new)");
  fs::remove(dir / "part_2.bin");
  // A shard rewritten with another size.
  token_file(dir, "part_1.bin", 250, 0);
  EXPECT_EQ(restore_error(config),
            "ckpt/trainer_state.json: data state: source \"web\" (" + (dir / "part_*.bin").string() +
                ") changed since the checkpoint: shard 1 (\"part_1.bin\"): tokens 200 then, 250 now");
  token_file(dir, "part_1.bin", 200, 0);
  EXPECT_EQ(restore_error(config), "restored");
  // Other sources.
  auto renamed = config;
  renamed.data.train_sources[1].name = "novels";
  EXPECT_EQ(restore_error(renamed),
            "ckpt/trainer_state.json: data state: the run was trained on sources [web, books], this config has [web, "
            "novels]; resume with the same data.train_path / data.train_sources");
  // A state with a source that is not an object, or one source whose name joins like two.
  const auto restore_state_error = [&](const json& state) {
    try {
      TrainingData data(config, 0, 1);
      data.restore(state, "ckpt/trainer_state.json");
    } catch (const RuntimeError& e) {
      return std::string(e.what());
    }
    return std::string("restored");
  };
  json not_object = saved;
  not_object["sources"][1] = 7;
  EXPECT_EQ(restore_state_error(not_object),
            "ckpt/trainer_state.json: data state: sources: each entry must be a JSON object");
  json one_source = saved;
  one_source["sources"] = json::array({saved["sources"][0]});
  one_source["sources"][0]["name"] = "web, books";
  EXPECT_EQ(restore_state_error(one_source),
            "ckpt/trainer_state.json: data state: the run was trained on 1 source(s) [web, books], this config has "
            "2 [web, books]; resume with the same data.train_path / data.train_sources");
}

TEST(TrainingData, NamesTheSourceThatHoldsTooFewWindows) {
  testing::TempDir tmp;
  const auto small = token_file(tmp.path(), "small.bin", 12, 0);
  const auto config = mixture({{token_file(tmp.path(), "big.bin", 500, 0), 1, ""}, {small, 1, ""}});
  try {
    TrainingData data(config, 0, 2);
    FAIL() << "opened";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              small + ": window sampler: the token file holds 12 tokens, fewer than 2 windows of seq_len + 1 = 9 "
                      "tokens (one per rank)");
  }
}

}  // namespace
}  // namespace cocomix
