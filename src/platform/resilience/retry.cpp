#include "platform/resilience/retry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "platform/duration.hpp"
#include "platform/resilience/settings_json.hpp"

namespace shopctl::platform::resilience {
namespace {

constexpr std::string_view kRetryWhat = "retry";
constexpr int kMaxAttempts = 100;
constexpr double kMaxMultiplier = 100.0;

std::chrono::milliseconds read_milliseconds(const nlohmann::json& v, std::string_view key) {
  const auto d = detail::read_duration(v, kRetryWhat, key);
  if (d % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0)) {
    detail::refuse(kRetryWhat, key, "must be a whole number of milliseconds", v);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

// Returns a number uniform in [0, 1).
double next_unit(std::uint64_t& state) {
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}

}  // namespace

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

RetryPolicy RetryPolicy::from_json(const nlohmann::json& j) {
  return from_json(j, RetryPolicy{});
}

RetryPolicy RetryPolicy::from_json(const nlohmann::json& j, RetryPolicy base) {
  using namespace detail;
  require_known_keys(j, kRetryWhat,
                     {"max_attempts", "initial_backoff", "multiplier", "max_backoff", "jitter"});
  RetryPolicy p = base;
  for (const auto& [key, v] : j.items()) p.set(key, v);
  p.validate();
  return p;
}

void RetryPolicy::set(std::string_view key, const nlohmann::json& v) {
  using namespace detail;
  if (key == "max_attempts") {
    max_attempts = static_cast<int>(read_integer(v, kRetryWhat, key, 1, kMaxAttempts));
  } else if (key == "initial_backoff") {
    initial_backoff = read_milliseconds(v, key);
  } else if (key == "multiplier") {
    multiplier =
        read_number(v, kRetryWhat, key, 1, true, kMaxMultiplier, "must be a number from 1 to 100");
  } else if (key == "max_backoff") {
    max_backoff = read_milliseconds(v, key);
  } else if (key == "jitter") {
    jitter = read_number(v, kRetryWhat, key, 0, true, 1, "must be a number from 0 to 1");
  } else {
    require_known_keys(nlohmann::json{{std::string(key), v}}, kRetryWhat,
                       {"max_attempts", "initial_backoff", "multiplier", "max_backoff", "jitter"});
  }
}

nlohmann::json RetryPolicy::to_json() const {
  return {
      {"max_attempts", max_attempts},
      {"initial_backoff", format_duration(initial_backoff)},
      {"multiplier", multiplier},
      {"max_backoff", format_duration(max_backoff)},
      {"jitter", jitter},
  };
}

void RetryPolicy::validate() const {
  using detail::refuse;
  if (max_attempts < 1 || max_attempts > kMaxAttempts) {
    refuse(kRetryWhat, "max_attempts", "must be from 1 to " + std::to_string(kMaxAttempts),
           max_attempts);
  }
  if (initial_backoff.count() < 0) {
    refuse(kRetryWhat, "initial_backoff", "must not be negative", initial_backoff.count());
  }
  if (!(multiplier >= 1.0 && multiplier <= kMaxMultiplier)) {
    refuse(kRetryWhat, "multiplier", "must be from 1 to 100", multiplier);
  }
  if (max_backoff < initial_backoff) {
    refuse(kRetryWhat, "max_backoff",
           "must be at least initial_backoff (" + format_duration(initial_backoff) + ")",
           format_duration(max_backoff));
  }
  if (!(jitter >= 0.0 && jitter <= 1.0))
    refuse(kRetryWhat, "jitter", "must be from 0 to 1", jitter);
}

std::chrono::milliseconds RetryPolicy::backoff_before(int attempt, std::uint64_t& rng_state) const {
  if (attempt < 2 || attempt > max_attempts) {
    throw std::invalid_argument("retry attempt " + std::to_string(attempt) +
                                " has no backoff: attempts 2 to " + std::to_string(max_attempts) +
                                " are retries");
  }
  const auto cap = static_cast<double>(max_backoff.count());
  double ms = std::min(
      cap, static_cast<double>(initial_backoff.count()) * std::pow(multiplier, attempt - 2));
  if (jitter > 0) ms *= 1.0 + jitter * (2.0 * next_unit(rng_state) - 1.0);
  return std::chrono::milliseconds(std::llround(std::clamp(ms, 0.0, cap)));
}

}  // namespace shopctl::platform::resilience
