#pragma once
// "Did you mean ...?" for a name that is not one of a known set: the scenario parser's keys,
// actions and services, and a config file's keys.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl::platform {

// The closest of `candidates` to `name` (ASCII letters in any case; an optimal string alignment
// distance: Levenshtein plus adjacent transpositions) if it is a plausible typo: at most 1 edit
// for a name of 3 characters, 2 up to 6, 3 beyond. Else nullopt.
std::optional<std::string> did_you_mean(std::string_view name,
                                        const std::vector<std::string>& candidates);

}  // namespace shopctl::platform
