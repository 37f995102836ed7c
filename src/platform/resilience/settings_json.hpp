#pragma once
// Strict readers for resilience settings given as JSON (or YAML turned into JSON). Every
// problem throws std::invalid_argument naming the setting, so a bad scenario or config file
// is refused with a message that points at the line to fix.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "platform/duration.hpp"
#include "platform/json_text.hpp"

namespace shopctl::platform::resilience::detail {

[[noreturn]] inline void refuse(std::string_view what, std::string_view key,
                                std::string_view problem, const nlohmann::json& got) {
  throw std::invalid_argument(std::string(what) + " setting '" + std::string(key) + "' " +
                              std::string(problem) + ", got " + json_text(got));
}

// Throws unless `j` is an object whose keys are all in `known`.
inline void require_known_keys(const nlohmann::json& j, std::string_view what,
                               std::initializer_list<std::string_view> known) {
  if (!j.is_object()) {
    throw std::invalid_argument(std::string(what) + " settings must be an object, got " +
                                std::string(j.type_name()));
  }
  for (const auto& [key, value] : j.items()) {
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == key;
    if (!is_known) {
      throw std::invalid_argument("unknown " + std::string(what) + " setting '" + key + "'");
    }
  }
}

// Returns an integer in [min, max]; floats, booleans and strings are refused.
inline std::int64_t read_integer(const nlohmann::json& v, std::string_view what,
                                 std::string_view key, std::int64_t min, std::int64_t max) {
  const std::string range =
      "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v.is_number_integer()) refuse(what, key, range, v);
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    refuse(what, key, range, v);
  }
  const auto value = v.get<std::int64_t>();
  if (value < min || value > max) refuse(what, key, range, v);
  return value;
}

// Returns a number in (min, max] or [min, max] as `min_inclusive` says.
inline double read_number(const nlohmann::json& v, std::string_view what, std::string_view key,
                          double min, bool min_inclusive, double max, std::string_view range) {
  if (!v.is_number()) refuse(what, key, range, v);
  const auto value = v.get<double>();
  const bool above_min = min_inclusive ? value >= min : value > min;
  if (!above_min || !(value <= max)) refuse(what, key, range, v);
  return value;
}

inline bool read_bool(const nlohmann::json& v, std::string_view what, std::string_view key) {
  if (!v.is_boolean()) refuse(what, key, "must be true or false", v);
  return v.get<bool>();
}

inline std::string read_string(const nlohmann::json& v, std::string_view what, std::string_view key,
                               std::string_view expectation) {
  if (!v.is_string()) refuse(what, key, expectation, v);
  return v.get<std::string>();
}

// Returns a duration written as a string such as "250ms", "30s", "1.5m" or "2h".
inline std::chrono::nanoseconds read_duration(const nlohmann::json& v, std::string_view what,
                                              std::string_view key) {
  constexpr std::string_view kExpectation =
      "must be a duration string such as \"250ms\", \"30s\", \"1.5m\" or \"2h\"";
  if (!v.is_string()) refuse(what, key, kExpectation, v);
  const auto d = parse_duration(v.get<std::string>());
  if (!d) refuse(what, key, kExpectation, v);
  // Whole milliseconds, as every other duration setting (configuration.md): "1.9999999s" was
  // taken, and shown as "1999.9999ms" (an outside probe).
  if (*d % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0))
    refuse(what, key, "must be a whole number of milliseconds (1ms, 250ms, 2s)", v);
  return *d;
}

}  // namespace shopctl::platform::resilience::detail
