#pragma once
// The JSONPath subset that scenario expectations and captures use: `$`, `.key`, `['key']`
// (or `["key"]`), `[0]` and `[-1]` (counted from the end). No wildcards, filters or `..`.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::scenario {

// A syntax error in a JSONPath; offset() is the byte of the text where it was noticed.
class JsonPathError : public std::invalid_argument {
 public:
  JsonPathError(std::size_t offset, const std::string& message)
      : std::invalid_argument(message), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

class JsonPath {
 public:
  // One step down: an object member or an array element (negative counts from the end).
  using Segment = std::variant<std::string, std::int64_t>;

  // The root, `$`.
  JsonPath() = default;

  // Returns the compiled path, or throws JsonPathError.
  static JsonPath parse(std::string_view text);

  // Returns a pointer to the addressed value inside `document`, or nullptr when any step is
  // missing (absent key, index out of range, or a step into a value of the wrong kind).
  const nlohmann::json* find(const nlohmann::json& document) const;
  // Returns a copy of the addressed value, or nullopt when it is missing. Never throws.
  std::optional<nlohmann::json> evaluate(const nlohmann::json& document) const;

  // The text the path was written as ("$" for the root).
  const std::string& text() const { return text_; }
  const std::vector<Segment>& segments() const { return segments_; }

  friend bool operator==(const JsonPath& a, const JsonPath& b) {
    return a.segments_ == b.segments_;
  }

 private:
  std::string text_ = "$";
  std::vector<Segment> segments_;
};

}  // namespace shopctl::scenario
