// explain_latents: one streaming pass keeps every latent's top-N in a bounded
// heap and its firing counts; a second pass reads only the kept positions' text.
#include "cocomix/concept/latent_dashboard.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "cocomix/concept/latent_dashboard_page.h"
#include "cocomix/concept/sae_evaluation.h"
#include "cocomix/concept/sae_losses.h"
#include "cocomix/data/recorded_tokenizer.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"

namespace cocomix {
namespace {

/// One kept activation of a latent.
struct Kept {
  float activation;
  int64_t index;
};

/// `a` ranks above `b`: a higher activation, or the same one earlier in the file.
bool ranks_above(const Kept& a, const Kept& b) {
  return a.activation > b.activation || (a.activation == b.activation && a.index < b.index);
}

/// Every latent's N best activations and its firing count, sum and max. Each
/// latent's entries form a heap whose front is its lowest-ranked entry, the one a
/// better activation replaces, so memory stays C x N.
class LatentTally {
 public:
  LatentTally(int64_t n_latents, int64_t top)
      : top_(static_cast<size_t>(top)),
        heaps_(static_cast<size_t>(n_latents)),
        fired_(static_cast<size_t>(n_latents), 0),
        sums_(static_cast<size_t>(n_latents), 0.0),
        maxima_(static_cast<size_t>(n_latents), 0.0f) {}

  void add(int64_t latent, float activation, int64_t index) {
    const auto i = static_cast<size_t>(latent);
    ++fired_[i];
    sums_[i] += activation;
    maxima_[i] = std::max(maxima_[i], activation);
    auto& heap = heaps_[i];
    const Kept entry{activation, index};
    if (heap.size() < top_) {
      heap.push_back(entry);
      std::push_heap(heap.begin(), heap.end(), ranks_above);
    } else if (ranks_above(entry, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), ranks_above);
      heap.back() = entry;
      std::push_heap(heap.begin(), heap.end(), ranks_above);
    }
  }

  /// Latent `latent`'s entries, best first (consumes its heap).
  std::vector<Kept> take_sorted(int64_t latent) {
    auto heap = std::move(heaps_[static_cast<size_t>(latent)]);
    std::sort_heap(heap.begin(), heap.end(), ranks_above);
    return heap;
  }
  int64_t fired(int64_t latent) const { return fired_[static_cast<size_t>(latent)]; }
  double sum(int64_t latent) const { return sums_[static_cast<size_t>(latent)]; }
  float maximum(int64_t latent) const { return maxima_[static_cast<size_t>(latent)]; }

 private:
  size_t top_;
  std::vector<std::vector<Kept>> heaps_;
  std::vector<int64_t> fired_;
  std::vector<double> sums_;
  std::vector<float> maxima_;
};

/// Corpus tokens [begin, begin + windows * length), all in one shard, as
/// [windows, length] int64, every id checked against the teacher's vocabulary.
torch::Tensor read_windows(const TokenCorpus& corpus, int64_t begin, int64_t windows, int64_t length,
                           int64_t vocab_size) {
  auto ids = torch::empty({windows, length}, torch::kInt64);  // [B, T]
  int64_t* data = ids.data_ptr<int64_t>();
  corpus.read(begin, windows * length, data);
  for (int64_t i = 0; i < windows * length; ++i)
    if (data[i] >= vocab_size)
      throw RuntimeError(corpus.locate(begin + i) + ": token id " + std::to_string(data[i]) +
                         " is >= the teacher's vocab_size " + std::to_string(vocab_size));
  return ids;
}

/// The ids of corpus tokens [begin, end), all in one shard.
std::vector<int64_t> read_ids(const TokenCorpus& corpus, int64_t begin, int64_t end) {
  std::vector<int64_t> ids(static_cast<size_t>(end - begin));
  if (end > begin) corpus.read(begin, end - begin, ids.data());
  return ids;
}

void check_options(const LatentDashboardOptions& o) {
  const auto at_least = [](int64_t value, int64_t minimum, const char* flag) {
    if (value < minimum)
      throw UsageError(std::string(flag) + ": must be at least " + std::to_string(minimum) + ", got " +
                       std::to_string(value));
  };
  at_least(o.top, 1, "--top");
  at_least(o.context_before, 0, "--context-before");
  at_least(o.context_after, 0, "--context-after");
  at_least(o.seq_len, 1, "--seq-len");
  at_least(o.batch, 1, "--batch");
  at_least(o.max_tokens, 0, "--max-tokens");
}

}  // namespace

LatentDashboard explain_latents(GPTImpl& teacher, TopKSaeImpl& sae, const TokenCorpus& corpus, const TextCodec& codec,
                                const LatentDashboardOptions& options) {
  check_options(options);
  const auto& info = sae.info();
  const auto& tc = teacher.config();
  check_sae_fits_teacher(info, tc, "explain_latents");
  if (options.seq_len > tc.n_positions)
    throw UsageError("--seq-len: " + std::to_string(options.seq_len) + " exceeds the teacher's n_positions " +
                     std::to_string(tc.n_positions));
  const int64_t tokens = options.max_tokens > 0 ? std::min(corpus.size(), options.max_tokens) : corpus.size();
  if (tokens == 0) throw UsageError("--data: " + corpus.spec() + ": holds no tokens");
  // The end of the shard holding corpus token `index`, within the first `tokens`.
  const auto shard_end = [&](int64_t index) {
    const size_t shard = corpus.shard_of(index);
    return std::min(tokens, corpus.shard_begin(shard) + corpus.shards()[shard].layout.tokens);
  };

  torch::NoGradGuard no_grad;
  LatentTally tally(info.n_latents, options.top);
  for (int64_t begin = 0; begin < tokens;) {
    const int64_t end = shard_end(begin);  // windows stay inside one shard
    const int64_t length = std::min(options.seq_len, end - begin);
    const int64_t windows = length < options.seq_len ? 1 : std::min(options.batch, (end - begin) / length);
    const auto inputs = read_windows(corpus, begin, windows, length, tc.vocab_size);
    const auto h = teacher.hidden_after(inputs, info.layer).reshape({-1, info.d});  // [B*T, d]
    const auto code = sae.encode_kept(h);
    const auto kept = code.kept.contiguous();                          // [B*T, k]
    const auto values = code.values.to(torch::kFloat32).contiguous();  // [B*T, k]
    const auto kept_rows = kept.accessor<int64_t, 2>();
    const auto value_rows = values.accessor<float, 2>();
    for (int64_t row = 0; row < kept.size(0); ++row)
      for (int64_t j = 0; j < kept.size(1); ++j)
        if (value_rows[row][j] > kLatentFiredThreshold) tally.add(kept_rows[row][j], value_rows[row][j], begin + row);
    begin += windows * length;
  }

  LatentDashboard dashboard;
  dashboard.layer = info.layer;
  dashboard.n_latents = info.n_latents;
  dashboard.k = info.k;
  dashboard.tokens = tokens;
  dashboard.top = options.top;
  dashboard.latents.resize(static_cast<size_t>(info.n_latents));
  for (int64_t latent = 0; latent < info.n_latents; ++latent) {
    auto& summary = dashboard.latents[static_cast<size_t>(latent)];
    summary.id = latent;
    const int64_t fired = tally.fired(latent);
    summary.density = static_cast<double>(fired) / static_cast<double>(tokens);
    summary.mean_activation = fired > 0 ? tally.sum(latent) / static_cast<double>(fired) : 0.0;
    summary.max_activation = tally.maximum(latent);
    for (const auto& entry : tally.take_sorted(latent)) {
      ExplainedSnippet example;
      example.activation = entry.activation;
      example.index = entry.index;
      const size_t shard = corpus.shard_of(entry.index);  // the context stays inside the token's shard
      const int64_t first = std::max(corpus.shard_begin(shard), entry.index - options.context_before);
      const int64_t last = std::min(shard_end(entry.index), entry.index + 1 + options.context_after);
      example.before = codec.decode(read_ids(corpus, first, entry.index));
      example.token = codec.decode(read_ids(corpus, entry.index, entry.index + 1));
      example.after = codec.decode(read_ids(corpus, entry.index + 1, last));
      summary.top.push_back(std::move(example));
    }
  }
  return dashboard;
}

nlohmann::json latent_dashboard_json(const LatentDashboard& dashboard, const std::string& sae_dir,
                                     const std::string& teacher_dir, const std::string& data_path) {
  nlohmann::json latents = nlohmann::json::array();
  for (const auto& summary : dashboard.latents) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& example : summary.top)
      top.push_back({{"activation", example.activation},
                     {"index", example.index},
                     {"before", example.before},
                     {"token", example.token},
                     {"after", example.after}});
    latents.push_back({{"id", summary.id},
                       {"density", summary.density},
                       {"mean_activation", summary.mean_activation},
                       {"max_activation", summary.max_activation},
                       {"top", std::move(top)}});
  }
  return {{"sae", sae_dir},
          {"teacher", teacher_dir},
          {"data", data_path},
          {"layer", dashboard.layer},
          {"n_latents", dashboard.n_latents},
          {"k", dashboard.k},
          {"tokens", dashboard.tokens},
          {"top", dashboard.top},
          {"latents", std::move(latents)}};
}

void write_latent_dashboard(const nlohmann::json& document, const std::string& out_dir) {
  ensure_writable_directory(out_dir);
  const auto text = document.dump(1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  write_file_atomically((std::filesystem::path(out_dir) / "latents.json").string(), text + "\n");
  write_file_atomically((std::filesystem::path(out_dir) / "index.html").string(), latent_dashboard_page(document));
}

nlohmann::json explain_sae_latents(const ExplainCommand& command) {
  check_options(command.options);
  namespace fs = std::filesystem;
  if (!fs::exists(command.data_path) && command.data_path.find_first_of("*?[") == std::string::npos)
    throw UsageError("--data: " + command.data_path + ": no such file or directory");
  const auto corpus = [&] {
    try {
      return TokenCorpus::open(command.data_path, "val", command.format);
    } catch (const RuntimeError& e) {
      throw UsageError(std::string("--data: ") + e.what());
    }
  }();
  if (corpus.size() == 0) throw UsageError("--data: " + command.data_path + ": holds no tokens");
  if (!fs::is_directory(command.teacher_dir))
    throw UsageError("--teacher: " + command.teacher_dir + ": no such directory");
  auto [sae, teacher] = load_sae_with_teacher(command.sae_dir, command.teacher_dir, command.options.seq_len);
  const int64_t vocab = teacher->config().vocab_size;
  const auto codec = make_text_codec(
      vocab, command.tokenizer_dir, [&] { return recorded_gpt2_tokenizer_of(command.data_path); },
      "the teacher has " + std::to_string(vocab) + " token ids and no manifest.json beside " + command.data_path +
          " names GPT-2 tokenizer files");
  ensure_writable_directory(command.out_dir);
  const auto dashboard = explain_latents(*teacher, *sae, corpus, codec, command.options);
  int64_t dead = 0;
  for (const auto& summary : dashboard.latents) dead += summary.top.empty() ? 1 : 0;
  log_info("explained " + std::to_string(dashboard.n_latents) + " latents over " + std::to_string(dashboard.tokens) +
           " tokens (" + std::to_string(dead) + " never fired)");
  auto document = latent_dashboard_json(dashboard, command.sae_dir, command.teacher_dir, command.data_path);
  write_latent_dashboard(document, command.out_dir);
  return document;
}

}  // namespace cocomix
