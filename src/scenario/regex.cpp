// The only place that constructs a std::regex. GCC 12 reports a false -Wmaybe-uninitialized
// inside libstdc++'s regex compiler (std::function members of _StateT) when it inlines the
// constructor with optimization and sanitizers on (GCC bug 105562); the pragma keeps that
// known noise out of the warnings-as-errors build without hiding anything in our own code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "scenario/regex.hpp"

namespace shopctl::scenario {

std::shared_ptr<const std::regex> compile_regex(const std::string& pattern) {
  return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
}

}  // namespace shopctl::scenario
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
