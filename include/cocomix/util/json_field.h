// Reading one typed field of a JSON state file (trainer_state.json and the
// like) with an error that names the file and the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {

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
