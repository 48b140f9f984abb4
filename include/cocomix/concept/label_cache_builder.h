// `cocomix-sae label`: a config's concept labels for every fixed window of its
// training file, into a label cache (label_cache.h).
#pragma once

#include <cstdint>
#include <string>

#include "cocomix/config/config.h"

namespace cocomix {

/// `cocomix-sae label`: runs the config's concept labeler (teacher + SAE,
/// checked as for training) over every fixed window of data.train_path into
/// `path` (label_cache_header(config) first), train.batch_size windows per
/// forward, the last batch padded with its last window so that every forward has
/// the training step's shape. Syncs the windows written to disk (LabelCacheWriter::sync)
/// once `sync_seconds` have passed since the last sync, after every batch at 0; a
/// PATH.partial of the same header resumes after its synced windows. Logs a
/// progress line every `log_every` batches. Returns the number of windows.
/// Never overwrites PATH: a complete cache of this config there is kept (logged,
/// nothing computed); any other file is refused as LabelCache::open refuses it,
/// with "not overwritten: remove it or give another --out".
int64_t build_label_cache(const Config& config, const std::string& path, int64_t sync_seconds = 30,
                          int64_t log_every = 10);

}  // namespace cocomix
