// The only place that constructs a std::regex. GCC 12 reports a false -Wmaybe-uninitialized
// inside libstdc++'s regex compiler (std::function members of _StateT) when it inlines the
// constructor with optimization and sanitizers on (GCC bug 105562); the pragma keeps that
// known noise out of the warnings-as-errors build without hiding anything in our own code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "scenario/regex.hpp"

#include <algorithm>

namespace shopctl::scenario {

namespace {

// The deepest nesting of groups, not counting escaped parentheses or ones in a class ([(]).
int group_nesting(const std::string& pattern) {
  int depth = 0;
  int deepest = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ')' && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::shared_ptr<const std::regex> compile_regex(const std::string& pattern) {
  if (group_nesting(pattern) > kMaxRegexNesting) {
    throw RegexTooComplex("the pattern nests groups more than " + std::to_string(kMaxRegexNesting) +
                          " deep");
  }
  if (pattern.size() > kMaxRegexLength) {
    throw RegexTooComplex("the pattern has " + std::to_string(pattern.size()) +
                          " characters; at most " + std::to_string(kMaxRegexLength) +
                          " are allowed");
  }
  return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
}

}  // namespace shopctl::scenario
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
