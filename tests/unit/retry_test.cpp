#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/resilience/retry.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using shopctl::platform::resilience::RetryPolicy;

namespace {

std::vector<std::chrono::milliseconds> schedule(const RetryPolicy& policy, std::uint64_t seed) {
  std::vector<std::chrono::milliseconds> waits;
  for (int attempt = 2; attempt <= policy.max_attempts; ++attempt) {
    waits.push_back(policy.backoff_before(attempt, seed));
  }
  return waits;
}

std::string retry_error(const json& j) {
  try {
    RetryPolicy::from_json(j);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the same seed gives the same backoff schedule") {
  RetryPolicy policy;
  policy.max_attempts = 8;
  CHECK(schedule(policy, 42) == schedule(policy, 42));
  CHECK(schedule(policy, 42) != schedule(policy, 43));
}

TEST_CASE("without jitter the backoff grows by the multiplier up to max_backoff") {
  RetryPolicy policy;
  policy.max_attempts = 8;
  policy.jitter = 0;
  const std::vector<std::chrono::milliseconds> expected{50ms,  100ms,  200ms, 400ms,
                                                        800ms, 1000ms, 1000ms};
  CHECK(schedule(policy, 7) == expected);
}

TEST_CASE("jittered backoffs stay within the jitter and never exceed max_backoff") {
  RetryPolicy policy;
  policy.max_attempts = 10;
  policy.initial_backoff = 100ms;
  policy.max_backoff = 1000ms;
  policy.jitter = 0.5;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    std::uint64_t state = seed;
    for (int attempt = 2; attempt <= policy.max_attempts; ++attempt) {
      const double base = std::min(1000.0, 100.0 * (1 << (attempt - 2)));
      const auto wait = policy.backoff_before(attempt, state);
      CAPTURE(seed);
      CAPTURE(attempt);
      CHECK(wait.count() >= static_cast<long>(base * 0.5) - 1);
      CHECK(wait.count() <= static_cast<long>(base * 1.5) + 1);
      CHECK(wait <= policy.max_backoff);
    }
  }
}

TEST_CASE("backoff_before refuses attempts that are not retries") {
  RetryPolicy policy;
  std::uint64_t state = 1;
  CHECK_THROWS_AS(policy.backoff_before(1, state), std::invalid_argument);
  CHECK_THROWS_AS(policy.backoff_before(policy.max_attempts + 1, state), std::invalid_argument);
  CHECK_NOTHROW(policy.backoff_before(policy.max_attempts, state));
}

TEST_CASE("a retry policy is read from JSON over the defaults") {
  const auto policy = RetryPolicy::from_json(
      json{{"max_attempts", 5}, {"initial_backoff", "20ms"}, {"max_backoff", "2s"}});
  CHECK(policy.max_attempts == 5);
  CHECK(policy.initial_backoff == 20ms);
  CHECK(policy.max_backoff == 2000ms);
  CHECK(policy.multiplier == 2.0);
  CHECK(policy.jitter == 0.5);
  CHECK(RetryPolicy::from_json(policy.to_json()) == policy);
  CHECK(RetryPolicy::from_json(json::object()) == RetryPolicy{});
}

TEST_CASE("a retry policy from JSON refuses bad settings and names the key") {
  CHECK(retry_error(json{{"max_retries", 3}}).find("'max_retries'") != std::string::npos);
  CHECK(retry_error(json{{"max_attempts", 0}}).find("'max_attempts'") != std::string::npos);
  CHECK(retry_error(json{{"max_attempts", 2.5}}).find("'max_attempts'") != std::string::npos);
  CHECK(retry_error(json{{"max_attempts", "3"}}).find("'max_attempts'") != std::string::npos);
  CHECK(retry_error(json{{"initial_backoff", 50}}).find("'initial_backoff'") != std::string::npos);
  CHECK(retry_error(json{{"initial_backoff", "1.5ms"}}).find("'initial_backoff'") !=
        std::string::npos);
  CHECK(retry_error(json{{"multiplier", 0.5}}).find("'multiplier'") != std::string::npos);
  CHECK(retry_error(json{{"jitter", 1.5}}).find("'jitter'") != std::string::npos);
  CHECK(retry_error(json{{"jitter", true}}).find("'jitter'") != std::string::npos);
  CHECK(retry_error(json{{"initial_backoff", "2s"}, {"max_backoff", "1s"}}).find("'max_backoff'") !=
        std::string::npos);
  CHECK(retry_error(json::array()).find("object") != std::string::npos);
}
