#pragma once
// Regular expressions for `matches:` and the JSON Schema `pattern`: RE2 syntax, searched
// anywhere in the value (https://github.com/google/re2/wiki/Syntax). RE2 matches in time
// linear in the subject and never recurses on it, so no answer, however long, can crash or
// hang a check (std::regex took a stack frame per character: 100,000 of them overflowed the
// stack). In exchange it has no lookaround and no backreferences; such patterns are refused.
// re2/re2.h stays in regex.cpp: callers hold and match compiled patterns through this header.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace shopctl::scenario {

// Characters of a pattern: a scenario's pattern is short; one of thousands is a mistake.
inline constexpr std::size_t kMaxRegexLength = 2000;
// RE2's memory for one compiled pattern and its match caches (RE2's own default): a pattern
// whose program does not fit is refused ("pattern too large"), matching stays linear.
inline constexpr std::int64_t kRegexMaxMemory = 8 << 20;

// A pattern that is not a regex RE2 accepts. what() names the problem in RE2's words and says
// that the syntax is RE2's.
class RegexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A pattern refused for its size: longer than kMaxRegexLength, or too large once compiled.
class RegexTooComplex : public RegexError {
 public:
  using RegexError::RegexError;
};

// Returns the compiled pattern (UTF-8, case-sensitive); throws RegexTooComplex or RegexError.
std::shared_ptr<const re2::RE2> compile_regex(const std::string& pattern);

// True when `re` matches somewhere in `subject` (as std::regex_search did), in linear time.
bool regex_search(std::string_view subject, const re2::RE2& re);

}  // namespace shopctl::scenario
