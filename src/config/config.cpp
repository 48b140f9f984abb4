// Config loading: one field list per section (visit_fields) drives both reading
// and writing, so a field cannot be parsed but forgotten in the saved config.
// Reading is strict: unknown keys, wrong JSON types and bad values are errors.
#include "cocomix/config/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>
#include <utility>

#include "cocomix/util/error.h"
#include "cocomix/util/log.h"
#include "cocomix/util/utf8.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

/// The config names of each enumeration, in declaration order.
const std::vector<std::pair<LabelSelection, const char*>>& names(LabelSelection*) {
  static const std::vector<std::pair<LabelSelection, const char*>> table = {
      {LabelSelection::kAttribution, "attribution"},
      {LabelSelection::kAttributionPre, "attribution_pre"},
      {LabelSelection::kActivation, "activation"}};
  return table;
}
const std::vector<std::pair<HiddenLoss, const char*>>& names(HiddenLoss*) {
  static const std::vector<std::pair<HiddenLoss, const char*>> table = {
      {HiddenLoss::kL1, "l1"}, {HiddenLoss::kL2, "l2"}, {HiddenLoss::kCosine, "cosine"}};
  return table;
}
const std::vector<std::pair<PausePosition, const char*>>& names(PausePosition*) {
  static const std::vector<std::pair<PausePosition, const char*>> table = {{PausePosition::kToken, "token"},
                                                                           {PausePosition::kNone, "none"}};
  return table;
}
const std::vector<std::pair<Mode, const char*>>& names(Mode*) {
  static const std::vector<std::pair<Mode, const char*>> table = [] {
    std::vector<std::pair<Mode, const char*>> rows;
    for (const auto& spec : mode_table()) rows.emplace_back(spec.mode, spec.name);
    return rows;
  }();
  return table;
}

template <typename E>
const char* enum_name(E value) {
  for (const auto& [v, name] : names(static_cast<E*>(nullptr)))
    if (v == value) return name;
  return "?";
}

/// "\"a\", \"b\" or \"c\"" for an error message.
template <typename E>
std::string enum_choices() {
  const auto& table = names(static_cast<E*>(nullptr));
  std::string out;
  for (size_t i = 0; i < table.size(); ++i) {
    if (i > 0) out += i + 1 == table.size() ? " or " : ", ";
    out += std::string("\"") + table[i].second + "\"";
  }
  return out;
}

std::string json_type_name(const json& value) { return value.type_name(); }

/// Reads the fields of one section, remembering which keys it consumed.
class SectionReader {
 public:
  SectionReader(const json& section, std::string source, std::string prefix)
      : section_(section), source_(std::move(source)), prefix_(std::move(prefix)) {}

  template <typename T>
  void operator()(const char* key, T& out) {
    seen_.push_back(key);
    const auto it = section_.find(key);
    if (it == section_.end()) return;
    read(*it, key, out);
  }

  /// Throws on keys the section does not define.
  void reject_unknown() const {
    for (const auto& item : section_.items()) {
      bool known = false;
      for (const auto& k : seen_) known = known || k == item.key();
      if (!known) fail(item.key(), "unknown key");
    }
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
    throw UsageError(source_ + ": " + prefix_ + "." + key + ": " + reason);
  }
  void expect(const json& v, bool ok, const char* key, const char* wanted) const {
    if (!ok) fail(key, std::string("expected ") + wanted + ", got " + json_type_name(v) + " " + v.dump());
  }
  void read(const json& v, const char* key, bool& out) const {
    expect(v, v.is_boolean(), key, "true or false");
    out = v.get<bool>();
  }
  void read(const json& v, const char* key, std::string& out) const {
    expect(v, v.is_string(), key, "a string");
    out = v.get<std::string>();
  }
  void read(const json& v, const char* key, double& out) const {
    expect(v, v.is_number(), key, "a number");
    out = v.get<double>();
    if (!std::isfinite(out)) fail(key, "must be finite");
  }
  void read(const json& v, const char* key, int64_t& out) const {
    // 1e3 is accepted when it is integral; 2.5 is not.
    if (v.is_number_float()) {
      const double d = v.get<double>();
      expect(v, std::floor(d) == d && std::fabs(d) < 9e15, key, "an integer");
      out = static_cast<int64_t>(d);
      return;
    }
    expect(v, v.is_number_integer(), key, "an integer");
    out = v.get<int64_t>();
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void read(const json& v, const char* key, E& out) const {
    expect(v, v.is_string(), key, "a string");
    const auto name = v.get<std::string>();
    for (const auto& [value, known] : names(static_cast<E*>(nullptr)))
      if (name == known) {
        out = value;
        return;
      }
    fail(key, "must be " + enum_choices<E>() + ", got \"" + name + "\"");
  }
  void read(const json& v, const char* key, std::vector<TrainSource>& out) const {
    expect(v, v.is_array(), key, "an array of {\"path\", \"weight\"} objects");
    out.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string item = std::string(key) + "[" + std::to_string(i) + "]";
      if (!v[i].is_object()) fail(item, "expected an object {\"path\", \"weight\"}, got " + v[i].dump());
      TrainSource source;
      SectionReader reader(v[i], source_, prefix_ + "." + item);
      reader("path", source.path);
      reader("weight", source.weight);
      reader("name", source.name);
      reader.reject_unknown();
      if (!v[i].contains("path")) fail(item + ".path", "required");
      out.push_back(std::move(source));
    }
  }
  void read(const json& v, const char* key, uint64_t& out) const {
    expect(v, v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0), key,
           "a non-negative integer");
    out = v.get<uint64_t>();
  }

  const json& section_;
  std::string source_;
  std::string prefix_;
  std::vector<std::string> seen_;
};

/// Writes fields into a JSON object.
class SectionWriter {
 public:
  explicit SectionWriter(json& out) : out_(out) {}
  template <typename T>
  void operator()(const char* key, const T& value) {
    if constexpr (std::is_enum_v<T>) {
      out_[key] = enum_name(value);
    } else if constexpr (std::is_same_v<T, std::vector<TrainSource>>) {
      json sources = json::array();
      for (const auto& source : value)
        sources.push_back({{"path", source.path}, {"weight", source.weight}, {"name", source.name}});
      out_[key] = sources;
    } else {
      out_[key] = value;
    }
  }

 private:
  json& out_;
};

template <typename V, typename M>
void visit_fields(M& c, V& v, ModelConfig*) {
  v("vocab_size", c.vocab_size);
  v("n_positions", c.n_positions);
  v("n_embd", c.n_embd);
  v("n_layer", c.n_layer);
  v("n_head", c.n_head);
  v("dropout", c.dropout);
  v("layer_norm_epsilon", c.layer_norm_epsilon);
  v("init_std", c.init_std);
}
template <typename V, typename D>
void visit_fields(D& c, V& v, DataConfig*) {
  v("train_path", c.train_path);
  v("train_sources", c.train_sources);
  v("val_path", c.val_path);
  v("format", c.format);
  v("seq_len", c.seq_len);
  v("sampling", c.sampling);
}
template <typename V, typename O>
void visit_fields(O& c, V& v, OptimConfig*) {
  v("lr", c.lr);
  v("min_lr", c.min_lr);
  v("warmup_steps", c.warmup_steps);
  v("beta1", c.beta1);
  v("beta2", c.beta2);
  v("eps", c.eps);
  v("weight_decay", c.weight_decay);
  v("decay_all_params", c.decay_all_params);
  v("grad_clip", c.grad_clip);
}
template <typename V, typename T>
void visit_fields(T& c, V& v, TrainConfig*) {
  v("batch_size", c.batch_size);
  v("grad_accum_steps", c.grad_accum_steps);
  v("max_steps", c.max_steps);
  v("seed", c.seed);
  v("device", c.device);
  v("precision", c.precision);
  v("threads", c.threads);
  v("tf32", c.tf32);
  v("checkpoint_every", c.checkpoint_every);
  v("keep_checkpoints", c.keep_checkpoints);
  v("max_nonfinite_steps", c.max_nonfinite_steps);
  v("activation_checkpointing", c.activation_checkpointing);
}
template <typename V, typename E>
void visit_fields(E& c, V& v, EvalConfig*) {
  v("every", c.every);
  v("max_batches", c.max_batches);
  v("batch_size", c.batch_size);
}
template <typename V, typename L>
void visit_fields(L& c, V& v, LogConfig*) {
  v("every", c.every);
  v("tensorboard", c.tensorboard);
  v("peak_flops", c.peak_flops);
}

template <typename V, typename K>
void visit_fields(K& c, V& v, ConceptConfig*) {
  v("mode", c.mode);
  v("teacher_path", c.teacher_path);
  v("sae_path", c.sae_path);
  v("n_concepts", c.n_concepts);
  v("insert_layer", c.insert_layer);
  v("k_pred", c.k_pred);
  v("k_attr", c.k_attr);
  v("weight", c.weight);
  v("selection", c.selection);
  v("teacher_precision", c.teacher_precision);
  v("label_cache", c.label_cache);
  v("kd_weight", c.kd_weight);
  v("kd_temperature", c.kd_temperature);
  v("teacher_layer", c.teacher_layer);
  v("teacher_n_embd", c.teacher_n_embd);
  v("hidden_mlp_width", c.hidden_mlp_width);
  v("hidden_loss", c.hidden_loss);
  v("pause_position", c.pause_position);
}

template <typename V, typename D>
void visit_fields(D& c, V& v, DistConfig*) {
  v("backend", c.backend);
  v("timeout_seconds", c.timeout_seconds);
  v("bucket_mb", c.bucket_mb);
  v("first_bucket_mb", c.first_bucket_mb);
}

/// Calls f(name, section) for every section of the config, in file order.
template <typename C, typename F>
void for_each_section(C& config, F&& f) {
  f("model", config.model);
  f("data", config.data);
  f("optim", config.optim);
  f("train", config.train);
  f("eval", config.eval);
  f("log", config.log);
  f("concept", config.concepts);
  f("dist", config.dist);
}

template <typename S>
using Plain = std::remove_const_t<S>;

/// Throws UsageError "source: key: reason" unless ok.
void require(bool ok, const std::string& source, const std::string& key, const std::string& reason) {
  if (!ok) throw UsageError(source + ": " + key + ": " + reason);
}

template <typename T>
std::string str(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void check_is_sections(const json& document, const std::string& source) {
  if (!document.is_object()) throw UsageError(source + ": the config must be a JSON object of sections");
}

}  // namespace

std::vector<TrainSource> DataConfig::sources() const {
  std::vector<TrainSource> out = train_sources;
  if (out.empty() && !train_path.empty()) out.push_back({train_path, 1.0, ""});
  for (auto& source : out) {
    if (!source.name.empty()) continue;
    // The file name, or the directory's name; a glob keeps its pattern's last part.
    std::string path = source.path;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const auto slash = path.find_last_of('/');
    source.name = slash == std::string::npos ? path : path.substr(slash + 1);
  }
  return out;
}

const char* name_of(LabelSelection selection) { return enum_name(selection); }
const char* name_of(HiddenLoss loss) { return enum_name(loss); }
const char* name_of(PausePosition position) { return enum_name(position); }
const char* name_of(Mode mode) { return mode_spec(mode).name; }

int64_t ConceptConfig::hidden_width(int64_t n_embd) const {
  return hidden_mlp_width > 0 ? hidden_mlp_width : 4 * n_embd;
}

Config config_from_json(const json& document, const std::string& source) {
  check_is_sections(document, source);
  Config config;
  config.source = source;
  std::vector<std::string> known;
  for_each_section(config, [&](const char* name, auto& section) {
    known.emplace_back(name);
    const auto it = document.find(name);
    if (it == document.end()) return;
    if (!it->is_object()) throw UsageError(source + ": " + name + ": expected an object, got " + it->type_name());
    SectionReader reader(*it, source, name);
    visit_fields(section, reader, static_cast<Plain<std::remove_reference_t<decltype(section)>>*>(nullptr));
    reader.reject_unknown();
  });
  for (const auto& item : document.items()) {
    bool ok = false;
    for (const auto& k : known) ok = ok || k == item.key();
    if (!ok)
      throw UsageError(source + ": " + item.key() +
                       ": unknown section (expected model, data, optim, train, eval, log, concept, dist)");
  }
  config.validate();
  return config;
}

json config_to_json(const Config& config) {
  json document = json::object();
  for_each_section(config, [&](const char* name, const auto& section) {
    json out = json::object();
    SectionWriter writer(out);
    visit_fields(section, writer, static_cast<Plain<std::remove_reference_t<decltype(section)>>*>(nullptr));
    document[name] = out;
  });
  return document;
}

std::string config_to_string(const Config& config) { return config_to_json(config).dump(2); }

void apply_override(json& document, const std::string& assignment, const std::string& source) {
  const auto eq = assignment.find('=');
  const std::string where = source + ": --set " + assignment;
  if (eq == std::string::npos || eq == 0) throw UsageError(where + ": expected section.key=value");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  // JSON strings are UTF-8: a value that is not could be stored but never written out again.
  if (!is_valid_utf8(text)) throw UsageError(source + ": --set " + path + ": the value is not valid UTF-8");
  const auto dot = path.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == path.size() || path.find('.', dot + 1) != std::string::npos)
    throw UsageError(where + ": the key must be section.key, like optim.lr");
  // A value that parses as JSON keeps its type (3e-4, true, "x"); anything else is a string.
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  json& section = document[path.substr(0, dot)];
  if (section.is_null()) section = json::object();
  if (!section.is_object()) throw UsageError(where + ": " + path.substr(0, dot) + " is not a section");
  section[path.substr(dot + 1)] = value;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw UsageError(path + ": cannot open the config file");
  if (std::filesystem::is_directory(path)) throw UsageError(path + ": is a directory, not a config file");
  json document = json::parse(in, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (document.is_discarded()) {
    // Re-parse with exceptions for the position of the syntax error.
    std::ifstream again(path);
    try {
      const auto ignored = json::parse(again, nullptr, true, true);
      (void)ignored;
    } catch (const json::exception& e) {  // a parse_error, or out_of_range for a number beyond a double
      throw UsageError(path + ": invalid JSON: " + e.what());
    }
    throw UsageError(path + ": invalid JSON");
  }
  check_is_sections(document, path);  // before an override indexes into it
  for (const auto& assignment : overrides) apply_override(document, assignment, path);
  return config_from_json(document, path);
}

void Config::validate() const {
  const auto& s = source;
  const auto& m = model;
  require(m.vocab_size > 0, s, "model.vocab_size", "must be positive, got " + str(m.vocab_size));
  require(m.vocab_size <= (int64_t{1} << 32), s, "model.vocab_size", "must fit in uint32 token files");
  require(m.n_positions > 0, s, "model.n_positions", "must be positive, got " + str(m.n_positions));
  require(m.n_embd > 0, s, "model.n_embd", "must be positive, got " + str(m.n_embd));
  require(m.n_layer > 0, s, "model.n_layer", "must be positive, got " + str(m.n_layer));
  require(m.n_head > 0, s, "model.n_head", "must be positive, got " + str(m.n_head));
  require(m.n_embd % m.n_head == 0, s, "model.n_head",
          str(m.n_head) + " heads do not divide model.n_embd = " + str(m.n_embd));
  require(m.dropout >= 0 && m.dropout < 1, s, "model.dropout", "must be in [0, 1), got " + str(m.dropout));
  require(m.layer_norm_epsilon > 0, s, "model.layer_norm_epsilon", "must be positive");
  require(m.init_std > 0, s, "model.init_std", "must be positive");

  require(data.format == "auto" || data.format == "llmc" || data.format == "u16", s, "data.format",
          "must be \"auto\", \"llmc\" or \"u16\", got \"" + data.format + "\"");
  require(data.seq_len > 0, s, "data.seq_len", "must be positive, got " + str(data.seq_len));
  require(data.train_path.empty() || data.train_sources.empty(), s, "data.train_sources",
          "give either data.train_path or data.train_sources, not both");
  for (size_t i = 0; i < data.train_sources.size(); ++i) {
    const auto& source = data.train_sources[i];
    const std::string key = "data.train_sources[" + str(i) + "]";
    require(!source.path.empty(), s, key + ".path", "must not be empty");
    require(source.weight > 0, s, key + ".weight",
            "must be positive (the expected share of training windows), got " + str(source.weight));
  }
  const auto sources = data.sources();
  for (size_t i = 0; i < sources.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      require(sources[i].name != sources[j].name, s, "data.train_sources[" + str(i) + "].name",
              "\"" + sources[i].name + "\" names two sources; give each a distinct name");
  require(data.seq_len <= m.n_positions, s, "data.seq_len",
          str(data.seq_len) + " exceeds model.n_positions = " + str(m.n_positions));
  require(data.sampling == "random" || data.sampling == "fixed" || data.sampling == "sequential", s, "data.sampling",
          "must be \"random\", \"fixed\" or \"sequential\", got \"" + data.sampling + "\"");

  const auto& o = optim;
  require(o.lr > 0, s, "optim.lr", "must be positive, got " + str(o.lr));
  require(o.min_lr >= 0 && o.min_lr <= o.lr, s, "optim.min_lr", "must be in [0, optim.lr], got " + str(o.min_lr));
  require(o.warmup_steps >= 0, s, "optim.warmup_steps", "must be >= 0, got " + str(o.warmup_steps));
  require(o.beta1 >= 0 && o.beta1 < 1, s, "optim.beta1", "must be in [0, 1), got " + str(o.beta1));
  require(o.beta2 >= 0 && o.beta2 < 1, s, "optim.beta2", "must be in [0, 1), got " + str(o.beta2));
  require(o.eps > 0, s, "optim.eps", "must be positive, got " + str(o.eps));
  require(o.weight_decay >= 0, s, "optim.weight_decay", "must be >= 0, got " + str(o.weight_decay));
  require(o.grad_clip >= 0, s, "optim.grad_clip", "must be >= 0 (0 disables), got " + str(o.grad_clip));

  const auto& t = train;
  require(t.batch_size > 0, s, "train.batch_size", "must be positive, got " + str(t.batch_size));
  require(t.grad_accum_steps > 0, s, "train.grad_accum_steps", "must be positive, got " + str(t.grad_accum_steps));
  require(t.max_steps > 0, s, "train.max_steps", "must be positive, got " + str(t.max_steps));
  require(o.warmup_steps <= t.max_steps, s, "optim.warmup_steps",
          str(o.warmup_steps) + " exceeds train.max_steps = " + str(t.max_steps));
  require(t.device == "cpu" || t.device == "cuda", s, "train.device",
          "must be \"cpu\" or \"cuda\", got \"" + t.device + "\"");
  require(t.precision == "auto" || t.precision == "bf16" || t.precision == "fp32", s, "train.precision",
          "must be \"auto\", \"bf16\" or \"fp32\", got \"" + t.precision + "\"");
  require(t.threads >= 0, s, "train.threads", "must be >= 0 (0 = every core), got " + str(t.threads));
  require(t.checkpoint_every >= 0, s, "train.checkpoint_every", "must be >= 0, got " + str(t.checkpoint_every));
  require(t.keep_checkpoints > 0, s, "train.keep_checkpoints", "must be positive, got " + str(t.keep_checkpoints));
  require(t.activation_checkpointing >= 0, s, "train.activation_checkpointing",
          "must be 0 (none), 1 (every block) or N (every N-th block), got " + str(t.activation_checkpointing));
  require(t.max_nonfinite_steps > 0, s, "train.max_nonfinite_steps",
          "must be positive, got " + str(t.max_nonfinite_steps));

  require(eval.every >= 0, s, "eval.every", "must be >= 0, got " + str(eval.every));
  require(eval.max_batches >= 0, s, "eval.max_batches", "must be >= 0, got " + str(eval.max_batches));
  require(eval.batch_size > 0, s, "eval.batch_size", "must be positive, got " + str(eval.batch_size));
  require(log.every > 0, s, "log.every", "must be positive, got " + str(log.every));
  require(log.peak_flops >= 0, s, "log.peak_flops", "must be >= 0 (0 = measure), got " + str(log.peak_flops));

  const auto& d = dist;
  require(d.backend == "auto" || d.backend == "gloo" || d.backend == "nccl", s, "dist.backend",
          "must be \"auto\", \"gloo\" or \"nccl\", got \"" + d.backend + "\"");
  require(d.backend != "nccl" || t.device == "cuda", s, "dist.backend",
          "\"nccl\" needs train.device \"cuda\" (use \"gloo\" or \"auto\" on CPU)");
  require(d.backend != "gloo" || t.device == "cpu", s, "dist.backend",
          "\"gloo\" is the CPU backend; with train.device \"cuda\" use \"nccl\" or \"auto\"");
  require(d.timeout_seconds > 0, s, "dist.timeout_seconds", "must be positive, got " + str(d.timeout_seconds));
  require(d.bucket_mb > 0, s, "dist.bucket_mb", "must be positive, got " + str(d.bucket_mb));
  require(d.first_bucket_mb > 0, s, "dist.first_bucket_mb", "must be positive, got " + str(d.first_bucket_mb));

  const auto& k = concepts;
  const ModeSpec& mode = k.spec();
  const std::string quoted_mode = std::string("mode \"") + mode.name + "\"";
  if (mode.next_token_only()) {
    if (config_to_json(*this)["concept"] != config_to_json(Config{})["concept"])
      log_warn(s + ": concept: fields other than mode are ignored in " + quoted_mode);
    return;
  }
  if (mode.needs_teacher(/*labels_from_cache=*/false))
    require(!k.teacher_path.empty(), s, "concept.teacher_path", quoted_mode + " needs a teacher directory");
  if (mode.hidden_target) {
    require(k.teacher_layer > 0, s, "concept.teacher_layer",
            "mode \"hidden_prediction\" needs the teacher block L_t whose output is the target (1 = the first), got " +
                str(k.teacher_layer));
    require(k.teacher_n_embd > 0, s, "concept.teacher_n_embd",
            "mode \"hidden_prediction\" needs the teacher's width d_t (its n_embd, 768 for GPT-2 small), got " +
                str(k.teacher_n_embd));
    require(k.sae_path.empty(), s, "concept.sae_path",
            "mode \"hidden_prediction\" uses no SAE (L_t is concept.teacher_layer); remove it");
  } else {
    require(k.teacher_layer == 0, s, "concept.teacher_layer",
            std::string("only mode \"hidden_prediction\" reads it, not \"") + mode.name +
                "\" (the concept modes take L_t from the SAE's sae.json)");
  }
  require(k.teacher_n_embd >= 0, s, "concept.teacher_n_embd", "must be >= 0, got " + str(k.teacher_n_embd));
  require(k.hidden_mlp_width >= 0, s, "concept.hidden_mlp_width",
          "must be >= 0 (0 = 4·model.n_embd), got " + str(k.hidden_mlp_width));
  if (mode.concept_loss)
    require(!k.sae_path.empty(), s, "concept.sae_path", quoted_mode + " needs the teacher's SAE directory");
  require(k.n_concepts > 0, s, "concept.n_concepts", "must be positive, got " + str(k.n_concepts));
  require(k.insert_layer >= 0 && k.insert_layer < m.n_layer, s, "concept.insert_layer",
          "must be in [0, model.n_layer = " + str(m.n_layer) + "), got " + str(k.insert_layer));
  require(k.k_pred > 0 && k.k_pred <= k.n_concepts, s, "concept.k_pred",
          "must be in [1, concept.n_concepts = " + str(k.n_concepts) + "], got " + str(k.k_pred));
  require(k.k_attr > 0 && k.k_attr <= k.n_concepts, s, "concept.k_attr",
          "must be in [1, concept.n_concepts = " + str(k.n_concepts) + "], got " + str(k.k_attr));
  require(k.weight >= 0, s, "concept.weight", "must be >= 0, got " + str(k.weight));
  require(k.teacher_precision == "fp32" || k.teacher_precision == "tf32" || k.teacher_precision == "bf16", s,
          "concept.teacher_precision", "must be \"fp32\", \"tf32\" or \"bf16\", got \"" + k.teacher_precision + "\"");
  require(k.kd_weight >= 0 && k.kd_weight <= 1, s, "concept.kd_weight", "must be in [0, 1], got " + str(k.kd_weight));
  require(k.kd_temperature > 0, s, "concept.kd_temperature", "must be positive, got " + str(k.kd_temperature));
  require(data.seq_len >= 2, s, "data.seq_len", "concept labels need windows of at least 2 tokens");
  require(k.label_cache.empty() || mode.concept_loss, s, "concept.label_cache",
          quoted_mode + " has no concept labels to read from a cache");
  require(k.label_cache.empty() || data.train_sources.empty(), s, "concept.label_cache",
          "a cache covers one corpus (data.train_path); a data.train_sources mixture labels with the teacher");
}

}  // namespace cocomix
