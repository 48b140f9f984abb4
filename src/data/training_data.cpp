// TrainingData: the sources of a run, a counter-based choice of source per
// window, and each source's sampler; batches are read source by source and put
// back in draw order.
#include "cocomix/data/training_data.h"

#include <torch/torch.h>

#include "cocomix/util/error.h"
#include "cocomix/util/random.h"

namespace cocomix {

using json = nlohmann::json;

namespace {

constexpr uint64_t kChoiceStream = uint64_t{1} << 32;  // far from the source streams 0, 1, 2, ...

}  // namespace

TrainingData::TrainingData(const Config& config, int rank, int world_size)
    : seq_len_(config.data.seq_len),
      choice_key_(stream_seed(stream_seed(config.train.seed, kChoiceStream), static_cast<uint64_t>(rank))) {
  const auto sources = config.data.sources();
  if (sources.empty()) throw UsageError(config.source + ": data.train_path: required for training");
  const auto format = parse_token_format(config.data.format);
  const auto order = parse_window_order(config.data.sampling, "data.sampling");
  double total = 0;
  std::string tokenizer, tokenizer_spec;  // what the first source with a manifest records, and its path
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto& source = sources[i];
    // Shuffled windows ("random", "fixed") read a few KiB here and there: no read-ahead around them.
    const auto access = order == WindowOrder::kSequential ? TokenAccess::kSequential : TokenAccess::kRandom;
    auto corpus = TokenCorpus::open(source.path, "train", format, access);
    if (!sources_.empty() && corpus.shards()[0].layout.token_bytes != sources_[0].corpus.shards()[0].layout.token_bytes)
      throw RuntimeError(source.path + ": " + std::to_string(8 * corpus.shards()[0].layout.token_bytes) +
                         "-bit tokens, but " + sources_[0].corpus.spec() + " has " +
                         std::to_string(8 * sources_[0].corpus.shards()[0].layout.token_bytes) + "-bit tokens");
    // Sources without a manifest are not compared: nothing says what tokenized them.
    if (!tokenizer.empty() && !corpus.tokenizer().empty() && corpus.tokenizer() != tokenizer)
      throw RuntimeError(source.path + ": its manifest records tokenizer " + corpus.tokenizer() + ", but " +
                         tokenizer_spec + "'s records " + tokenizer);
    if (tokenizer.empty() && !corpus.tokenizer().empty()) {
      tokenizer = corpus.tokenizer();
      tokenizer_spec = source.path;
    }
    try {
      WindowSampler sampler(corpus.shard_tokens(), config.data.seq_len, order, stream_seed(config.train.seed, i), rank,
                            world_size);
      sources_.push_back({source.name, source.weight, std::move(corpus), std::move(sampler)});
    } catch (const RuntimeError& e) {
      throw RuntimeError(source.path + ": " + e.what());
    }
    total += source.weight;
    cumulative_.push_back(total);
  }
  for (double& bound : cumulative_) bound /= total;
  cumulative_.back() = 1.0;  // exact, whatever the rounding of the sum
}

size_t TrainingData::choose(int64_t window) const {
  const double u =
      static_cast<double>(splitmix64(choice_key_ + static_cast<uint64_t>(window)) >> 11) * 0x1.0p-53;  // [0, 1)
  size_t i = 0;
  while (u >= cumulative_[i]) ++i;
  return i;
}

Batch TrainingData::next_batch(int64_t count, int64_t vocab_size) {
  if (count < 1) throw UsageError("training data: a batch needs at least one window, got " + std::to_string(count));
  // Each window's source first, then each source's windows from its own sampler, put back in draw order.
  std::vector<std::vector<int64_t>> rows(sources_.size());  // the batch rows of each source
  for (int64_t b = 0; b < count; ++b) rows[choose(windows_ + b)].push_back(b);
  windows_ += count;
  std::vector<Batch> parts(sources_.size());
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (rows[i].empty()) continue;
    const auto n = static_cast<int64_t>(rows[i].size());
    sources_[i].drawn += n;
    parts[i] = read_batch(sources_[i].corpus, sources_[i].sampler.next(n), seq_len_, vocab_size);
    if (n == count) return parts[i];  // every row from one source: already in draw order
  }
  const auto options = torch::TensorOptions().dtype(torch::kInt64);
  Batch out;
  out.inputs = torch::empty({count, seq_len_}, options);  // [B, T]
  out.targets = torch::empty({count, seq_len_}, options);
  out.starts.resize(static_cast<size_t>(count));
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (rows[i].empty()) continue;
    const auto index = torch::tensor(rows[i], options);
    out.inputs.index_copy_(0, index, parts[i].inputs);
    out.targets.index_copy_(0, index, parts[i].targets);
    for (size_t j = 0; j < rows[i].size(); ++j) out.starts[static_cast<size_t>(rows[i][j])] = parts[i].starts[j];
  }
  return out;
}

json TrainingData::state() const {
  json sources = json::array();
  for (const auto& source : sources_)
    sources.push_back({{"name", source.name},
                       {"path", source.corpus.spec()},
                       {"drawn", source.drawn},
                       {"shards", shard_list(source.corpus)},
                       {"sampler", source.sampler.state()}});
  return {{"windows", windows_}, {"sources", sources}};
}

void TrainingData::restore(const json& state, const std::string& source) {
  const std::string where = source + ": data state";
  if (!state.is_object() || !state.contains("windows") || !state["windows"].is_number_integer() ||
      !state.contains("sources") || !state["sources"].is_array())
    throw RuntimeError(where + ": expected {\"windows\", \"sources\": [...]}");
  const json& saved = state["sources"];
  std::string saved_names, names;
  for (const auto& entry : saved) {
    if (!entry.is_object()) throw RuntimeError(where + ": sources: each entry must be a JSON object");
    const auto name = entry.find("name");
    saved_names += (saved_names.empty() ? "" : ", ") +
                   (name != entry.end() && name->is_string() ? name->get<std::string>() : std::string("?"));
  }
  for (const auto& s : sources_) names += (names.empty() ? "" : ", ") + s.name;
  const std::string fix = "; resume with the same data.train_path / data.train_sources";
  // The counts first: joined names alone cannot tell one source named "a, b" from two.
  if (saved.size() != sources_.size())
    throw RuntimeError(where + ": the run was trained on " + std::to_string(saved.size()) + " source(s) [" +
                       saved_names + "], this config has " + std::to_string(sources_.size()) + " [" + names + "]" +
                       fix);
  if (saved_names != names)
    throw RuntimeError(where + ": the run was trained on sources [" + saved_names + "], this config has [" + names +
                       "]" + fix);
  // Restore aside, so that a bad entry leaves every sampler as it was.
  std::vector<WindowSampler> samplers;
  std::vector<int64_t> drawn;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const json& entry = saved[i];
    const std::string change = shard_list_change(entry.value("shards", json()), shard_list(sources_[i].corpus));
    if (!change.empty())
      throw RuntimeError(where + ": source \"" + sources_[i].name + "\" (" + sources_[i].corpus.spec() +
                         ") changed since the checkpoint: " + change);
    if (!entry.contains("drawn") || !entry["drawn"].is_number_integer())
      throw RuntimeError(where + ": sources[" + std::to_string(i) + "].drawn must be an integer");
    samplers.push_back(sources_[i].sampler);
    samplers.back().restore(entry.value("sampler", json()), source);
    drawn.push_back(entry["drawn"].get<int64_t>());
  }
  for (size_t i = 0; i < sources_.size(); ++i) {
    sources_[i].sampler = std::move(samplers[i]);
    sources_[i].drawn = drawn[i];
  }
  windows_ = state["windows"].get<int64_t>();
}

}  // namespace cocomix
