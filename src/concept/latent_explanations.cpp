// read_latent_explanations: the JSON of `cocomix-sae explain`, checked field by field.
#include "cocomix/concept/latent_explanations.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cocomix/util/error.h"
#include "cocomix/util/json_field.h"

namespace cocomix {

namespace {

/// `text` with newlines and tabs visible, on one line.
std::string one_line(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out;
}

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

/// The last (or first) ~`bytes` bytes of `text`, never splitting a UTF-8 character.
std::string tail_of(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t begin = text.size() - bytes;
  while (begin < text.size() && is_continuation_byte(text[begin])) ++begin;
  return "..." + text.substr(begin);
}
std::string head_of(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t end = bytes;
  while (end > 0 && is_continuation_byte(text[end])) --end;
  return text.substr(0, end) + "...";
}

}  // namespace

void check_latent_count(const LatentExplanations& explanations, int64_t n_concepts, const std::string& checkpoint_dir,
                        const std::string& flag) {
  if (explanations.n_latents != n_concepts)
    throw UsageError(flag + ": " + explanations.path + ": n_latents " + std::to_string(explanations.n_latents) +
                     " differs from the concept head's C = " + std::to_string(n_concepts) + " (" + checkpoint_dir +
                     "); give the explanations of the SAE this checkpoint was trained with");
}

std::string one_line_snippet(const ExplainedSnippet& snippet, size_t context_bytes) {
  return one_line(tail_of(snippet.before, context_bytes) + "[" + snippet.token + "]" +
                  head_of(snippet.after, context_bytes));
}

LatentExplanations read_latent_explanations(const std::string& path, const std::string& flag) {
  const auto fail = [&](const std::string& what) { throw UsageError(flag + ": " + path + ": " + what); };
  if (!std::filesystem::is_regular_file(path)) fail("no such file");
  std::ifstream in(path);
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("not JSON (") + e.what() + ")");
  }
  LatentExplanations out;
  out.path = path;
  try {
    out.n_latents = json_integer(document.at("n_latents"), "n_latents");
    if (out.n_latents < 1) fail("n_latents: " + std::to_string(out.n_latents) + " is not positive");
    out.latents.resize(static_cast<size_t>(out.n_latents));
    for (const auto& entry : document.at("latents")) {
      const auto id = json_integer(entry.at("id"), "latent id");
      if (id < 0 || id >= out.n_latents)
        fail("latent id " + std::to_string(id) + " is outside [0, " + std::to_string(out.n_latents) + ")");
      ExplainedLatent& latent = out.latents[static_cast<size_t>(id)];
      if (latent.id >= 0) fail("latent id " + std::to_string(id) + " appears twice");
      latent.id = id;
      latent.density = entry.at("density").get<double>();
      latent.mean_activation = entry.at("mean_activation").get<double>();
      latent.max_activation = entry.at("max_activation").get<double>();
      for (const auto& top : entry.at("top"))
        latent.top.push_back({top.at("activation").get<double>(), json_integer(top.at("index"), "top index"),
                              top.at("before").get<std::string>(), top.at("token").get<std::string>(),
                              top.at("after").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("not the schema of cocomix-sae explain (") + e.what() + ")");
  } catch (const RuntimeError& e) {  // json_integer's "FIELD: expected an integer, got ..."
    fail(e.what());
  }
  return out;
}

}  // namespace cocomix
