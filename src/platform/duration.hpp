#pragma once
// Durations as people write them in configuration and scenarios: "250ms", "30s", "1.5m", "2h".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace shopctl::platform {

// Returns the duration written as a non-negative integer or decimal number followed by one of
// the units ms, s, m, h ("250ms", "1.5s", "0.25h"), or nullopt for anything else: no unit,
// an unknown unit, a sign, spaces, exponents, ".5s", "1.s", a value that does not fit, or a
// fraction finer than one nanosecond.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// True when parse_duration refuses `text` only because it does not fit (a whole number and a
// unit, written right, of more than about 292 years): for a message that says "too long"
// rather than "expected a duration like 10s".
bool duration_overflows(std::string_view text);

// Returns `d` in the largest of h, m, s, ms that holds it as a whole number ("90s", "2h",
// "250ms"), else in ms with a decimal fraction ("1.5ms", "0.000001ms"). Zero is "0s".
// parse_duration(format_duration(d)) == d for every non-negative d.
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace shopctl::platform
