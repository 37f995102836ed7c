#include "platform/duration.hpp"

#include <cstdint>
#include <limits>

namespace shopctl::platform {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t nanoseconds;
  // The most fraction digits that still give a whole number of nanoseconds.
  std::size_t max_fraction_digits;
};

// "ms" comes first so that "250ms" is not read as "250m" followed by junk.
constexpr Unit kUnits[] = {
    {"ms", 1'000'000, 6},
    {"s", 1'000'000'000, 9},
    {"m", 60'000'000'000, 10},
    {"h", 3'600'000'000'000, 11},
};

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Returns the decimal value of a digit string, or nullopt if it does not fit.
std::optional<std::int64_t> to_int(std::string_view digits) {
  std::int64_t value = 0;
  for (char c : digits) {
    const int digit = c - '0';
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const Unit* unit = nullptr;
  for (const Unit& candidate : kUnits) {
    if (text.ends_with(candidate.suffix)) {
      unit = &candidate;
      break;
    }
  }
  if (unit == nullptr) return std::nullopt;
  const std::string_view number = text.substr(0, text.size() - unit->suffix.size());

  std::string_view whole = number;
  std::string_view fraction;
  if (const auto dot = number.find('.'); dot != std::string_view::npos) {
    whole = number.substr(0, dot);
    fraction = number.substr(dot + 1);
    if (!all_digits(fraction)) return std::nullopt;
    while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
    if (fraction.size() > unit->max_fraction_digits) return std::nullopt;
  }
  if (!all_digits(whole)) return std::nullopt;

  const auto whole_value = to_int(whole);
  if (!whole_value) return std::nullopt;
  std::int64_t fraction_ns = 0;
  if (!fraction.empty()) {
    std::int64_t scale = unit->nanoseconds;
    for (std::size_t i = 0; i < fraction.size(); ++i) scale /= 10;
    fraction_ns = *to_int(fraction) * scale;  // at most 11 digits times an exact divisor: fits
  }
  if (*whole_value > (kMax - fraction_ns) / unit->nanoseconds) return std::nullopt;
  return std::chrono::nanoseconds(*whole_value * unit->nanoseconds + fraction_ns);
}

bool duration_overflows(std::string_view text) {
  if (parse_duration(text)) return false;
  for (const Unit& unit : kUnits) {
    if (!text.ends_with(unit.suffix)) continue;
    std::string_view number = text.substr(0, text.size() - unit.suffix.size());
    const auto dot = number.find('.');
    const std::string_view whole = number.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
    // Written right: digits, and digits after a dot if there is one (a fraction too fine is
    // refused for that, not for its size, so only the whole part's size counts here).
    return all_digits(whole) && (dot == std::string_view::npos || all_digits(fraction)) &&
           (!to_int(whole) || *to_int(whole) > kMax / unit.nanoseconds);
  }
  return false;
}

std::string format_duration(std::chrono::nanoseconds d) {
  if (d.count() == 0) return "0s";
  std::string out;
  // Negative durations are not valid input anywhere; they are still shown faithfully.
  if (d.count() < 0) out.push_back('-');
  const std::uint64_t magnitude = d.count() < 0 ? 0 - static_cast<std::uint64_t>(d.count())
                                                : static_cast<std::uint64_t>(d.count());
  for (auto it = std::rbegin(kUnits); it != std::rend(kUnits); ++it) {
    const auto unit = static_cast<std::uint64_t>(it->nanoseconds);
    if (magnitude % unit == 0) {
      out.append(std::to_string(magnitude / unit)).append(it->suffix);
      return out;
    }
  }
  std::string fraction = std::to_string(magnitude % 1'000'000);
  fraction.insert(0, 6 - fraction.size(), '0');
  while (fraction.back() == '0') fraction.pop_back();
  out.append(std::to_string(magnitude / 1'000'000)).append(".").append(fraction).append("ms");
  return out;
}

}  // namespace shopctl::platform
