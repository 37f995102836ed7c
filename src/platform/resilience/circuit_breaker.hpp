#pragma once
// A circuit breaker with the semantics and setting names of Resilience4j (in snake_case), as
// the resilience spec describes them. The caller decides what a call's outcome is (a 4xx
// is a success for the breaker); the breaker only counts outcomes, decides whether the next
// call may go out, and reports every transition and every refused call as an event.
//
// Differences from Resilience4j, on purpose: a call is slow when it lasts at least
// slow_call_duration_threshold (R4j: strictly longer); OPEN ends when the wait has elapsed
// (R4j: strictly after); the automatic OPEN -> HALF_OPEN move is performed lazily by state()
// and snapshot(), dated at the moment the wait ended, instead of by a timer thread.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/clock.hpp"

namespace shopctl::platform::resilience {

enum class CircuitState { CLOSED, OPEN, HALF_OPEN, DISABLED, FORCED_OPEN, METRICS_ONLY };

// Returns the Resilience4j name of the state ("HALF_OPEN").
std::string_view to_string(CircuitState state);

// The moves the breaker makes by itself, from its outcomes and its clock; every other move is
// an operator's (forced open, disabled, metrics only, reset). Whoever counts transitions from
// the start (the metrics at 0) takes them from here.
struct CircuitMove {
  CircuitState from;
  CircuitState to;
};
inline constexpr std::array<CircuitMove, 4> kAutomaticMoves{{
    {CircuitState::CLOSED, CircuitState::OPEN},
    {CircuitState::OPEN, CircuitState::HALF_OPEN},
    {CircuitState::HALF_OPEN, CircuitState::CLOSED},
    {CircuitState::HALF_OPEN, CircuitState::OPEN},
}};

// Returns the state named exactly as to_string() writes it, or nullopt.
std::optional<CircuitState> parse_circuit_state(std::string_view text);

enum class SlidingWindowType { COUNT_BASED, TIME_BASED };

std::string_view to_string(SlidingWindowType type);
std::optional<SlidingWindowType> parse_sliding_window_type(std::string_view text);

// The settings of one breaker; the defaults are Resilience4j's.
struct CircuitBreakerConfig {
  // The largest sliding_window_size accepted: a million calls, or a million seconds.
  static constexpr int kMaxSlidingWindowSize = 1'000'000;

  SlidingWindowType sliding_window_type = SlidingWindowType::COUNT_BASED;
  // The last N calls (COUNT_BASED) or the calls of the last N seconds (TIME_BASED).
  int sliding_window_size = 100;
  // No rate is computed before this many calls are in the window. With COUNT_BASED, a value
  // above sliding_window_size acts as sliding_window_size.
  int minimum_number_of_calls = 100;
  // Percent in (0, 100]; at or above it the breaker opens.
  double failure_rate_threshold = 50.0;
  // A call lasting at least this long is slow.
  std::chrono::nanoseconds slow_call_duration_threshold = std::chrono::seconds(60);
  // Percent in (0, 100] of slow calls at or above which the breaker opens.
  double slow_call_rate_threshold = 100.0;
  // OPEN lasts this long, counted from the moment the breaker opened; at least 1 ms.
  std::chrono::nanoseconds wait_duration_in_open_state = std::chrono::seconds(60);
  // Trial calls permitted in HALF_OPEN; their outcomes decide between CLOSED and OPEN.
  int permitted_number_of_calls_in_half_open_state = 10;
  // OPEN becomes HALF_OPEN when the wait ends, without waiting for a call.
  bool automatic_transition_from_open_to_half_open = false;

  // Returns the settings in `j` over `base` (by default Resilience4j's); keys left out keep
  // base's value. Durations are strings ("250ms", "30s", "1m"). Throws std::invalid_argument,
  // naming the key, for an unknown key, a value of the wrong type or a value out of range.
  static CircuitBreakerConfig from_json(const nlohmann::json& j);
  static CircuitBreakerConfig from_json(const nlohmann::json& j, CircuitBreakerConfig base);
  // Returns every setting, in the form from_json() reads.
  nlohmann::json to_json() const;
  // Throws std::invalid_argument, naming the setting, if a value is out of range.
  void validate() const;

  bool operator==(const CircuitBreakerConfig&) const = default;
};

struct CircuitTransition {
  CircuitState from;
  CircuitState to;
  Clock::time_point at;
};

struct CircuitEvent {
  // state_transition and not_permitted are emitted; success and error are reserved (outcomes
  // are kept off the hot path: the call record carries them).
  enum class Kind { state_transition, not_permitted, success, error };
  Kind kind;
  std::string breaker;
  // For not_permitted, both are the state that refused the call.
  CircuitState from;
  CircuitState to;
  Clock::time_point at;
};

// Called after the breaker's lock is released, on the thread whose call caused the event; it
// may call back into the breaker. It must not throw: exceptions it throws are swallowed so
// that an observer never changes the outcome of a call.
using EventListener = std::function<void(const CircuitEvent&)>;

struct CircuitBreakerSnapshot {
  // The transitions kept in a snapshot, oldest first.
  static constexpr std::size_t kMaxTransitions = 16;

  std::string name;
  CircuitState state = CircuitState::CLOSED;
  // Percent of failed (slow) calls in the window, or -1 while the window holds fewer calls
  // than minimum_number_of_calls, as Resilience4j reports them.
  double failure_rate = -1;
  double slow_call_rate = -1;
  // The window's counts; OPEN shows the window that opened the breaker, FORCED_OPEN and
  // DISABLED an empty one.
  std::int64_t number_of_buffered_calls = 0;
  std::int64_t number_of_failed_calls = 0;
  std::int64_t number_of_slow_calls = 0;
  std::int64_t number_of_slow_failed_calls = 0;
  std::int64_t number_of_successful_calls = 0;
  // Calls refused since the breaker entered its current state (Resilience4j's count) and
  // since it was created.
  std::int64_t number_of_not_permitted_calls = 0;
  std::int64_t total_not_permitted_calls = 0;
  // While OPEN: when the wait ends.
  std::optional<Clock::time_point> open_until;
  CircuitBreakerConfig config;
  std::vector<CircuitTransition> transitions;

  nlohmann::json to_json() const;
};

// One breaker, shared by every call on one edge. Thread-safe. The CLOSED path is cheap: an
// atomic load to permit a call and a short critical section to record its outcome.
class CircuitBreaker {
 public:
  using Snapshot = CircuitBreakerSnapshot;

  // Starts CLOSED at clock.now(). `clock` must outlive the breaker. Throws
  // std::invalid_argument if the config is out of range.
  CircuitBreaker(std::string name, CircuitBreakerConfig config, const Clock& clock,
                 EventListener listener = {});
  ~CircuitBreaker();
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  const std::string& name() const;

  // Returns true if a call may go out now. A caller that gets true must end with exactly one
  // of on_success(), on_error() or release_permission(). Returns false (counted and reported
  // as a not_permitted event) while OPEN and FORCED_OPEN, and in HALF_OPEN once the trial
  // calls are taken. An OPEN breaker whose wait has elapsed becomes HALF_OPEN here and
  // permits the call as a trial.
  bool try_acquire();
  // Records a permitted call that succeeded after `duration` (slow if long enough).
  void on_success(std::chrono::nanoseconds duration);
  // Records a permitted call that failed after `duration`.
  void on_error(std::chrono::nanoseconds duration);
  // Gives back a permission for a call that was never made (a HALF_OPEN trial slot).
  void release_permission();

  // Returns the current state. With automatic_transition_from_open_to_half_open, an OPEN
  // breaker whose wait has elapsed becomes HALF_OPEN here; without it, it stays OPEN until the
  // next try_acquire().
  CircuitState state() const;

  // Operator states. Each starts fresh metrics; moving to the current state only resets them.
  void transition_to_forced_open();
  void transition_to_disabled();
  void transition_to_metrics_only();
  // Resets the breaker: CLOSED with an empty window.
  void transition_to_closed();
  // Back to the state of a new breaker, as Resilience4j's reset(): CLOSED with an empty window,
  // no refused calls counted (total_not_permitted_calls too) and no transitions kept. A breaker
  // that was not CLOSED reports that one last transition (X -> CLOSED) to its listener.
  void reset();

  // Applies new settings. The window restarts empty under them; the state is kept (an OPEN
  // breaker now waits the new wait duration from the moment it opened, ending no earlier than
  // now, so its move to HALF_OPEN is never stamped before this call; a HALF_OPEN breaker
  // restarts its trial with the new quota). Throws std::invalid_argument if out of range.
  void reconfigure(CircuitBreakerConfig config);

  // Returns the state, metrics, settings and last transitions, consistent with each other.
  Snapshot snapshot() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopctl::platform::resilience
