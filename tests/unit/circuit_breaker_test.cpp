#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/clock.hpp"
#include "platform/resilience/circuit_breaker.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using shopctl::platform::ManualClock;
using shopctl::platform::resilience::CircuitBreaker;
using shopctl::platform::resilience::CircuitBreakerConfig;
using shopctl::platform::resilience::CircuitEvent;
using shopctl::platform::resilience::CircuitState;
using shopctl::platform::resilience::EventListener;
using shopctl::platform::resilience::parse_circuit_state;
using shopctl::platform::resilience::SlidingWindowType;

namespace {

// A window of 4 calls, all needed; opens at 50 % failures; 10 s open; 2 trial calls.
CircuitBreakerConfig small_config() {
  CircuitBreakerConfig c;
  c.sliding_window_size = 4;
  c.minimum_number_of_calls = 4;
  c.failure_rate_threshold = 50;
  c.slow_call_duration_threshold = 1s;
  c.slow_call_rate_threshold = 100;
  c.wait_duration_in_open_state = 10s;
  c.permitted_number_of_calls_in_half_open_state = 2;
  return c;
}

void succeed(CircuitBreaker& breaker, std::chrono::nanoseconds took = 5ms) {
  REQUIRE(breaker.try_acquire());
  breaker.on_success(took);
}

void fail(CircuitBreaker& breaker, std::chrono::nanoseconds took = 5ms) {
  REQUIRE(breaker.try_acquire());
  breaker.on_error(took);
}

struct EventLog {
  std::mutex mutex;
  std::vector<CircuitEvent> events;

  EventListener listener() {
    return [this](const CircuitEvent& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
  std::vector<CircuitEvent> of_kind(CircuitEvent::Kind kind) {
    std::lock_guard lock(mutex);
    std::vector<CircuitEvent> out;
    for (const auto& e : events) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }
};

void open_breaker(CircuitBreaker& breaker) {
  for (int i = 0; i < 4; ++i) fail(breaker);
  REQUIRE(breaker.state() == CircuitState::OPEN);
}

std::string config_error(const json& j) {
  try {
    CircuitBreakerConfig::from_json(j);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the breaker opens when the failure rate reaches the threshold") {
  ManualClock clock;
  CircuitBreaker breaker("order->catalog", small_config(), clock);
  succeed(breaker);
  succeed(breaker);
  fail(breaker);
  CHECK(breaker.state() == CircuitState::CLOSED);
  fail(breaker);  // 2 of 4 = 50 %
  CHECK(breaker.state() == CircuitState::OPEN);
  const auto snap = breaker.snapshot();
  CHECK(snap.failure_rate == doctest::Approx(50.0));
  CHECK(snap.slow_call_rate == doctest::Approx(0.0));
  CHECK(snap.number_of_buffered_calls == 4);
  CHECK(snap.number_of_failed_calls == 2);
  CHECK(snap.number_of_successful_calls == 2);
  REQUIRE(snap.open_until.has_value());
  CHECK(*snap.open_until == clock.now() + 10s);
}

// The longest wait a duration holds (2,562,047 h) overflowed from a time point of this century:
// the breaker went HALF_OPEN a millisecond after it opened and let a trial call through (an
// outside probe). The wait ends with time itself.
TEST_CASE("a wait longer than the time points left keeps the breaker open") {
  ManualClock clock(ManualClock::time_point(std::chrono::seconds(1'765'000'000)));
  auto config = small_config();
  config.wait_duration_in_open_state = std::chrono::hours(2'562'047);
  CircuitBreaker breaker("order->catalog", config, clock);
  for (int i = 0; i < 4; ++i) fail(breaker);
  REQUIRE(breaker.state() == CircuitState::OPEN);
  clock.advance(1ms);
  CHECK_FALSE(breaker.try_acquire());
  CHECK(breaker.state() == CircuitState::OPEN);
  clock.advance(std::chrono::hours(24 * 365 * 100));
  CHECK_FALSE(breaker.try_acquire());
  CHECK(breaker.state() == CircuitState::OPEN);
  // Reconfigured while OPEN to the same wait: still no end in sight.
  config.failure_rate_threshold = 60;
  breaker.reconfigure(config);
  CHECK_FALSE(breaker.try_acquire());
  CHECK(breaker.state() == CircuitState::OPEN);
}

TEST_CASE("below the minimum number of calls the breaker neither opens nor reports a rate") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  for (int i = 0; i < 3; ++i) fail(breaker);
  CHECK(breaker.state() == CircuitState::CLOSED);
  const auto snap = breaker.snapshot();
  CHECK(snap.number_of_buffered_calls == 3);
  CHECK(snap.number_of_failed_calls == 3);
  CHECK(snap.failure_rate == -1);
  CHECK(snap.slow_call_rate == -1);
}

TEST_CASE("a count-based window forgets its oldest outcomes") {
  ManualClock clock;
  auto config = small_config();
  config.failure_rate_threshold = 75;
  CircuitBreaker breaker("edge", config, clock);
  fail(breaker);
  fail(breaker);
  succeed(breaker);
  succeed(breaker);  // F F S S: 50 %
  CHECK(breaker.snapshot().number_of_failed_calls == 2);
  succeed(breaker);
  succeed(breaker);  // S S S S: the failures slid out
  CHECK(breaker.snapshot().number_of_failed_calls == 0);
  CHECK(breaker.snapshot().number_of_buffered_calls == 4);
  fail(breaker);
  fail(breaker);  // S S F F: 50 %
  CHECK(breaker.state() == CircuitState::CLOSED);
  fail(breaker);  // S F F F: 75 %
  CHECK(breaker.state() == CircuitState::OPEN);
}

TEST_CASE("a minimum above a count window's size acts as the window's size") {
  ManualClock clock;
  auto config = small_config();
  config.minimum_number_of_calls = 100;
  CircuitBreaker breaker("edge", config, clock);
  open_breaker(breaker);
}

TEST_CASE("a time-based window drops the buckets older than its size as the clock advances") {
  ManualClock clock;
  auto config = small_config();
  config.sliding_window_type = SlidingWindowType::TIME_BASED;
  config.sliding_window_size = 10;  // seconds
  config.minimum_number_of_calls = 2;
  CircuitBreaker breaker("edge", config, clock);
  fail(breaker);
  clock.advance(9s);
  CHECK(breaker.snapshot().number_of_buffered_calls == 1);
  clock.advance(1s);
  CHECK(breaker.snapshot().number_of_buffered_calls == 0);
  fail(breaker);  // alone in the window: below the minimum
  CHECK(breaker.state() == CircuitState::CLOSED);
  clock.advance(3s);
  succeed(breaker);
  CHECK(breaker.snapshot().number_of_buffered_calls == 2);
  CHECK(breaker.state() == CircuitState::OPEN);  // 1 of 2 = 50 %
}

TEST_CASE("a time-based window empties after a long pause") {
  ManualClock clock;
  auto config = small_config();
  config.sliding_window_type = SlidingWindowType::TIME_BASED;
  config.sliding_window_size = 5;
  CircuitBreaker breaker("edge", config, clock);
  for (int i = 0; i < 3; ++i) {
    succeed(breaker);
    clock.advance(1s);
  }
  CHECK(breaker.snapshot().number_of_buffered_calls == 3);
  clock.advance(1h);
  CHECK(breaker.snapshot().number_of_buffered_calls == 0);
  for (int i = 0; i < 4; ++i) fail(breaker);
  CHECK(breaker.state() == CircuitState::OPEN);
}

TEST_CASE("the breaker opens when the slow call rate reaches its threshold") {
  ManualClock clock;
  auto config = small_config();
  config.slow_call_rate_threshold = 50;
  CircuitBreaker breaker("edge", config, clock);
  succeed(breaker, 2s);
  succeed(breaker, 10ms);
  succeed(breaker, 10ms);
  CHECK(breaker.state() == CircuitState::CLOSED);
  succeed(breaker, 1s);  // exactly the threshold: slow
  CHECK(breaker.state() == CircuitState::OPEN);
  const auto snap = breaker.snapshot();
  CHECK(snap.slow_call_rate == doctest::Approx(50.0));
  CHECK(snap.failure_rate == doctest::Approx(0.0));
  CHECK(snap.number_of_slow_calls == 2);
  CHECK(snap.number_of_slow_failed_calls == 0);
}

TEST_CASE("an open breaker refuses calls and counts them as not permitted") {
  ManualClock clock;
  EventLog log;
  CircuitBreaker breaker("order->payment", small_config(), clock, log.listener());
  open_breaker(breaker);
  clock.advance(2s);
  for (int i = 0; i < 3; ++i) CHECK_FALSE(breaker.try_acquire());
  const auto snap = breaker.snapshot();
  CHECK(snap.number_of_not_permitted_calls == 3);
  CHECK(snap.total_not_permitted_calls == 3);
  const auto refused = log.of_kind(CircuitEvent::Kind::not_permitted);
  REQUIRE(refused.size() == 3);
  CHECK(refused[0].breaker == "order->payment");
  CHECK(refused[0].from == CircuitState::OPEN);
  CHECK(refused[0].to == CircuitState::OPEN);
  CHECK(refused[0].at == clock.now());
}

TEST_CASE("after the wait an open breaker becomes half open on the next acquire") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  open_breaker(breaker);
  const auto opened = clock.now();
  clock.advance(10s - 1ms);
  CHECK_FALSE(breaker.try_acquire());
  clock.advance(1ms);
  CHECK(breaker.state() == CircuitState::OPEN);  // no automatic move: waits for a call
  clock.advance(5s);
  CHECK(breaker.try_acquire());
  CHECK(breaker.state() == CircuitState::HALF_OPEN);
  const auto snap = breaker.snapshot();
  CHECK(snap.number_of_buffered_calls == 0);
  REQUIRE(snap.transitions.size() == 2);
  CHECK(snap.transitions[0].from == CircuitState::CLOSED);
  CHECK(snap.transitions[0].to == CircuitState::OPEN);
  CHECK(snap.transitions[0].at == opened);
  CHECK(snap.transitions[1].from == CircuitState::OPEN);
  CHECK(snap.transitions[1].to == CircuitState::HALF_OPEN);
  CHECK(snap.transitions[1].at == clock.now());
}

TEST_CASE("with automatic transition the breaker is half open as soon as the wait has elapsed") {
  ManualClock clock;
  auto config = small_config();
  config.automatic_transition_from_open_to_half_open = true;
  EventLog log;
  CircuitBreaker breaker("edge", config, clock, log.listener());
  open_breaker(breaker);
  const auto opened = clock.now();
  clock.advance(9s);
  CHECK(breaker.state() == CircuitState::OPEN);
  clock.advance(6s);
  CHECK(breaker.state() == CircuitState::HALF_OPEN);
  const auto transitions = log.of_kind(CircuitEvent::Kind::state_transition);
  REQUIRE(transitions.size() == 2);
  CHECK(transitions[1].from == CircuitState::OPEN);
  CHECK(transitions[1].to == CircuitState::HALF_OPEN);
  CHECK(transitions[1].at == opened + 10s);  // when the wait ended, not when it was noticed
}

TEST_CASE("a half open breaker permits exactly its trial calls") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  open_breaker(breaker);
  clock.advance(10s);
  CHECK(breaker.try_acquire());
  CHECK(breaker.try_acquire());
  CHECK_FALSE(breaker.try_acquire());
  CHECK(breaker.snapshot().number_of_not_permitted_calls == 1);
  breaker.release_permission();  // a trial that was never made
  CHECK(breaker.try_acquire());
  CHECK_FALSE(breaker.try_acquire());
  CHECK(breaker.state() == CircuitState::HALF_OPEN);
}

// A reconfiguration while a trial ran gave the quota again whole: a second call went through
// beside the trial still on its way (an outside probe changed a setting mid-trial).
TEST_CASE("a breaker reconfigured in HALF_OPEN keeps the permits of the trials still running") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  open_breaker(breaker);
  clock.advance(10s);
  REQUIRE(breaker.try_acquire());  // a trial on its way (of 2)
  auto config = small_config();
  config.slow_call_rate_threshold = 99;
  breaker.reconfigure(config);
  CHECK(breaker.state() == CircuitState::HALF_OPEN);
  CHECK(breaker.try_acquire());  // the second trial
  CHECK_FALSE(breaker.try_acquire());
  // One trial, still running, when the quota becomes 1: nothing more goes through.
  ManualClock clock1;
  CircuitBreaker one("edge", small_config(), clock1);
  open_breaker(one);
  clock1.advance(10s);
  REQUIRE(one.try_acquire());
  config.permitted_number_of_calls_in_half_open_state = 1;
  one.reconfigure(config);
  CHECK_FALSE(one.try_acquire());
  one.on_success(5ms);  // the trial ends well: the breaker closes
  CHECK(one.state() == CircuitState::CLOSED);
}

TEST_CASE("successful trial calls close a half open breaker") {
  ManualClock clock;
  EventLog log;
  CircuitBreaker breaker("edge", small_config(), clock, log.listener());
  open_breaker(breaker);
  clock.advance(10s);
  succeed(breaker);
  CHECK(breaker.state() == CircuitState::HALF_OPEN);  // one trial outcome is not enough
  succeed(breaker);
  CHECK(breaker.state() == CircuitState::CLOSED);
  CHECK(breaker.snapshot().number_of_buffered_calls == 0);
  const auto transitions = log.of_kind(CircuitEvent::Kind::state_transition);
  REQUIRE(transitions.size() == 3);
  CHECK(transitions[2].from == CircuitState::HALF_OPEN);
  CHECK(transitions[2].to == CircuitState::CLOSED);
}

TEST_CASE("a failed trial call reopens a half open breaker for a new wait") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  open_breaker(breaker);
  clock.advance(10s);
  succeed(breaker);
  fail(breaker);  // 1 of 2 = 50 %
  CHECK(breaker.state() == CircuitState::OPEN);
  const auto reopened = clock.now();
  CHECK(*breaker.snapshot().open_until == reopened + 10s);
  clock.advance(9s);
  CHECK_FALSE(breaker.try_acquire());
  clock.advance(1s);
  CHECK(breaker.try_acquire());
}

TEST_CASE("a forced open breaker refuses every call until it is closed") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  breaker.transition_to_forced_open();
  CHECK(breaker.state() == CircuitState::FORCED_OPEN);
  CHECK_FALSE(breaker.try_acquire());
  clock.advance(1h);
  CHECK_FALSE(breaker.try_acquire());
  CHECK(breaker.snapshot().number_of_not_permitted_calls == 2);
  breaker.transition_to_closed();
  CHECK(breaker.state() == CircuitState::CLOSED);
  CHECK(breaker.try_acquire());
  CHECK(breaker.snapshot().number_of_not_permitted_calls == 0);
  CHECK(breaker.snapshot().total_not_permitted_calls == 2);
}

TEST_CASE("a disabled breaker permits every call and records nothing") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  breaker.transition_to_disabled();
  for (int i = 0; i < 10; ++i) fail(breaker);
  CHECK(breaker.state() == CircuitState::DISABLED);
  const auto snap = breaker.snapshot();
  CHECK(snap.number_of_buffered_calls == 0);
  CHECK(snap.failure_rate == -1);
}

TEST_CASE("a metrics only breaker records calls but never opens") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  breaker.transition_to_metrics_only();
  for (int i = 0; i < 10; ++i) fail(breaker);
  CHECK(breaker.state() == CircuitState::METRICS_ONLY);
  const auto snap = breaker.snapshot();
  CHECK(snap.number_of_buffered_calls == 4);
  CHECK(snap.number_of_failed_calls == 4);
  CHECK(snap.failure_rate == doctest::Approx(100.0));
}

TEST_CASE("closing an open breaker resets it") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  open_breaker(breaker);
  breaker.transition_to_closed();
  CHECK(breaker.state() == CircuitState::CLOSED);
  CHECK(breaker.snapshot().number_of_buffered_calls == 0);
  CHECK_FALSE(breaker.snapshot().open_until.has_value());
}

TEST_CASE("every transition is an event with its from and to states, delivered outside the lock") {
  ManualClock clock;
  std::vector<std::pair<CircuitState, CircuitState>> seen;
  CircuitBreaker* self = nullptr;
  CircuitBreaker breaker("order->catalog", small_config(), clock, [&](const CircuitEvent& e) {
    if (e.kind != CircuitEvent::Kind::state_transition) return;
    CHECK(e.breaker == "order->catalog");
    CHECK(e.at == clock.now());
    CHECK(self->snapshot().state == e.to);  // the listener may call back into the breaker
    seen.emplace_back(e.from, e.to);
  });
  self = &breaker;
  open_breaker(breaker);
  clock.advance(10s);
  succeed(breaker);
  succeed(breaker);
  breaker.transition_to_metrics_only();
  breaker.transition_to_metrics_only();  // already there: a reset, not a transition
  breaker.transition_to_disabled();
  breaker.transition_to_forced_open();
  breaker.transition_to_closed();
  const std::vector<std::pair<CircuitState, CircuitState>> expected{
      {CircuitState::CLOSED, CircuitState::OPEN},
      {CircuitState::OPEN, CircuitState::HALF_OPEN},
      {CircuitState::HALF_OPEN, CircuitState::CLOSED},
      {CircuitState::CLOSED, CircuitState::METRICS_ONLY},
      {CircuitState::METRICS_ONLY, CircuitState::DISABLED},
      {CircuitState::DISABLED, CircuitState::FORCED_OPEN},
      {CircuitState::FORCED_OPEN, CircuitState::CLOSED},
  };
  CHECK(seen == expected);
}

TEST_CASE("a listener that throws does not change the outcome of a call") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock,
                         [](const CircuitEvent&) { throw std::runtime_error("observer broke"); });
  open_breaker(breaker);
  CHECK_FALSE(breaker.try_acquire());
}

TEST_CASE("the snapshot keeps the last transitions, oldest first, and renders as JSON") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  for (int i = 0; i < 10; ++i) {
    breaker.transition_to_forced_open();
    clock.advance(1s);
    breaker.transition_to_closed();
  }
  const auto snap = breaker.snapshot();
  REQUIRE(snap.transitions.size() == CircuitBreaker::Snapshot::kMaxTransitions);
  CHECK(snap.transitions.back().to == CircuitState::CLOSED);
  CHECK(snap.transitions.back().at == clock.now());
  CHECK(snap.transitions.front().at < snap.transitions.back().at);

  const json j = snap.to_json();
  CHECK(j["name"] == "edge");
  CHECK(j["state"] == "CLOSED");
  CHECK(j["failure_rate"] == -1);
  CHECK(j["open_until"].is_null());
  CHECK(j["config"]["wait_duration_in_open_state"] == "10s");
  CHECK(j["transitions"].size() == 16);
  CHECK(j["transitions"][15]["from"] == "FORCED_OPEN");
  CHECK(j["transitions"][15]["at"] == "2023-11-14T22:13:30.000Z");
}

TEST_CASE("reconfiguring keeps the state and applies the new wait from the opening") {
  ManualClock clock;
  CircuitBreaker breaker("edge", small_config(), clock);
  open_breaker(breaker);
  auto config = small_config();
  config.wait_duration_in_open_state = 2s;
  breaker.reconfigure(config);
  CHECK(breaker.state() == CircuitState::OPEN);
  clock.advance(2s);
  CHECK(breaker.try_acquire());
  CHECK(breaker.snapshot().config.wait_duration_in_open_state == 2s);
  config.sliding_window_size = 0;
  CHECK_THROWS_AS(breaker.reconfigure(config), std::invalid_argument);
}

// A shorter wait set while OPEN ended the wait in the past: the OPEN -> HALF_OPEN move was
// stamped at the moment it opened plus the new wait, before calls the OPEN breaker had refused
// (a timeline in which a HALF_OPEN breaker refused a call). It is stamped no earlier than the
// moment the new settings took effect.
TEST_CASE("a wait shortened while OPEN moves to HALF_OPEN no earlier than the change") {
  for (bool automatic : {true, false}) {
    CAPTURE(automatic);
    ManualClock clock;
    auto config = small_config();
    config.automatic_transition_from_open_to_half_open = automatic;
    CircuitBreaker breaker("edge", config, clock);
    open_breaker(breaker);
    const auto opened = clock.now();
    clock.advance(5s);
    CHECK_FALSE(breaker.try_acquire());  // refused while OPEN, 5 s after it opened
    const auto changed = clock.now();
    config.wait_duration_in_open_state = 1s;
    breaker.reconfigure(config);
    clock.advance(100ms);
    if (!automatic) CHECK(breaker.try_acquire());
    const auto snap = breaker.snapshot();
    CHECK(snap.state == CircuitState::HALF_OPEN);
    REQUIRE(!snap.transitions.empty());
    const auto& last = snap.transitions.back();
    CHECK(last.from == CircuitState::OPEN);
    CHECK(last.to == CircuitState::HALF_OPEN);
    CHECK(last.at >= changed);
    CHECK(last.at > opened + 1s);
  }
}

TEST_CASE("a breaker refuses to be built with an invalid config") {
  ManualClock clock;
  auto config = small_config();
  config.failure_rate_threshold = 0;
  CHECK_THROWS_AS(CircuitBreaker("edge", config, clock), std::invalid_argument);
}

TEST_CASE("state names round-trip through to_string and parse") {
  for (auto state :
       {CircuitState::CLOSED, CircuitState::OPEN, CircuitState::HALF_OPEN, CircuitState::DISABLED,
        CircuitState::FORCED_OPEN, CircuitState::METRICS_ONLY}) {
    CHECK(parse_circuit_state(to_string(state)) == state);
  }
  CHECK_FALSE(parse_circuit_state("closed").has_value());
  CHECK_FALSE(parse_circuit_state("").has_value());
}

TEST_CASE("the config defaults are Resilience4j's and round-trip through JSON") {
  const CircuitBreakerConfig defaults;
  CHECK(defaults.sliding_window_type == SlidingWindowType::COUNT_BASED);
  CHECK(defaults.sliding_window_size == 100);
  CHECK(defaults.minimum_number_of_calls == 100);
  CHECK(defaults.failure_rate_threshold == 50);
  CHECK(defaults.slow_call_duration_threshold == 60s);
  CHECK(defaults.slow_call_rate_threshold == 100);
  CHECK(defaults.wait_duration_in_open_state == 60s);
  CHECK(defaults.permitted_number_of_calls_in_half_open_state == 10);
  CHECK_FALSE(defaults.automatic_transition_from_open_to_half_open);
  CHECK(CircuitBreakerConfig::from_json(json::object()) == defaults);
  CHECK(CircuitBreakerConfig::from_json(defaults.to_json()) == defaults);
  CHECK(CircuitBreakerConfig::from_json(small_config().to_json()) == small_config());
}

TEST_CASE("the config is read from JSON over a base") {
  const auto config =
      CircuitBreakerConfig::from_json(json{{"sliding_window_type", "TIME_BASED"},
                                           {"sliding_window_size", 30},
                                           {"minimum_number_of_calls", 5},
                                           {"failure_rate_threshold", 25.5},
                                           {"slow_call_duration_threshold", "1.5s"},
                                           {"slow_call_rate_threshold", 80},
                                           {"wait_duration_in_open_state", "250ms"},
                                           {"permitted_number_of_calls_in_half_open_state", 3},
                                           {"automatic_transition_from_open_to_half_open", true}});
  CHECK(config.sliding_window_type == SlidingWindowType::TIME_BASED);
  CHECK(config.sliding_window_size == 30);
  CHECK(config.minimum_number_of_calls == 5);
  CHECK(config.failure_rate_threshold == 25.5);
  CHECK(config.slow_call_duration_threshold == 1500ms);
  CHECK(config.slow_call_rate_threshold == 80);
  CHECK(config.wait_duration_in_open_state == 250ms);
  CHECK(config.permitted_number_of_calls_in_half_open_state == 3);
  CHECK(config.automatic_transition_from_open_to_half_open);

  const auto over_base =
      CircuitBreakerConfig::from_json(json{{"wait_duration_in_open_state", "1m"}}, small_config());
  CHECK(over_base.sliding_window_size == 4);
  CHECK(over_base.wait_duration_in_open_state == 1min);
}

TEST_CASE("the config from JSON refuses unknown keys, wrong types and out-of-range values") {
  const std::vector<std::pair<json, std::string>> cases{
      {json{{"slidingWindowSize", 10}}, "'slidingWindowSize'"},
      {json{{"sliding_window_size", 0}}, "'sliding_window_size'"},
      {json{{"sliding_window_size", -3}}, "'sliding_window_size'"},
      {json{{"sliding_window_size", 10.5}}, "'sliding_window_size'"},
      {json{{"sliding_window_size", "10"}}, "'sliding_window_size'"},
      {json{{"sliding_window_size", 2000000}}, "'sliding_window_size'"},
      {json{{"sliding_window_size", 18446744073709551615ULL}}, "'sliding_window_size'"},
      {json{{"sliding_window_type", "SESSION_BASED"}}, "'sliding_window_type'"},
      {json{{"sliding_window_type", 1}}, "'sliding_window_type'"},
      {json{{"minimum_number_of_calls", 0}}, "'minimum_number_of_calls'"},
      {json{{"failure_rate_threshold", 0}}, "'failure_rate_threshold'"},
      {json{{"failure_rate_threshold", 100.5}}, "'failure_rate_threshold'"},
      {json{{"failure_rate_threshold", "50"}}, "'failure_rate_threshold'"},
      {json{{"slow_call_rate_threshold", -1}}, "'slow_call_rate_threshold'"},
      {json{{"slow_call_duration_threshold", 60}}, "'slow_call_duration_threshold'"},
      {json{{"slow_call_duration_threshold", "60"}}, "'slow_call_duration_threshold'"},
      {json{{"slow_call_duration_threshold", "0s"}}, "'slow_call_duration_threshold'"},
      // The least a threshold can be: 1ms (the message said 1ns, and 0.5ms is not whole ms).
      {json{{"slow_call_duration_threshold", "0s"}}, "must be at least 1ms"},
      {json{{"wait_duration_in_open_state", "1 minute"}}, "'wait_duration_in_open_state'"},
      {json{{"wait_duration_in_open_state", "0.5ms"}}, "'wait_duration_in_open_state'"},
      {json{{"permitted_number_of_calls_in_half_open_state", 0}},
       "'permitted_number_of_calls_in_half_open_state'"},
      {json{{"automatic_transition_from_open_to_half_open", "yes"}},
       "'automatic_transition_from_open_to_half_open'"},
      {json{{"automatic_transition_from_open_to_half_open", 1}},
       "'automatic_transition_from_open_to_half_open'"},
      {json::array({1, 2}), "object"},
      {json("COUNT_BASED"), "object"},
  };
  for (const auto& test_case : cases) {
    const auto& input = test_case.first;
    const auto& named = test_case.second;
    CAPTURE(input.dump());
    const std::string error = config_error(input);
    CAPTURE(error);
    CHECK(error.find(named) != std::string::npos);
  }
}

TEST_CASE("calls from several threads are all counted") {
  ManualClock clock;
  CircuitBreakerConfig config;
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 20'000;
  config.sliding_window_size = kThreads * kCallsPerThread;
  CircuitBreaker breaker("edge", config, clock);
  breaker.transition_to_metrics_only();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&breaker, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        if (!breaker.try_acquire()) continue;
        if (i % (t + 2) == 0) {
          breaker.on_error(1ms);
        } else {
          breaker.on_success(i % 10 == 0 ? 2min : 1ms);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::int64_t expected_failed = 0;
  std::int64_t expected_slow = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCallsPerThread; ++i) {
      if (i % (t + 2) == 0) {
        ++expected_failed;
      } else if (i % 10 == 0) {
        ++expected_slow;
      }
    }
  }
  const auto snap = breaker.snapshot();
  CHECK(snap.number_of_buffered_calls == kThreads * kCallsPerThread);
  CHECK(snap.number_of_failed_calls == expected_failed);
  CHECK(snap.number_of_slow_calls == expected_slow);
}

TEST_CASE("a breaker cycling through its states under concurrent calls keeps its counts") {
  ManualClock clock;
  auto config = small_config();
  config.wait_duration_in_open_state = 1ms;
  std::atomic<std::int64_t> refused_events{0};
  CircuitBreaker breaker("edge", config, clock, [&](const CircuitEvent& e) {
    if (e.kind == CircuitEvent::Kind::not_permitted) refused_events.fetch_add(1);
  });
  constexpr int kThreads = 3;
  std::atomic<std::int64_t> refused{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) {
        if (!breaker.try_acquire()) {
          refused.fetch_add(1);
          continue;
        }
        if ((i + t) % 3 == 0) {
          breaker.on_error(1ms);
        } else {
          breaker.on_success(1ms);
        }
      }
    });
  }
  std::thread ticker([&] {
    while (!stop.load()) {
      clock.advance(1ms);
      std::this_thread::yield();
    }
  });
  for (auto& thread : threads) thread.join();
  stop.store(true);
  ticker.join();
  const auto snap = breaker.snapshot();
  CHECK(snap.total_not_permitted_calls == refused.load());
  CHECK(refused_events.load() == refused.load());
  CHECK(snap.number_of_buffered_calls <= 4);
}

TEST_CASE(
    "reset brings an open breaker back to a new breaker's state, counters and window included") {
  ManualClock clock;
  EventLog log;
  CircuitBreaker breaker("order->catalog", small_config(), clock, log.listener());
  open_breaker(breaker);
  CHECK_FALSE(breaker.try_acquire());  // one refused call counted
  REQUIRE(breaker.snapshot().total_not_permitted_calls == 1);

  breaker.reset();

  const auto snap = breaker.snapshot();
  CHECK(snap.state == CircuitState::CLOSED);
  CHECK(snap.number_of_buffered_calls == 0);
  CHECK(snap.number_of_failed_calls == 0);
  CHECK(snap.number_of_not_permitted_calls == 0);
  CHECK(snap.total_not_permitted_calls == 0);
  CHECK(snap.transitions.empty());
  auto transitions = log.of_kind(CircuitEvent::Kind::state_transition);
  REQUIRE(transitions.size() == 2);
  CHECK(transitions.back().from == CircuitState::OPEN);
  CHECK(transitions.back().to == CircuitState::CLOSED);
  // The old failures are gone: three failures out of four new calls are needed again.
  fail(breaker);
  fail(breaker);
  succeed(breaker);
  CHECK(breaker.state() == CircuitState::CLOSED);
}

TEST_CASE("reset of a closed breaker empties its window and reports no transition") {
  ManualClock clock;
  EventLog log;
  CircuitBreaker breaker("order->catalog", small_config(), clock, log.listener());
  fail(breaker);
  fail(breaker);
  fail(breaker);
  breaker.reset();
  CHECK(breaker.snapshot().number_of_buffered_calls == 0);
  CHECK(log.of_kind(CircuitEvent::Kind::state_transition).empty());
  fail(breaker);  // with the old window this fourth failure would open it
  CHECK(breaker.state() == CircuitState::CLOSED);
}

TEST_CASE("the breaker makes by itself exactly the moves it lists as automatic") {
  // The metrics start each listed move's counter at 0 (Metrics::declare_breaker): a move
  // missing from the list would be born at its first event, one listed but never made would
  // be a counter that never moves.
  ManualClock clock;
  EventLog log;
  CircuitBreaker breaker("edge", small_config(), clock, log.listener());
  open_breaker(breaker);  // CLOSED -> OPEN
  clock.advance(10s);
  fail(breaker);  // OPEN -> HALF_OPEN, then a failed trial
  fail(breaker);  // HALF_OPEN -> OPEN
  clock.advance(10s);
  succeed(breaker);  // OPEN -> HALF_OPEN
  succeed(breaker);  // HALF_OPEN -> CLOSED
  REQUIRE(breaker.state() == CircuitState::CLOSED);
  std::vector<std::pair<CircuitState, CircuitState>> seen;
  for (const auto& e : log.of_kind(CircuitEvent::Kind::state_transition)) {
    const std::pair move{e.from, e.to};
    if (std::find(seen.begin(), seen.end(), move) == seen.end()) seen.push_back(move);
  }
  std::vector<std::pair<CircuitState, CircuitState>> listed;
  for (const auto& move : shopctl::platform::resilience::kAutomaticMoves) {
    listed.emplace_back(move.from, move.to);
  }
  std::sort(seen.begin(), seen.end());
  std::sort(listed.begin(), listed.end());
  CHECK(seen == listed);
}
