// The corpus pipeline: this thread reads documents into ~1 MiB batches and
// writes finished batches in order; worker threads encode batches. Writing in
// document order keeps the shards identical for any number of threads. Resume
// state (progress.json) is rewritten atomically after every complete shard.
#include "cocomix/data/corpus_tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "cocomix/data/sharded_token_writer.h"
#include "cocomix/data/train_val_split.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/progress.h"
#include "cocomix/util/sha256.h"
#include "cocomix/util/system.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kSplits[2] = {"train", "val"};
constexpr size_t kBatchTextBytes = size_t{1} << 20;
constexpr size_t kBatchDocuments = 256;

/// One document in a batch: its place in the corpus and, once encoded, its ids
/// (end-of-text included) at [ids_begin, ids_end) of the batch's ids.
struct Item {
  int64_t index = 0;
  int split = 0;
  bool skip = false;  ///< already in the shards of the run being resumed: not encoded
  std::string text;
  size_t ids_begin = 0, ids_end = 0;
};

struct Batch {
  std::vector<Item> items;
  std::vector<uint32_t> ids;
  size_t text_bytes = 0;
  bool done = false;
  std::exception_ptr error;
};

/// Worker threads that encode submitted batches; wait() blocks until one is done.
class EncoderPool {
 public:
  EncoderPool(const CorpusEncoder& encoder, int threads) : encoder_(encoder) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~EncoderPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_workers_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  void submit(Batch* batch) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(batch);
    }
    wake_workers_.notify_one();
  }

  void wait(Batch* batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    batch_done_.wait(lock, [&] { return batch->done; });
  }

  bool done(const Batch* batch) {
    std::lock_guard<std::mutex> lock(mutex_);
    return batch->done;
  }

 private:
  void work() {
    for (;;) {
      Batch* batch;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_workers_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        batch = queue_.front();
        queue_.pop_front();
      }
      try {
        for (Item& item : batch->items) {
          item.ids_begin = batch->ids.size();
          if (!item.skip) {
            encoder_.encode(item.text, batch->ids);
            batch->ids.push_back(encoder_.end_of_text);
          }
          item.ids_end = batch->ids.size();
          std::string().swap(item.text);
        }
      } catch (...) {
        batch->error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        batch->done = true;
      }
      batch_done_.notify_all();
    }
  }

  const CorpusEncoder& encoder_;
  std::mutex mutex_;
  std::condition_variable wake_workers_, batch_done_;
  std::deque<Batch*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

json shard_json(const ShardedTokenWriter::Shard& shard) {
  return {{"file", shard.file},
          {"tokens", shard.tokens},
          {"next_document", shard.next_document},
          {"next_token", shard.next_token}};
}

/// Everything that decides the output: a run with other settings starts over.
json corpus_settings(const CorpusEncoder& encoder, const CorpusOptions& options,
                     const std::vector<std::string>& files) {
  json tokenizer_files = json::array();
  for (const auto& file : encoder.files) tokenizer_files.push_back({{"path", file}, {"sha256", sha256_file_hex(file)}});
  json inputs = json::array();
  for (const auto& file : files) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) throw_errno(file, "cannot stat", errno);
    const int64_t modified_ns = int64_t{info.st_mtim.tv_sec} * 1000000000 + info.st_mtim.tv_nsec;
    inputs.push_back({{"path", file}, {"bytes", static_cast<int64_t>(info.st_size)}, {"modified_ns", modified_ns}});
  }
  json settings = {{"tokenizer", encoder.name},
                   {"tokenizer_files", tokenizer_files},
                   {"inputs", inputs},
                   {"text_field", options.reader.text_field},
                   {"blocks", options.reader.blocks},
                   {"skip_bad", options.reader.skip_bad},
                   {"seed", options.seed},
                   {"shard_tokens", options.shard_tokens}};
  if (options.val_documents >= 0)
    settings["val_documents"] = options.val_documents;
  else
    settings["val_fraction"] = options.val_fraction;
  return settings;
}

/// The JSON object in `path`, or null when it is missing or unreadable.
json read_json_or_null(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return nullptr;
  try {
    return json::parse(read_whole_file(path));
  } catch (const std::exception&) {
    return nullptr;
  }
}

/// Removes from `dir` every file a corpus run writes (shards, manifest, progress
/// and their .tmp files) except those named in `keep`.
void remove_corpus_outputs(const std::string& dir, const std::vector<std::string>& keep) {
  static const std::regex kOurs(R"((train|val)_\d{6}\.bin(\.tmp)?|manifest\.json(\.tmp)?|progress\.json(\.tmp)?)");
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, kOurs) && std::find(keep.begin(), keep.end(), name) == keep.end())
      doomed.push_back(entry.path());
  }
  for (const auto& path : doomed) fs::remove(path);
}

/// The shards of an interrupted run, when progress.json matches `settings` and
/// lists the split's shards in order, each on disk with the right size; else none.
std::vector<ShardedTokenWriter::Shard> resumable_shards(const std::string& dir, const json& settings, int split,
                                                        const json& progress) {
  std::vector<ShardedTokenWriter::Shard> shards;
  if (!progress.is_object() || progress.value("settings", json()) != settings) return shards;
  try {
    for (const auto& entry : progress.at("splits").at(kSplits[split])) {
      const auto count = [&](const char* key) { return json_integer(entry.at(key), "progress.json"); };
      const ShardedTokenWriter::Shard shard{entry.at("file").get<std::string>(), count("tokens"),
                                            count("next_document"), count("next_token")};
      if (shard.file != ShardedTokenWriter::shard_name(kSplits[split], static_cast<int64_t>(shards.size()))) return {};
      std::error_code error;
      const auto bytes = fs::file_size(dir + "/" + shard.file, error);
      // Compared as bytes / 2, so that a damaged count cannot overflow 2 * tokens.
      const auto body = static_cast<int64_t>(bytes) - kLlmcHeaderBytes;
      if (error || shard.tokens < 0 || body < 0 || body % 2 != 0 || body / 2 != shard.tokens) return {};
      shards.push_back(shard);
    }
  } catch (const json::exception&) {
    return {};  // a damaged progress.json: start the split over
  } catch (const RuntimeError&) {
    return {};  // a count that is not an integer: damaged too
  }
  return shards;
}

int64_t count_documents(const std::vector<std::string>& files, const DocumentReaderOptions& options) {
  DocumentReader reader(files, options);
  InputDocument document;
  int64_t count = 0;
  while (reader.next(document)) ++count;
  return count;
}

}  // namespace

CorpusEncoder gpt2_corpus_encoder(const Gpt2Tokenizer& tokenizer) {
  return {Gpt2Tokenizer::kName, tokenizer.vocab_size(), tokenizer.end_of_text(),
          [tokenizer](std::string_view text, std::vector<uint32_t>& ids) { tokenizer.encode_ordinary(text, ids); },
          tokenizer.files()};
}

CorpusSummary tokenize_corpus(const CorpusEncoder& encoder, const CorpusOptions& options) {
  if (!(options.val_fraction >= 0 && options.val_fraction < 1))
    throw UsageError("--val-fraction must be in [0, 1), got " + json(options.val_fraction).dump());
  if (options.shard_tokens < 1 || options.shard_tokens > std::numeric_limits<int32_t>::max())
    throw UsageError("--shard-tokens must be in [1, 2147483647] (an llm.c header count is an int32), got " +
                     std::to_string(options.shard_tokens));
  if (encoder.vocab_size > 65536)
    throw UsageError("tokenizer " + encoder.name + ": vocab_size " + std::to_string(encoder.vocab_size) +
                     " does not fit uint16 shards");
  const auto start = Clock::now();
  const std::vector<std::string> files = expand_inputs(options.inputs);
  if (files.empty()) {
    std::string inputs;
    for (const auto& input : options.inputs) inputs += (inputs.empty() ? "" : ", ") + input;
    throw UsageError(inputs + ": the inputs hold no files");
  }
  const json settings = corpus_settings(encoder, options, files);
  ensure_writable_directory(options.out_dir);
  const std::string dir = options.out_dir;
  const std::string manifest_path = dir + "/manifest.json", progress_path = dir + "/progress.json";

  CorpusSummary summary;
  const json old_manifest = read_json_or_null(manifest_path);
  if (old_manifest.is_object() && old_manifest.value("settings", json()) == settings) {
    summary.manifest = old_manifest;
    summary.already_complete = true;
    fs::remove(progress_path);  // left by a run killed between writing the manifest and removing it
    return summary;
  }
  const json progress = read_json_or_null(progress_path);
  std::vector<ShardedTokenWriter::Shard> done[2] = {resumable_shards(dir, settings, 0, progress),
                                                    resumable_shards(dir, settings, 1, progress)};
  summary.resumed = !done[0].empty() || !done[1].empty();
  std::vector<std::string> keep;  // a resumed run keeps its complete shards
  for (const auto& shards : done)
    for (const auto& shard : shards) keep.push_back(shard.file);
  remove_corpus_outputs(dir, keep);
  // Where each split continues: documents before next_document are in its shards,
  // and the first next_token tokens of next_document too. A split whose last shard
  // ended the split (next_document -1) takes nothing more.
  int64_t resume_document[2] = {0, 0}, resume_token[2] = {0, 0};
  for (int split = 0; split < 2; ++split)
    if (!done[split].empty()) {
      const auto& last = done[split].back();
      resume_document[split] = last.next_document < 0 ? std::numeric_limits<int64_t>::max() : last.next_document;
      resume_token[split] = last.next_token;
    }

  const ValidationSplit split_rule =
      options.val_documents >= 0
          ? ValidationSplit::by_count(options.seed, options.val_documents, count_documents(files, options.reader))
          : ValidationSplit::by_fraction(options.seed, options.val_fraction);

  ShardedTokenWriter train(dir, kSplits[0], options.shard_tokens, done[0]);
  ShardedTokenWriter val(dir, kSplits[1], options.shard_tokens, done[1]);
  ShardedTokenWriter* writers[2] = {&train, &val};
  const auto save_progress = [&](const ShardedTokenWriter::Shard&) {
    json splits = json::object();
    for (int split = 0; split < 2; ++split) {
      splits[kSplits[split]] = json::array();
      for (const auto& shard : writers[split]->shards()) splits[kSplits[split]].push_back(shard_json(shard));
    }
    write_file_atomically(progress_path, json({{"settings", settings}, {"splits", splits}}).dump() + "\n");
  };
  train.on_shard_finished = save_progress;
  val.on_shard_finished = save_progress;

  const int threads = options.threads > 0 ? options.threads : static_cast<int>(available_cores());
  DocumentReader reader(files, options.reader);
  int64_t documents[2] = {0, 0}, next_index = 0;
  std::deque<std::unique_ptr<Batch>> pending;  // submitted, in document order
  const size_t max_pending = static_cast<size_t>(threads) * 4;
  auto last_progress = start;

  const auto log_progress = [&](bool force) {
    const auto now = Clock::now();
    if (options.progress_seconds <= 0 ||
        (!force && std::chrono::duration<double>(now - last_progress).count() < options.progress_seconds))
      return;
    last_progress = now;
    TokenizeProgressFields fields;
    fields.disk_bytes_done = reader.disk_bytes_read();
    fields.disk_bytes_total = reader.disk_bytes_total();
    fields.text_bytes = summary.text_bytes;
    fields.documents = documents[0] + documents[1];
    fields.tokens = train.tokens() + val.tokens();
    fields.elapsed_seconds = std::chrono::duration<double>(now - start).count();
    log_info("tokenize " + format_tokenize_progress_line(fields));
  };

  {
    EncoderPool pool(encoder, threads);
    const auto write_oldest = [&] {
      Batch* batch = pending.front().get();
      pool.wait(batch);
      if (batch->error) std::rethrow_exception(batch->error);
      for (const Item& item : batch->items) {
        ++documents[item.split];
        if (item.skip) continue;
        const int64_t first = item.index == resume_document[item.split] ? resume_token[item.split] : 0;
        const auto count = static_cast<int64_t>(item.ids_end - item.ids_begin);
        if (first < count)
          writers[item.split]->write(item.index, batch->ids.data() + item.ids_begin + first,
                                     static_cast<size_t>(count - first), first);
      }
      summary.text_bytes += static_cast<int64_t>(batch->text_bytes);
      pending.pop_front();
      log_progress(false);
    };
    auto batch = std::make_unique<Batch>();
    const auto submit = [&] {
      pool.submit(batch.get());
      pending.push_back(std::move(batch));
      batch = std::make_unique<Batch>();
      while (pending.size() >= max_pending || (!pending.empty() && pool.done(pending.front().get()))) write_oldest();
    };
    // On an error the pool's destructor lets busy workers finish their batch and
    // stops the rest before `pending` (declared outside) frees the batches.
    InputDocument document;
    while (reader.next(document)) {
      Item item;
      item.index = next_index++;
      item.split = split_rule.is_validation(item.index) ? 1 : 0;
      item.skip = item.index < resume_document[item.split];
      if (!item.skip) {
        batch->text_bytes += document.text.size();
        item.text = std::move(document.text);
      }
      batch->items.push_back(std::move(item));
      if (batch->text_bytes >= kBatchTextBytes || batch->items.size() >= kBatchDocuments) submit();
    }
    if (!batch->items.empty()) submit();
    while (!pending.empty()) write_oldest();
  }
  train.finish();
  val.finish();
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  log_progress(true);

  json splits = json::object();
  for (int split = 0; split < 2; ++split) {
    json shards = json::array();
    for (const auto& shard : writers[split]->shards())
      shards.push_back({{"file", shard.file}, {"tokens", shard.tokens}});
    splits[kSplits[split]] = {
        {"tokens", writers[split]->tokens()}, {"documents", documents[split]}, {"shards", shards}};
  }
  summary.manifest = {{"tokenizer", encoder.name},
                      {"vocab_size", encoder.vocab_size},
                      {"end_of_text", encoder.end_of_text},
                      {"format", token_format_name(TokenFormat::kLlmc)},
                      {"documents", next_index},
                      {"skipped_rows", reader.skipped_rows()},
                      {"splits", splits},
                      {"settings", settings}};
  write_file_atomically(manifest_path, summary.manifest.dump(2) + "\n");
  fs::remove(progress_path);
  return summary;
}

}  // namespace cocomix
