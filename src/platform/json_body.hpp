#pragma once
// Reading request bodies safely: content type, the contract's JSON limits (nesting 64,
// strings 10,000 characters) and typed field access that answers 400 with the field's name.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "platform/http/message.hpp"

namespace shopctl::platform {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr std::size_t kMaxJsonString = 10'000;
// Values and keys in one body. No request of the API comes near it (a cart line, a login, a
// fault: a dozen); without it a 1 MiB body of `[]` or of numbers cost 120 ms of CPU to parse
// into a document of 300,000 values, with no token needed (POST /api/auth/login).
inline constexpr std::size_t kMaxJsonValues = 10'000;

// Characters (Unicode code points) in UTF-8 text: every byte that does not continue a
// sequence. The limits that say "characters" count these; nlohmann has checked the encoding.
inline std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Parses `text` as JSON within the limits. Throws ApiError 400 invalid_json (with where it
// failed) or 400 json_too_deep / string_too_long / json_too_many_values.
nlohmann::json parse_json_limited(std::string_view text);

// The request's body as a JSON object. Throws 415 unsupported_media_type when a body comes
// with another content type, 400 invalid_json, 400 invalid_body when it is not an object.
// An empty body is an empty object.
nlohmann::json json_object_body(const http::Request& req);
// Throws 400 invalid_body naming the first key of `obj` that is not one of `known`: an
// operator's typo ({"price_cent": 0}) was taken with 200 and did nothing. `shape` says what
// the body holds, for the message ("{\"by\": ...} or {\"to_offset_ns\": ...}").
void refuse_unknown_keys(const nlohmann::json& obj, std::initializer_list<std::string_view> known,
                         std::string_view shape);

// Field access on a JSON object; each throws ApiError 400 `invalid_field` (or `missing_field`)
// whose details name the field and what was expected.
std::string required_string(const nlohmann::json& obj, std::string_view field,
                            std::size_t max_length = kMaxJsonString);
std::optional<std::string> optional_string(const nlohmann::json& obj, std::string_view field,
                                           std::size_t max_length = kMaxJsonString);
std::int64_t required_integer(const nlohmann::json& obj, std::string_view field);
// The same within [min, max] (min <= max, max >= 0): anything else is 400 invalid_field
// "FIELD must be an integer from MIN to MAX", with min and max in the details.
std::int64_t required_integer(const nlohmann::json& obj, std::string_view field, std::int64_t min,
                              std::int64_t max);

}  // namespace shopctl::platform
