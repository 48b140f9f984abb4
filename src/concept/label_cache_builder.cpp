// build_label_cache: the labeler over every fixed window, into a LabelCacheWriter.
#include "cocomix/concept/label_cache_builder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "cocomix/concept/label_cache.h"
#include "cocomix/concept/label_cache_writer.h"
#include "cocomix/concept/labeler_from_config.h"
#include "cocomix/data/batch.h"
#include "cocomix/data/shard_windows.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/util/log.h"
#include "cocomix/util/progress.h"
#include "cocomix/util/system.h"

namespace cocomix {

int64_t build_label_cache(const Config& config, const std::string& path, int64_t sync_seconds, int64_t log_every) {
  const auto header = label_cache_header(config);
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    // A file is never overwritten: this config's own cache is kept as it is, anything else refused.
    const auto existing = LabelCache::open(path, header, "not overwritten: remove it or give another --out");
    log_info(path + ": already holds the labels of this config; left as it is");
    return existing.windows();
  }
  auto labeler = make_concept_labeler(config);
  const auto corpus = TokenCorpus::open(config.data.train_path, "train", parse_token_format(config.data.format));
  const ShardWindows fixed_windows(corpus.shard_tokens(), config.data.seq_len);
  LabelCacheWriter writer(path, header);
  const int64_t T = config.data.seq_len, B = config.train.batch_size, windows = writer.windows();
  if (writer.windows_done() > 0)
    log_info(path + ".partial: resuming after " + std::to_string(writer.windows_done()) + " of " +
             std::to_string(windows) + " windows");
  const auto started = std::chrono::steady_clock::now();
  auto synced = started;
  const int64_t first = writer.windows_done();
  for (int64_t batch = 0; writer.windows_done() < windows; ++batch) {
    const int64_t begin = writer.windows_done(), n = std::min(B, windows - begin);
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < B; ++i) starts.push_back(fixed_windows.start(begin + std::min(i, n - 1)));
    const auto inputs = read_batch(corpus, starts, T, config.model.vocab_size).inputs;  // [B, T]
    writer.append(labeler->label(inputs).labels.narrow(0, 0, n));
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - synced).count() >= static_cast<double>(sync_seconds)) {
      writer.sync();
      synced = now;
    }
    const int64_t done = writer.windows_done();
    if ((batch + 1) % log_every == 0 || done == windows) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const double rate = seconds > 0 ? static_cast<double>(done - first) / seconds : 0;
      log_info("labels: windows " + std::to_string(done) + "/" + std::to_string(windows) + " | tok/s " +
               format_thousands(rate * static_cast<double>(T)) + " | eta " +
               format_duration(rate > 0 ? static_cast<double>(windows - done) / rate : 0));
    }
  }
  writer.finish();
  return windows;
}

}  // namespace cocomix
