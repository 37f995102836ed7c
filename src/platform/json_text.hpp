#pragma once
// JSON as text, never throwing: a string that is not UTF-8 (a config file, a scenario, a fault
// body, an answer can hold any bytes) shows U+FFFD where nlohmann's dump() throws type_error
// 316 (found by fuzz_config_loader and fuzz_jsonpath_matcher).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// JSON text read into a value, or a discarded value (is_discarded()) when it is not JSON.
// nlohmann's lexer takes a NUL byte for the end of its input, so "{\"a\":1}\0 {\"a\":99}" was
// read as {"a":1}: a request body, an answer or a token that a proxy, a log or the signer sees
// whole was read cut short. JSON text holds no NUL anywhere (inside a string it must be
// written \u0000), so one makes the whole text not JSON. Every parse of bytes from elsewhere
// goes through here (or through parse_json_limited, for request bodies).
inline nlohmann::json parse_json_or_discarded(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
}

}  // namespace shopctl::platform
