// Reading JSON files (trainer_state.json, sae.json, config.json and the like)
// and their typed fields, with errors that name the file and the key.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

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

/// `value` as a 64-bit integer: a JSON integer within int64's range. nlohmann's own get<int64_t>
/// would also take 1.5 (truncated), true (1) and 1e21 (undefined behaviour). Throws RuntimeError
/// "WHERE: expected an integer, got VALUE" or "WHERE: VALUE is out of range".
inline int64_t json_integer(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_integer()) throw RuntimeError(where + ": expected an integer, got " + value.dump());
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw RuntimeError(where + ": " + value.dump() + " is out of range");
  return value.get<int64_t>();
}

/// state[key] as T (an int64_t as json_integer reads it). Throws RuntimeError "SOURCE: KEY:
/// missing", "SOURCE: KEY: wrong type" or json_integer's errors.
template <typename T>
T json_field(const nlohmann::json& state, const char* key, const std::string& source) {
  if (!state.contains(key)) throw RuntimeError(source + ": " + key + ": missing");
  static_assert(!std::is_integral_v<T> || std::is_same_v<T, bool> || std::is_same_v<T, int64_t>,
                "integers are read as int64_t, range-checked by json_integer");
  if constexpr (std::is_same_v<T, int64_t>) {
    return json_integer(state.at(key), source + ": " + key);
  } else {
    try {
      return state.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      throw RuntimeError(source + ": " + key + ": wrong type");
    }
  }
}

}  // namespace cocomix
