// read_latent_descriptions: latents.json into per-id descriptions.
#include "cocomix/concept/latent_descriptions.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "cocomix/util/error.h"

namespace cocomix {

namespace {

using json = nlohmann::json;

template <typename T>
T field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) throw UsageError(where + ": " + key + ": missing");
  try {
    return object.at(key).get<T>();
  } catch (const json::exception&) {
    throw UsageError(where + ": " + key + ": wrong type");
  }
}

}  // namespace

std::vector<LatentDescription> read_latent_descriptions(const std::string& path, int64_t expected_latents) {
  std::ifstream in(path);
  if (!in) throw UsageError(path + ": cannot open");
  const json document = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) throw UsageError(path + ": not JSON (expected cocomix-sae explain's latents.json)");
  const auto n_latents = field<int64_t>(document, "n_latents", path);
  if (expected_latents > 0 && n_latents != expected_latents)
    throw UsageError(path + ": n_latents: " + std::to_string(n_latents) + " differs from the model's " +
                     std::to_string(expected_latents) + " concepts");
  const auto latents = field<json>(document, "latents", path);
  if (!latents.is_array() || static_cast<int64_t>(latents.size()) != n_latents)
    throw UsageError(path + ": latents: expected an array of n_latents = " + std::to_string(n_latents) + " entries");
  std::vector<LatentDescription> out(static_cast<size_t>(n_latents));
  for (const auto& latent : latents) {
    const auto id = field<int64_t>(latent, "id", path + ": latents[]");
    const std::string where = path + ": latents[" + std::to_string(id) + "]";
    if (id < 0 || id >= n_latents) throw UsageError(where + ": id: outside [0, n_latents)");
    auto& description = out[static_cast<size_t>(id)];
    description.density = field<double>(latent, "density", where);
    for (const auto& entry : field<json>(latent, "top", where)) {
      description.top.push_back(
          {field<double>(entry, "activation", where + ".top[]"), field<std::string>(entry, "before", where + ".top[]"),
           field<std::string>(entry, "token", where + ".top[]"), field<std::string>(entry, "after", where + ".top[]")});
    }
  }
  return out;
}

std::string one_line_snippet(const LatentSnippet& snippet) {
  std::string text = snippet.before + "[" + snippet.token + "]" + snippet.after;
  std::string out;
  for (const char c : text) {
    if (c == '\n')
      out += "\u23CE";
    else if (c == '\r' || c == '\t')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace cocomix
