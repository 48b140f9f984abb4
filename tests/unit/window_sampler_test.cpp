// WindowSampler: the seeded draws and the window order against published values
// and an independent Python implementation of the documented algorithm
// (tests/reference/window_order.py), coverage and disjointness across ranks over
// one file and over shards, exact restore mid-epoch and across the epoch
// boundary, and the errors for states that belong to another run.
#include "cocomix/data/window_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using Starts = std::vector<int64_t>;
using json = nlohmann::json;

std::string restore_error(WindowSampler& sampler, const json& state) {
  try {
    sampler.restore(state, "ckpt/trainer_state.json");
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST(SeededDraws, MatchPublishedAndReferenceValues) {
  // splitmix64's first output from state 0 (Vigna's reference implementation).
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
  // The values below come from a separate Python implementation of
  // mt19937_64 + the documented stream_seed / uniform_below.
  EXPECT_EQ(stream_seed(1337, 0), 3566059846857506946ull);
  std::mt19937_64 engine(5489);  // first outputs: 14514284786278117030, 4620546740167642908, ...
  EXPECT_EQ(uniform_below(engine, 7), 1u);
  // n = 2^63 + 1 rejects every draw >= n: the first output is rejected, the second kept.
  engine.seed(5489);
  EXPECT_EQ(uniform_below(engine, (1ull << 63) + 1), 4620546740167642908ull);
  EXPECT_THROW(uniform_below(engine, 0), UsageError);
}

TEST(IndexPermutation, MatchesTheReferenceAndIsABijection) {
  const IndexPermutation reference(10, 12345);  // tests/reference/window_order.py
  Starts image;
  for (uint64_t i = 0; i < 10; ++i) image.push_back(static_cast<int64_t>(reference(i)));
  EXPECT_EQ(image, (Starts{7, 1, 0, 2, 4, 8, 6, 5, 9, 3}));
  for (uint64_t n : {1ull, 2ull, 3ull, 5ull, 17ull, 64ull, 65ull, 1000ull, 4097ull}) {
    const IndexPermutation p(n, n * 31 + 7);
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t v = p(i);
      EXPECT_LT(v, n);
      seen.insert(v);
    }
    EXPECT_EQ(seen.size(), n) << "n = " << n;
  }
  EXPECT_THROW(IndexPermutation(0, 1), UsageError);
  EXPECT_THROW(reference(10), UsageError);
  // Different keys give different orders; a huge n costs nothing to set up.
  EXPECT_NE(IndexPermutation(1000, 1)(0) * 1000 + IndexPermutation(1000, 1)(1),
            IndexPermutation(1000, 2)(0) * 1000 + IndexPermutation(1000, 2)(1));
  EXPECT_LT(IndexPermutation(uint64_t{1} << 62, 3)(12345), uint64_t{1} << 62);
}

TEST(WindowSampler, RandomEpochsMatchTheReferenceImplementation) {
  // N = 50, T = 4, seed 1337: epoch 0 has offset 2 (11 windows), epoch 1 offset 0 (12).
  WindowSampler sampler(50, 4, WindowOrder::kRandom, 1337);
  EXPECT_EQ(sampler.windows_per_epoch(), 11);
  EXPECT_EQ(sampler.next(11), (Starts{42, 14, 10, 22, 34, 30, 18, 6, 38, 26, 2}));
  EXPECT_EQ(sampler.next(3), (Starts{36, 24, 0}));
  EXPECT_EQ(sampler.epoch(), 1);
  EXPECT_EQ(sampler.windows_per_epoch(), 12);
}

TEST(WindowSampler, FixedShufflesTheSameWindowsEveryEpoch) {
  // N = 50, T = 4, seed 1337: the 12 windows 0, 4, ..., 44 in the reference's order.
  WindowSampler sampler(50, 4, WindowOrder::kFixed, 1337);
  EXPECT_EQ(sampler.windows_per_epoch(), 12);
  EXPECT_EQ(sampler.next(12), (Starts{40, 44, 8, 20, 32, 28, 16, 4, 36, 24, 0, 12}));
  EXPECT_EQ(sampler.next(12), (Starts{36, 24, 0, 20, 32, 40, 4, 16, 8, 12, 44, 28}));
  EXPECT_EQ(sampler.state()["sampling"], "fixed");
  // Ranks split each epoch's shuffled order r, r + w, ...
  WindowSampler rank0(50, 4, WindowOrder::kFixed, 1337, 0, 2), rank1(50, 4, WindowOrder::kFixed, 1337, 1, 2);
  EXPECT_EQ(rank0.next(6), (Starts{40, 8, 32, 16, 36, 0}));
  EXPECT_EQ(rank1.next(6), (Starts{44, 20, 28, 4, 24, 12}));
  // Its state resumes only as "fixed".
  sampler.next(5);
  WindowSampler resumed(50, 4, WindowOrder::kFixed, 1);
  resumed.restore(sampler.state(), "state.json");
  EXPECT_EQ(resumed.next(20), sampler.next(20));
  WindowSampler random(50, 4, WindowOrder::kRandom, 1337);
  EXPECT_EQ(restore_error(random, sampler.state()),
            "ckpt/trainer_state.json: sampler state was made for fixed sampling, but data.sampling is random");
  EXPECT_EQ(parse_window_order("fixed", "data.sampling"), WindowOrder::kFixed);
  EXPECT_THROW(parse_window_order("shuffled", "data.sampling"), UsageError);
}

TEST(WindowSampler, ShardsMatchTheReferenceImplementation) {
  // Shards of 23, 3 and 30 tokens (corpus indices 0-22, 23-25, 26-55), T = 4, seed 7.
  // The 3-token shard has no window; no window crosses into the next shard.
  WindowSampler random({23, 3, 30}, 4, WindowOrder::kRandom, 7);
  EXPECT_EQ(random.next(12), (Starts{13, 9, 43, 35, 17, 47, 51, 1, 31, 27, 5, 39}));  // offset 1
  EXPECT_EQ(random.next(10), (Starts{34, 4, 16, 50, 46, 38, 8, 12, 42, 30}));        // offset 0
  WindowSampler fixed({23, 3, 30}, 4, WindowOrder::kFixed, 7);
  EXPECT_EQ(fixed.next(12), (Starts{12, 8, 42, 34, 16, 46, 50, 0, 30, 26, 4, 38}));
}

TEST(WindowSampler, SequentialWalksTheFileInOrder) {
  WindowSampler sampler(20, 4, WindowOrder::kSequential, 1);
  EXPECT_EQ(sampler.windows_per_epoch(), 4);  // (20 - 1) / 4
  EXPECT_EQ(sampler.next(6), (Starts{0, 4, 8, 12, 0, 4}));
  EXPECT_EQ(sampler.epoch(), 1);
  WindowSampler rank0(20, 4, WindowOrder::kSequential, 1, 0, 2), rank1(20, 4, WindowOrder::kSequential, 1, 1, 2);
  EXPECT_EQ(rank0.next(2), (Starts{0, 8}));
  EXPECT_EQ(rank1.next(2), (Starts{4, 12}));
}

TEST(WindowSampler, EveryEpochCoversDisjointWindowsAcrossRanks) {
  const int64_t n = 1000, t = 7;
  const int world = 3;
  std::vector<WindowSampler> ranks;
  for (int r = 0; r < world; ++r) ranks.emplace_back(n, t, WindowOrder::kRandom, 42, r, world);
  std::set<int64_t> offsets;
  for (int epoch = 0; epoch < 6; ++epoch) {
    const int64_t per_rank = ranks[0].windows_per_epoch();
    std::set<int64_t> seen;
    for (auto& sampler : ranks) {
      ASSERT_EQ(sampler.windows_per_epoch(), per_rank);  // equal counts
      for (const int64_t start : sampler.next(per_rank)) {
        EXPECT_TRUE(seen.insert(start).second) << "window " << start << " on two ranks";
        EXPECT_GE(start, 0);
        EXPECT_LE(start + t + 1, n);
      }
    }
    // All starts share one offset o in [0, T]; the first floor(k/w)*w windows of k = (N-1-o)/T are used.
    const int64_t offset = *seen.begin();
    ASSERT_LE(offset, t);
    offsets.insert(offset);
    for (const int64_t start : seen) EXPECT_EQ((start - offset) % t, 0);
    EXPECT_EQ(static_cast<int64_t>(seen.size()), (n - 1 - offset) / t / world * world);
    EXPECT_EQ(static_cast<int64_t>(seen.size()), per_rank * world);
  }
  EXPECT_GT(offsets.size(), 1u);  // the offset moves between epochs
}

TEST(WindowSampler, EveryEpochVisitsEveryWindowOfEveryShardOnce) {
  const std::vector<int64_t> shards = {100, 7, 0, 58, 301, 16};  // begins 0, 100, 107, 107, 165, 466
  const std::vector<int64_t> begins = {0, 100, 107, 107, 165, 466};
  const int64_t t = 8;
  const int world = 3;
  // Every window rank r takes in epoch e (a sampler restored to the epoch's start).
  const auto epoch_windows = [&](WindowOrder order, int r, int64_t epoch) {
    WindowSampler sampler(shards, t, order, 3, r, world);
    json state = sampler.state();
    state["epoch"] = epoch;
    sampler.restore(state, "state.json");
    return sampler.next(sampler.windows_per_epoch());
  };
  const auto shard_of = [&](int64_t start) {
    size_t s = 0;
    while (s + 1 < begins.size() && begins[s + 1] <= start) ++s;
    return s;
  };
  // Fixed and sequential: the windows begin_s + i*T of every shard, each once per epoch.
  std::set<int64_t> expected;
  for (size_t s = 0; s < shards.size(); ++s)
    for (int64_t i = 0; i * t + t + 1 <= shards[s]; ++i) expected.insert(begins[s] + i * t);
  ASSERT_EQ(expected.size(), 12u + 0u + 7u + 37u + 1u);  // 100 -> 12, 7 -> 0, 58 -> 7, 301 -> 37, 16 -> 1
  for (const auto order : {WindowOrder::kFixed, WindowOrder::kSequential}) {
    for (int epoch = 0; epoch < 3; ++epoch) {
      std::set<int64_t> seen;
      for (int r = 0; r < world; ++r)
        for (const int64_t start : epoch_windows(order, r, epoch))
          EXPECT_TRUE(seen.insert(start).second) << "window " << start << " twice in epoch " << epoch;
      EXPECT_EQ(seen, expected) << window_order_name(order) << " epoch " << epoch;  // 57 windows, 19 per rank
    }
  }
  // Random: one offset o per epoch, the same inside every shard; windows stay inside their shard.
  std::set<int64_t> offsets;
  for (int epoch = 0; epoch < 8; ++epoch) {
    std::set<int64_t> seen, epoch_offsets;
    for (int r = 0; r < world; ++r)
      for (const int64_t start : epoch_windows(WindowOrder::kRandom, r, epoch)) {
        EXPECT_TRUE(seen.insert(start).second);
        const size_t s = shard_of(start);
        EXPECT_LE(start - begins[s] + t + 1, shards[s]) << "window " << start << " leaves shard " << s;
        epoch_offsets.insert((start - begins[s]) % t);
      }
    ASSERT_EQ(epoch_offsets.size(), 1u);
    offsets.insert(*epoch_offsets.begin());
  }
  EXPECT_GT(offsets.size(), 1u);
}

TEST(WindowSampler, IsDeterministicPerSeed) {
  WindowSampler a(5000, 16, WindowOrder::kRandom, 7), b(5000, 16, WindowOrder::kRandom, 7),
      c(5000, 16, WindowOrder::kRandom, 8);
  const auto first = a.next(700);
  EXPECT_EQ(first, b.next(700));
  EXPECT_NE(first, c.next(700));
}

TEST(WindowSampler, RestoresExactlyMidEpochAndAcrossTheBoundary) {
  for (const int64_t taken : {5, 30, 65}) {  // rank 1 of 2: epochs of 30 or 31 windows
    WindowSampler original(1000, 16, WindowOrder::kRandom, 99, 1, 2);
    original.next(taken);
    const json saved = json::parse(original.state().dump());  // through text, as in a checkpoint
    WindowSampler resumed(1000, 16, WindowOrder::kRandom, 0, 1, 2);  // a different seed: the state's wins
    resumed.restore(saved, "state.json");
    EXPECT_EQ(resumed.epoch(), original.epoch());
    EXPECT_EQ(resumed.cursor(), original.cursor());
    EXPECT_EQ(resumed.next(100), original.next(100)) << "after " << taken << " windows";
  }
  WindowSampler boundary(50, 4, WindowOrder::kRandom, 1337);
  boundary.next(11);  // exactly epoch 0
  EXPECT_EQ(boundary.state()["cursor"], 11);
  WindowSampler resumed(50, 4, WindowOrder::kRandom, 1337);
  resumed.restore(boundary.state(), "state.json");
  EXPECT_EQ(resumed.next(3), (Starts{36, 24, 0}));
  // Over shards too.
  WindowSampler shards({23, 3, 30}, 4, WindowOrder::kRandom, 7, 1, 2);
  shards.next(9);
  WindowSampler resumed_shards({23, 3, 30}, 4, WindowOrder::kRandom, 7, 1, 2);
  resumed_shards.restore(json::parse(shards.state().dump()), "state.json");
  EXPECT_EQ(resumed_shards.next(40), shards.next(40));
}

TEST(WindowSampler, RejectsStatesOfAnotherRun) {
  WindowSampler sampler(1000, 16, WindowOrder::kRandom, 1, 0, 2);
  const json state = sampler.state();
  const std::string where = "ckpt/trainer_state.json: sampler state";
  WindowSampler other_file(2000, 16, WindowOrder::kRandom, 1, 0, 2);
  EXPECT_EQ(restore_error(other_file, state),
            where + " was made for a file of 1000 tokens, but the data has a file of 2000 tokens (different data?)");
  WindowSampler sharded({600, 400}, 16, WindowOrder::kRandom, 1, 0, 2);
  EXPECT_EQ(restore_error(sharded, state),
            where + " was made for a file of 1000 tokens, but the data has 2 shards of 1000 tokens (different data?)");
  WindowSampler other_len(1000, 32, WindowOrder::kRandom, 1, 0, 2);
  EXPECT_EQ(restore_error(other_len, state), where + " was made for seq_len 16, but data.seq_len is 32");
  WindowSampler other_mode(1000, 16, WindowOrder::kSequential, 1, 0, 2);
  EXPECT_EQ(restore_error(other_mode, state), where + " was made for random sampling, but data.sampling is sequential");
  WindowSampler other_world(1000, 16, WindowOrder::kRandom, 1, 0, 4);
  EXPECT_EQ(restore_error(other_world, state), where + " was made for rank 0 of 2, but this is rank 0 of 4");

  json broken = state;
  broken.erase("cursor");
  EXPECT_EQ(restore_error(sampler, broken), where + ": missing key cursor");
  broken = state;
  broken["cursor"] = 10000;
  EXPECT_EQ(restore_error(sampler, broken),
            where + ": cursor 10000 is outside epoch 0's " + std::to_string(sampler.windows_per_epoch()) + " windows");
  broken["cursor"] = "3";
  EXPECT_EQ(restore_error(sampler, broken), where + ": cursor must be an integer, got \"3\"");
  EXPECT_EQ(sampler.cursor(), 0);  // failed restores leave the sampler as it was
}

TEST(WindowSampler, NeedsOneWindowPerRank) {
  try {
    WindowSampler(64, 64, WindowOrder::kRandom, 1);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "window sampler: the token file holds 64 tokens, fewer than 1 window of seq_len + 1 = 65 tokens (one "
                 "per rank)");
  }
  try {
    WindowSampler({65, 64, 100}, 64, WindowOrder::kRandom, 1, 0, 3);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "window sampler: the 3 shards hold 2 windows, fewer than 3 windows of seq_len + 1 = 65 tokens (one "
                 "per rank)");
  }
  EXPECT_THROW(WindowSampler(128, 64, WindowOrder::kRandom, 1, 0, 2), RuntimeError);
  EXPECT_THROW(WindowSampler(129, 64, WindowOrder::kRandom, 1, 2, 2), UsageError);
  EXPECT_THROW(WindowSampler(std::vector<int64_t>{}, 64, WindowOrder::kRandom, 1), UsageError);
  // A file of exactly T + 1 tokens has one window, at 0, in every epoch.
  WindowSampler tiny(65, 64, WindowOrder::kRandom, 5);
  EXPECT_EQ(tiny.next(3), (Starts{0, 0, 0}));
}

TEST(ValidationWindows, AreNonOverlappingFromTheStartOfEachShard) {
  EXPECT_EQ(validation_window_starts({10}, 3, 0), (Starts{0, 3, 6}));  // 6 + 3 + 1 = 10
  EXPECT_EQ(validation_window_starts({9}, 3, 0), (Starts{0, 3}));
  EXPECT_EQ(validation_window_starts({10}, 3, 2), (Starts{0, 3}));
  EXPECT_TRUE(validation_window_starts({3}, 3, 0).empty());
  // Shards of 10 and 7 tokens: windows 0, 3, 6 and 10, 13; a cap of 3 takes 0, 10, then 3.
  EXPECT_EQ(validation_window_starts({10, 7}, 3, 0), (Starts{0, 3, 6, 10, 13}));
  EXPECT_EQ(validation_window_starts({10, 7}, 3, 3), (Starts{0, 3, 10}));
}

}  // namespace
}  // namespace cocomix
