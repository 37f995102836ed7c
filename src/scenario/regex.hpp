#pragma once
// Regular expressions for `matches:` (ECMAScript syntax, searched anywhere in the value).
#include <cstddef>
#include <memory>
#include <regex>
#include <string>

namespace shopctl::scenario {

// libstdc++ compiles a pattern by recursion, a level per group and per term, so a long or
// deeply nested pattern overflows the stack; such patterns are refused before compiling.
inline constexpr std::size_t kMaxRegexLength = 2000;  // characters of the pattern
inline constexpr int kMaxRegexNesting = 32;           // groups inside groups

// A pattern refused for its size; still a std::regex_error, so callers catch one type.
class RegexTooComplex : public std::regex_error {
 public:
  explicit RegexTooComplex(std::string message)
      : std::regex_error(std::regex_constants::error_complexity), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// Returns the compiled pattern; throws RegexTooComplex when it is longer than kMaxRegexLength or
// nests groups deeper than kMaxRegexNesting, or std::regex_error when it is not a regex.
std::shared_ptr<const std::regex> compile_regex(const std::string& pattern);

}  // namespace shopctl::scenario
