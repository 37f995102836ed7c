#pragma once
// JSON as text, never throwing: a string that is not UTF-8 (a config file, a scenario, a fault
// body, an answer can hold any bytes) shows U+FFFD where nlohmann's dump() throws type_error
// 316 (found by fuzz_config_loader and fuzz_jsonpath_matcher).
#include <string>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace shopctl::platform
