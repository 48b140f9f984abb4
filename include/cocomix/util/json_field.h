// Reading JSON files (trainer_state.json, sae.json, config.json and the like)
// and their typed fields, with errors that name the file and the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {

/// The JSON document in the file at `path`. Throws RuntimeError "PATH: not valid JSON (...)", or
/// read_whole_file's error when the file cannot be read.
inline nlohmann::json read_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_whole_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(path + ": not valid JSON (" + e.what() + ")");
  }
}

/// state[key] as T. Throws RuntimeError "SOURCE: KEY: missing" or "SOURCE: KEY: wrong type".
template <typename T>
T json_field(const nlohmann::json& state, const char* key, const std::string& source) {
  if (!state.contains(key)) throw RuntimeError(source + ": " + key + ": missing");
  try {
    return state.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw RuntimeError(source + ": " + key + ": wrong type");
  }
}

}  // namespace cocomix
