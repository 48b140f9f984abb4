// WindowSampler: the seeded draws against published values and an independent
// Python implementation of the documented algorithm, coverage and disjointness
// across ranks, exact restore mid-epoch and across the epoch boundary, and the
// errors for states that belong to another run.
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

TEST(WindowSampler, RandomEpochsMatchTheReferenceImplementation) {
  // N = 50, T = 4, seed 1337: epoch 0 has offset 2, epoch 1 offset 3 (Python reference).
  WindowSampler sampler(50, 4, /*random=*/true, 1337);
  EXPECT_EQ(sampler.windows_per_epoch(), 11);
  EXPECT_EQ(sampler.next(11), (Starts{14, 22, 10, 30, 42, 18, 34, 6, 38, 26, 2}));
  EXPECT_EQ(sampler.next(3), (Starts{43, 23, 19}));
  EXPECT_EQ(sampler.epoch(), 1);
  EXPECT_EQ(sampler.next(8), (Starts{39, 7, 27, 31, 11, 35, 3, 15}));
}

TEST(WindowSampler, FixedShufflesTheSameWindowsEveryEpoch) {
  // N = 50, T = 4, seed 1337: the 12 windows 0, 4, ..., 44 in the order of the
  // same Python reference with no offset draw (its random epochs are the ones above).
  WindowSampler sampler(50, 4, WindowOrder::kFixed, 1337);
  EXPECT_EQ(sampler.windows_per_epoch(), 12);
  EXPECT_EQ(sampler.next(12), (Starts{12, 20, 8, 28, 40, 16, 32, 4, 36, 24, 44, 0}));
  EXPECT_EQ(sampler.next(12), (Starts{40, 44, 16, 36, 4, 24, 28, 8, 32, 0, 12, 20}));
  EXPECT_EQ(sampler.state()["sampling"], "fixed");
  EXPECT_EQ(sampler.state()["random"], false);
  // Ranks split each epoch's shuffled order r, r + w, ...
  WindowSampler rank0(50, 4, WindowOrder::kFixed, 1337, 0, 2), rank1(50, 4, WindowOrder::kFixed, 1337, 1, 2);
  EXPECT_EQ(rank0.next(6), (Starts{12, 8, 40, 32, 36, 44}));
  EXPECT_EQ(rank1.next(6), (Starts{20, 28, 16, 4, 24, 0}));
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

TEST(WindowSampler, SequentialWalksTheFileInOrder) {
  WindowSampler sampler(20, 4, /*random=*/false, 1);
  EXPECT_EQ(sampler.windows_per_epoch(), 4);  // (20 - 1) / 4
  EXPECT_EQ(sampler.next(6), (Starts{0, 4, 8, 12, 0, 4}));
  EXPECT_EQ(sampler.epoch(), 1);
  WindowSampler rank0(20, 4, false, 1, 0, 2), rank1(20, 4, false, 1, 1, 2);
  EXPECT_EQ(rank0.next(2), (Starts{0, 8}));
  EXPECT_EQ(rank1.next(2), (Starts{4, 12}));
}

TEST(WindowSampler, EveryEpochCoversDisjointWindowsAcrossRanks) {
  const int64_t n = 1000, t = 7;
  const int world = 3;
  std::vector<WindowSampler> ranks;
  for (int r = 0; r < world; ++r) ranks.emplace_back(n, t, true, 42, r, world);
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

TEST(WindowSampler, IsDeterministicPerSeed) {
  WindowSampler a(5000, 16, true, 7), b(5000, 16, true, 7), c(5000, 16, true, 8);
  const auto first = a.next(700);
  EXPECT_EQ(first, b.next(700));
  EXPECT_NE(first, c.next(700));
}

TEST(WindowSampler, RestoresExactlyMidEpochAndAcrossTheBoundary) {
  for (const int64_t taken : {5, 30, 65}) {  // seed 99, rank 1 of 2: epochs of 30, 30, 31 windows
    WindowSampler original(1000, 16, true, 99, 1, 2);
    original.next(taken);
    const json saved = json::parse(original.state().dump());  // through text, as in a checkpoint
    WindowSampler resumed(1000, 16, true, 0, 1, 2);           // a different seed: the state's wins
    resumed.restore(saved, "state.json");
    EXPECT_EQ(resumed.epoch(), original.epoch());
    EXPECT_EQ(resumed.cursor(), original.cursor());
    EXPECT_EQ(resumed.next(100), original.next(100)) << "after " << taken << " windows";
  }
  WindowSampler boundary(50, 4, true, 1337);
  boundary.next(11);  // exactly epoch 0
  EXPECT_EQ(boundary.state()["cursor"], 11);
  WindowSampler resumed(50, 4, true, 1337);
  resumed.restore(boundary.state(), "state.json");
  EXPECT_EQ(resumed.next(3), (Starts{43, 23, 19}));
}

TEST(WindowSampler, RejectsStatesOfAnotherRun) {
  WindowSampler sampler(1000, 16, true, 1, 0, 2);
  const json state = sampler.state();
  const std::string where = "ckpt/trainer_state.json: sampler state";
  WindowSampler other_file(2000, 16, true, 1, 0, 2);
  EXPECT_EQ(restore_error(other_file, state),
            where + " was made for a file of 1000 tokens, but this file holds 2000 (a different data file?)");
  WindowSampler other_len(1000, 32, true, 1, 0, 2);
  EXPECT_EQ(restore_error(other_len, state), where + " was made for seq_len 16, but data.seq_len is 32");
  WindowSampler other_mode(1000, 16, false, 1, 0, 2);
  EXPECT_EQ(restore_error(other_mode, state), where + " was made for random sampling, but data.sampling is sequential");
  WindowSampler other_world(1000, 16, true, 1, 0, 4);
  EXPECT_EQ(restore_error(other_world, state), where + " was made for rank 0 of 2, but this is rank 0 of 4");

  json broken = state;
  broken.erase("cursor");
  EXPECT_EQ(restore_error(sampler, broken), where + ": missing key cursor");
  broken = state;
  broken["cursor"] = 10000;
  EXPECT_EQ(restore_error(sampler, broken), where + ": cursor 10000 is outside epoch 0's 30 windows");
  broken["cursor"] = "3";
  EXPECT_EQ(restore_error(sampler, broken), where + ": cursor must be an integer, got \"3\"");
  EXPECT_EQ(sampler.cursor(), 0);  // failed restores leave the sampler as it was
}

TEST(WindowSampler, NeedsOneWindowPerRank) {
  try {
    WindowSampler(64, 64, true, 1);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "window sampler: the token file holds 64 tokens, fewer than seq_len + 1 = 65 (one window per rank)");
  }
  EXPECT_THROW(WindowSampler(128, 64, true, 1, 0, 2), RuntimeError);
  EXPECT_THROW(WindowSampler(129, 64, true, 1, 2, 2), UsageError);
  // A file of exactly T + 1 tokens has one window, at 0, in every epoch.
  WindowSampler tiny(65, 64, true, 5);
  EXPECT_EQ(tiny.next(3), (Starts{0, 0, 0}));
}

TEST(ValidationWindows, AreNonOverlappingFromTheStart) {
  EXPECT_EQ(validation_window_starts(10, 3, 0), (Starts{0, 3, 6}));  // 6 + 3 + 1 = 10
  EXPECT_EQ(validation_window_starts(9, 3, 0), (Starts{0, 3}));
  EXPECT_EQ(validation_window_starts(10, 3, 2), (Starts{0, 3}));
  EXPECT_TRUE(validation_window_starts(3, 3, 0).empty());
}

}  // namespace
}  // namespace cocomix
