#pragma once
// Regular expressions for `matches:` (ECMAScript syntax, searched anywhere in the value).
#include <memory>
#include <regex>
#include <string>

namespace shopctl::scenario {

// Returns the compiled pattern, or throws std::regex_error.
std::shared_ptr<const std::regex> compile_regex(const std::string& pattern);

}  // namespace shopctl::scenario
