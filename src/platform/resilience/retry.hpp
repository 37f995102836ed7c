#pragma once
// How a client retries a failed call: up to max_attempts attempts in all, with an exponential
// backoff before each retry and a random jitter drawn from a small deterministic generator,
// so that a scenario's seed gives the same schedule every run.
#include <chrono>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::platform::resilience {

// Advances `state` and returns the next number of the splitmix64 sequence it seeds.
std::uint64_t splitmix64(std::uint64_t& state);

struct RetryPolicy {
  // Attempts in all, the first included; 1 means no retry. From 1 to 100.
  int max_attempts = 3;
  // The backoff before the second attempt, before jitter.
  std::chrono::milliseconds initial_backoff{50};
  // Each further retry waits `multiplier` times longer; at least 1.
  double multiplier = 2.0;
  // No backoff is longer, jitter included; at least initial_backoff.
  std::chrono::milliseconds max_backoff{1000};
  // The backoff is spread uniformly over +-jitter of itself; from 0 to 1.
  double jitter = 0.5;

  // Returns the settings in `j` over `base` (by default the defaults above); keys left out
  // keep base's value. Durations are strings in whole milliseconds ("50ms", "1s"). Throws
  // std::invalid_argument, naming the key, for an unknown key, a value of the wrong type or a
  // value out of range.
  static RetryPolicy from_json(const nlohmann::json& j);
  static RetryPolicy from_json(const nlohmann::json& j, RetryPolicy base);
  // Reads one setting (`key` as from_json() takes it) into this policy, checked alone: not
  // against the others (validate() does that). Throws std::invalid_argument, naming the key,
  // for an unknown key or a value of the wrong type or out of range.
  void set(std::string_view key, const nlohmann::json& value);
  // Returns every setting, in the form from_json() reads.
  nlohmann::json to_json() const;
  // Throws std::invalid_argument, naming the setting, if a value is out of range.
  void validate() const;

  // Returns the wait before attempt number `attempt` (2..max_attempts):
  // min(max_backoff, initial_backoff * multiplier^(attempt-2)) spread by the jitter, then
  // capped at max_backoff. Draws from `rng_state` (one draw when jitter > 0), so the same seed
  // gives the same schedule. Throws std::invalid_argument for an attempt out of range.
  std::chrono::milliseconds backoff_before(int attempt, std::uint64_t& rng_state) const;

  bool operator==(const RetryPolicy&) const = default;
};

}  // namespace shopctl::platform::resilience
