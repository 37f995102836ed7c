#include "platform/resilience/circuit_breaker.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "platform/duration.hpp"
#include "platform/resilience/settings_json.hpp"

namespace shopctl::platform::resilience {
namespace {

using std::chrono::nanoseconds;

constexpr std::string_view kBreakerWhat = "circuit breaker";

// The outcome of one call: bit 0 failed, bit 1 slow.
using Outcome = std::uint8_t;
constexpr Outcome kFailed = 1;
constexpr Outcome kSlow = 2;

struct CallCounts {
  std::int64_t calls = 0;
  std::int64_t failed = 0;
  std::int64_t slow = 0;
  std::int64_t slow_failed = 0;

  void add(Outcome o) {
    ++calls;
    failed += o & kFailed;
    slow += o >> 1;
    slow_failed += o == (kFailed | kSlow);
  }
  void remove(Outcome o) {
    --calls;
    failed -= o & kFailed;
    slow -= o >> 1;
    slow_failed -= o == (kFailed | kSlow);
  }
  void remove(const CallCounts& other) {
    calls -= other.calls;
    failed -= other.failed;
    slow -= other.slow;
    slow_failed -= other.slow_failed;
  }
};

// The calls a breaker judges by: the last N outcomes (count based) or the outcomes of the last
// N one-second buckets of the clock (time based), with running totals so that recording and
// reading are O(1), as Resilience4j's fixed-size and partial-aggregation windows.
class SlidingWindow {
 public:
  // An empty window of capacity zero: it records nothing (DISABLED, FORCED_OPEN).
  SlidingWindow() = default;

  static SlidingWindow count_based(int size, int minimum_number_of_calls) {
    SlidingWindow w;
    w.outcomes_.assign(static_cast<std::size_t>(size), 0);
    w.minimum_ = std::min(minimum_number_of_calls, size);
    return w;
  }

  static SlidingWindow time_based(int seconds, int minimum_number_of_calls,
                                  std::int64_t now_second) {
    SlidingWindow w;
    w.time_based_ = true;
    w.buckets_.assign(static_cast<std::size_t>(seconds), CallCounts{});
    w.head_second_ = now_second;
    w.minimum_ = minimum_number_of_calls;
    return w;
  }

  bool is_time_based() const { return time_based_; }

  // `now_second` is read only by a time-based window.
  void record(Outcome o, std::int64_t now_second) {
    if (time_based_) {
      advance_to(now_second);
      buckets_[head_].add(o);
      totals_.add(o);
      return;
    }
    if (outcomes_.empty()) return;
    if (static_cast<std::size_t>(totals_.calls) == outcomes_.size())
      totals_.remove(outcomes_[next_]);
    outcomes_[next_] = o;
    totals_.add(o);
    if (++next_ == outcomes_.size()) next_ = 0;
  }

  // Returns the totals of the window as of `now_second` (a time-based window first drops the
  // buckets that fell out of it).
  const CallCounts& totals(std::int64_t now_second) {
    if (time_based_) advance_to(now_second);
    return totals_;
  }

  // True when enough calls are in and either rate is at or above its threshold.
  bool exceeds_thresholds(const CircuitBreakerConfig& config) const {
    if (!has_minimum_calls()) return false;
    const auto calls = static_cast<double>(totals_.calls);
    return static_cast<double>(totals_.failed) * 100.0 >= config.failure_rate_threshold * calls ||
           static_cast<double>(totals_.slow) * 100.0 >= config.slow_call_rate_threshold * calls;
  }

  bool has_minimum_calls() const { return totals_.calls > 0 && totals_.calls >= minimum_; }

 private:
  void advance_to(std::int64_t second) {
    if (second <= head_second_) return;  // same second, or a clock that went back
    const std::int64_t steps = second - head_second_;
    if (steps >= static_cast<std::int64_t>(buckets_.size())) {
      std::fill(buckets_.begin(), buckets_.end(), CallCounts{});
      totals_ = {};
    } else {
      for (std::int64_t i = 0; i < steps; ++i) {
        if (++head_ == buckets_.size()) head_ = 0;
        totals_.remove(buckets_[head_]);
        buckets_[head_] = {};
      }
    }
    head_second_ = second;
  }

  bool time_based_ = false;
  std::int64_t minimum_ = 0;
  CallCounts totals_;
  // Count based: a ring of outcomes, `next_` the slot the next call overwrites.
  std::vector<Outcome> outcomes_;
  std::size_t next_ = 0;
  // Time based: a ring of one-second buckets, `head_` the one of `head_second_`.
  std::vector<CallCounts> buckets_;
  std::size_t head_ = 0;
  std::int64_t head_second_ = 0;
};

std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_ns(std::int64_t ns) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::time_point::duration>(nanoseconds(ns)));
}

// `at` + `wait`, or the last time point when that would pass it: a wait of 2,562,047 h, which a
// duration holds, overflowed from a time point of this century, and the breaker went HALF_OPEN
// a millisecond after it opened (an outside probe).
Clock::time_point wait_end(Clock::time_point at, std::chrono::nanoseconds wait) {
  const auto room = Clock::time_point::max() - at;
  if (wait >= room) return Clock::time_point::max();
  return at + std::chrono::duration_cast<Clock::time_point::duration>(wait);
}

std::int64_t epoch_second(Clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

// "2023-11-14T22:13:20.123Z"
std::string format_time(Clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96];
  const int millis = static_cast<int>(ms - static_cast<std::int64_t>(seconds) * 1000);
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

// Events decided under the lock and delivered after it is released.
struct PendingEvents {
  struct Item {
    CircuitEvent::Kind kind;
    CircuitState from;
    CircuitState to;
    Clock::time_point at;
  };
  // One operation causes at most a transition and a refusal.
  std::array<Item, 2> items;
  std::size_t count = 0;

  void add(CircuitEvent::Kind kind, CircuitState from, CircuitState to, Clock::time_point at) {
    if (count < items.size()) items[count++] = {kind, from, to, at};
  }
};

}  // namespace

std::string_view to_string(CircuitState state) {
  switch (state) {
    case CircuitState::CLOSED:
      return "CLOSED";
    case CircuitState::OPEN:
      return "OPEN";
    case CircuitState::HALF_OPEN:
      return "HALF_OPEN";
    case CircuitState::DISABLED:
      return "DISABLED";
    case CircuitState::FORCED_OPEN:
      return "FORCED_OPEN";
    case CircuitState::METRICS_ONLY:
      return "METRICS_ONLY";
  }
  return "UNKNOWN";
}

std::optional<CircuitState> parse_circuit_state(std::string_view text) {
  for (auto state :
       {CircuitState::CLOSED, CircuitState::OPEN, CircuitState::HALF_OPEN, CircuitState::DISABLED,
        CircuitState::FORCED_OPEN, CircuitState::METRICS_ONLY}) {
    if (to_string(state) == text) return state;
  }
  return std::nullopt;
}

std::string_view to_string(SlidingWindowType type) {
  return type == SlidingWindowType::TIME_BASED ? "TIME_BASED" : "COUNT_BASED";
}

std::optional<SlidingWindowType> parse_sliding_window_type(std::string_view text) {
  if (text == "COUNT_BASED") return SlidingWindowType::COUNT_BASED;
  if (text == "TIME_BASED") return SlidingWindowType::TIME_BASED;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Configuration

CircuitBreakerConfig CircuitBreakerConfig::from_json(const nlohmann::json& j) {
  return from_json(j, CircuitBreakerConfig{});
}

CircuitBreakerConfig CircuitBreakerConfig::from_json(const nlohmann::json& j,
                                                     CircuitBreakerConfig base) {
  using namespace detail;
  require_known_keys(
      j, kBreakerWhat,
      {"sliding_window_type", "sliding_window_size", "minimum_number_of_calls",
       "failure_rate_threshold", "slow_call_duration_threshold", "slow_call_rate_threshold",
       "wait_duration_in_open_state", "permitted_number_of_calls_in_half_open_state",
       "automatic_transition_from_open_to_half_open"});
  CircuitBreakerConfig c = std::move(base);
  constexpr std::string_view kPercent = "must be a percentage above 0 and at most 100";
  for (const auto& [key, v] : j.items()) {
    if (key == "sliding_window_type") {
      constexpr std::string_view kTypes = "must be \"COUNT_BASED\" or \"TIME_BASED\"";
      const auto type = parse_sliding_window_type(read_string(v, kBreakerWhat, key, kTypes));
      if (!type) refuse(kBreakerWhat, key, kTypes, v);
      c.sliding_window_type = *type;
    } else if (key == "sliding_window_size") {
      c.sliding_window_size =
          static_cast<int>(read_integer(v, kBreakerWhat, key, 1, kMaxSlidingWindowSize));
    } else if (key == "minimum_number_of_calls") {
      c.minimum_number_of_calls = static_cast<int>(read_integer(v, kBreakerWhat, key, 1, INT_MAX));
    } else if (key == "failure_rate_threshold") {
      c.failure_rate_threshold = read_number(v, kBreakerWhat, key, 0, false, 100, kPercent);
    } else if (key == "slow_call_duration_threshold") {
      c.slow_call_duration_threshold = read_duration(v, kBreakerWhat, key);
    } else if (key == "slow_call_rate_threshold") {
      c.slow_call_rate_threshold = read_number(v, kBreakerWhat, key, 0, false, 100, kPercent);
    } else if (key == "wait_duration_in_open_state") {
      c.wait_duration_in_open_state = read_duration(v, kBreakerWhat, key);
    } else if (key == "permitted_number_of_calls_in_half_open_state") {
      c.permitted_number_of_calls_in_half_open_state =
          static_cast<int>(read_integer(v, kBreakerWhat, key, 1, kMaxSlidingWindowSize));
    } else if (key == "automatic_transition_from_open_to_half_open") {
      c.automatic_transition_from_open_to_half_open = read_bool(v, kBreakerWhat, key);
    }
  }
  c.validate();
  return c;
}

nlohmann::json CircuitBreakerConfig::to_json() const {
  return {
      {"sliding_window_type", to_string(sliding_window_type)},
      {"sliding_window_size", sliding_window_size},
      {"minimum_number_of_calls", minimum_number_of_calls},
      {"failure_rate_threshold", failure_rate_threshold},
      {"slow_call_duration_threshold", format_duration(slow_call_duration_threshold)},
      {"slow_call_rate_threshold", slow_call_rate_threshold},
      {"wait_duration_in_open_state", format_duration(wait_duration_in_open_state)},
      {"permitted_number_of_calls_in_half_open_state",
       permitted_number_of_calls_in_half_open_state},
      {"automatic_transition_from_open_to_half_open", automatic_transition_from_open_to_half_open},
  };
}

void CircuitBreakerConfig::validate() const {
  using detail::refuse;
  if (sliding_window_type != SlidingWindowType::COUNT_BASED &&
      sliding_window_type != SlidingWindowType::TIME_BASED) {
    refuse(kBreakerWhat, "sliding_window_type", "must be COUNT_BASED or TIME_BASED",
           static_cast<int>(sliding_window_type));
  }
  if (sliding_window_size < 1 || sliding_window_size > kMaxSlidingWindowSize) {
    refuse(kBreakerWhat, "sliding_window_size",
           "must be from 1 to " + std::to_string(kMaxSlidingWindowSize), sliding_window_size);
  }
  if (minimum_number_of_calls < 1) {
    refuse(kBreakerWhat, "minimum_number_of_calls", "must be at least 1", minimum_number_of_calls);
  }
  if (!(failure_rate_threshold > 0 && failure_rate_threshold <= 100)) {
    refuse(kBreakerWhat, "failure_rate_threshold", "must be above 0 and at most 100",
           failure_rate_threshold);
  }
  if (!(slow_call_rate_threshold > 0 && slow_call_rate_threshold <= 100)) {
    refuse(kBreakerWhat, "slow_call_rate_threshold", "must be above 0 and at most 100",
           slow_call_rate_threshold);
  }
  // 1ms, as every duration a config holds is whole milliseconds (`0.5ms` is refused so): it said
  // "at least 1ns", a value no config could give (an outside probe).
  if (slow_call_duration_threshold < std::chrono::milliseconds(1)) {
    refuse(kBreakerWhat, "slow_call_duration_threshold", "must be at least 1ms",
           format_duration(slow_call_duration_threshold));
  }
  if (wait_duration_in_open_state < std::chrono::milliseconds(1)) {
    refuse(kBreakerWhat, "wait_duration_in_open_state", "must be at least 1ms",
           format_duration(wait_duration_in_open_state));
  }
  if (permitted_number_of_calls_in_half_open_state < 1 ||
      permitted_number_of_calls_in_half_open_state > kMaxSlidingWindowSize) {
    refuse(kBreakerWhat, "permitted_number_of_calls_in_half_open_state",
           "must be from 1 to " + std::to_string(kMaxSlidingWindowSize),
           permitted_number_of_calls_in_half_open_state);
  }
}

nlohmann::json CircuitBreakerSnapshot::to_json() const {
  nlohmann::json transitions_json = nlohmann::json::array();
  for (const auto& t : transitions) {
    transitions_json.push_back(
        {{"from", to_string(t.from)}, {"to", to_string(t.to)}, {"at", format_time(t.at)}});
  }
  return {
      {"name", name},
      {"state", to_string(state)},
      {"failure_rate", failure_rate},
      {"slow_call_rate", slow_call_rate},
      {"number_of_buffered_calls", number_of_buffered_calls},
      {"number_of_failed_calls", number_of_failed_calls},
      {"number_of_slow_calls", number_of_slow_calls},
      {"number_of_slow_failed_calls", number_of_slow_failed_calls},
      {"number_of_successful_calls", number_of_successful_calls},
      {"number_of_not_permitted_calls", number_of_not_permitted_calls},
      {"total_not_permitted_calls", total_not_permitted_calls},
      {"open_until", open_until ? nlohmann::json(format_time(*open_until)) : nlohmann::json()},
      {"config", config.to_json()},
      {"transitions", std::move(transitions_json)},
  };
}

// ---------------------------------------------------------------------------------------------
// The breaker
//
// `state` is written only under `mutex` but read without it, so that the CLOSED path permits a
// call with one atomic load and an OPEN breaker refuses one without the lock. `open_until_ns`
// is stored before `state` (release) and read after it (acquire), so a reader that sees OPEN
// sees that OPEN's deadline.

struct CircuitBreaker::Impl {
  Impl(std::string breaker_name, CircuitBreakerConfig settings, const Clock& c, EventListener l)
      : name(std::move(breaker_name)), clock(c), listener(std::move(l)), config(settings) {
    config.validate();
    window = closed_window();
  }

  const std::string name;
  const Clock& clock;
  const EventListener listener;

  std::atomic<CircuitState> state{CircuitState::CLOSED};
  std::atomic<std::int64_t> open_until_ns{0};
  std::atomic<std::int64_t> not_permitted_total{0};

  mutable std::mutex mutex;
  // Guarded by `mutex`.
  CircuitBreakerConfig config;
  SlidingWindow window;
  int half_open_permits_left = 0;
  Clock::time_point opened_at{};
  std::int64_t not_permitted_at_state_start = 0;
  std::vector<CircuitTransition> transitions;

  SlidingWindow closed_window() const {
    if (config.sliding_window_type == SlidingWindowType::TIME_BASED) {
      return SlidingWindow::time_based(config.sliding_window_size, config.minimum_number_of_calls,
                                       epoch_second(clock.now()));
    }
    return SlidingWindow::count_based(config.sliding_window_size, config.minimum_number_of_calls);
  }

  SlidingWindow half_open_window() const {
    const int trials = config.permitted_number_of_calls_in_half_open_state;
    return SlidingWindow::count_based(trials, trials);
  }

  // Moves to `to` (or, when already there, only starts its metrics afresh). Requires `mutex`.
  void transition_locked(CircuitState to, Clock::time_point at, PendingEvents& events) {
    const CircuitState from = state.load(std::memory_order_relaxed);
    switch (to) {
      case CircuitState::CLOSED:
      case CircuitState::METRICS_ONLY:
        window = closed_window();
        break;
      case CircuitState::OPEN:
        // The window that opened the breaker stays visible while it is open.
        opened_at = at;
        open_until_ns.store(to_ns(wait_end(at, config.wait_duration_in_open_state)),
                            std::memory_order_relaxed);
        break;
      case CircuitState::HALF_OPEN:
        window = half_open_window();
        half_open_permits_left = config.permitted_number_of_calls_in_half_open_state;
        break;
      case CircuitState::DISABLED:
      case CircuitState::FORCED_OPEN:
        window = SlidingWindow();
        break;
    }
    not_permitted_at_state_start = not_permitted_total.load(std::memory_order_relaxed);
    state.store(to, std::memory_order_release);
    if (from == to) return;
    if (transitions.size() == CircuitBreakerSnapshot::kMaxTransitions) {
      transitions.erase(transitions.begin());
    }
    transitions.push_back({from, to, at});
    events.add(CircuitEvent::Kind::state_transition, from, to, at);
  }

  // OPEN -> HALF_OPEN when the wait has elapsed and the move is automatic; dated at the end of
  // the wait, when a timer would have made it. Requires `mutex`.
  void auto_transition_locked(Clock::time_point now, PendingEvents& events) {
    if (state.load(std::memory_order_relaxed) != CircuitState::OPEN ||
        !config.automatic_transition_from_open_to_half_open) {
      return;
    }
    const std::int64_t until = open_until_ns.load(std::memory_order_relaxed);
    if (to_ns(now) >= until) transition_locked(CircuitState::HALF_OPEN, from_ns(until), events);
  }

  void refuse(CircuitState current, Clock::time_point now) {
    not_permitted_total.fetch_add(1, std::memory_order_relaxed);
    if (!listener) return;
    PendingEvents events;
    events.add(CircuitEvent::Kind::not_permitted, current, current, now);
    emit(events);
  }

  bool acquire_slow(CircuitState current) {
    if (current == CircuitState::FORCED_OPEN) {
      refuse(current, listener ? clock.now() : Clock::time_point{});
      return false;
    }
    const Clock::time_point now = clock.now();
    if (current == CircuitState::OPEN &&
        to_ns(now) < open_until_ns.load(std::memory_order_acquire)) {
      refuse(current, now);
      return false;
    }
    // HALF_OPEN, or OPEN with its wait over: decide under the lock.
    PendingEvents events;
    bool permitted = false;
    {
      std::lock_guard lock(mutex);
      CircuitState locked = state.load(std::memory_order_relaxed);
      if (locked == CircuitState::OPEN) {
        const std::int64_t until = open_until_ns.load(std::memory_order_relaxed);
        if (to_ns(now) >= until) {
          transition_locked(
              CircuitState::HALF_OPEN,
              config.automatic_transition_from_open_to_half_open ? from_ns(until) : now, events);
          locked = CircuitState::HALF_OPEN;
        }
      }
      switch (locked) {
        case CircuitState::CLOSED:
        case CircuitState::DISABLED:
        case CircuitState::METRICS_ONLY:
          permitted = true;
          break;
        case CircuitState::HALF_OPEN:
          permitted = half_open_permits_left > 0;
          if (permitted) --half_open_permits_left;
          break;
        case CircuitState::OPEN:
        case CircuitState::FORCED_OPEN:
          break;
      }
      if (!permitted) {
        not_permitted_total.fetch_add(1, std::memory_order_relaxed);
        events.add(CircuitEvent::Kind::not_permitted, locked, locked, now);
      }
    }
    emit(events);
    return permitted;
  }

  void record(nanoseconds duration, Outcome failed) {
    const CircuitState current = state.load(std::memory_order_relaxed);
    if (current == CircuitState::DISABLED || current == CircuitState::FORCED_OPEN) return;
    PendingEvents events;
    {
      std::lock_guard lock(mutex);
      const Outcome outcome =
          failed | (duration >= config.slow_call_duration_threshold ? kSlow : Outcome{0});
      const std::int64_t second = window.is_time_based() ? epoch_second(clock.now()) : 0;
      switch (state.load(std::memory_order_relaxed)) {
        case CircuitState::CLOSED:
          window.record(outcome, second);
          if (window.exceeds_thresholds(config)) {
            transition_locked(CircuitState::OPEN, clock.now(), events);
          }
          break;
        case CircuitState::HALF_OPEN:
          window.record(outcome, second);
          if (window.has_minimum_calls()) {
            transition_locked(
                window.exceeds_thresholds(config) ? CircuitState::OPEN : CircuitState::CLOSED,
                clock.now(), events);
          }
          break;
        case CircuitState::OPEN:
          // A call permitted before the breaker opened still counts (as in Resilience4j).
        case CircuitState::METRICS_ONLY:
          window.record(outcome, second);
          break;
        case CircuitState::DISABLED:
        case CircuitState::FORCED_OPEN:
          break;
      }
    }
    if (events.count != 0) emit(events);
  }

  void operator_transition(CircuitState to) {
    PendingEvents events;
    {
      std::lock_guard lock(mutex);
      transition_locked(to, clock.now(), events);
    }
    emit(events);
  }

  void emit(const PendingEvents& events) const {
    if (!listener) return;
    for (std::size_t i = 0; i < events.count; ++i) {
      const auto& item = events.items[i];
      try {
        listener(CircuitEvent{item.kind, name, item.from, item.to, item.at});
      } catch (...) {
        // An observer must not change a call's outcome; see EventListener.
      }
    }
  }
};

CircuitBreaker::CircuitBreaker(std::string name, CircuitBreakerConfig config, const Clock& clock,
                               EventListener listener)
    : impl_(std::make_unique<Impl>(std::move(name), config, clock, std::move(listener))) {}

CircuitBreaker::~CircuitBreaker() = default;

const std::string& CircuitBreaker::name() const {
  return impl_->name;
}

bool CircuitBreaker::try_acquire() {
  const CircuitState current = impl_->state.load(std::memory_order_acquire);
  if (current == CircuitState::CLOSED || current == CircuitState::METRICS_ONLY ||
      current == CircuitState::DISABLED) [[likely]] {
    return true;
  }
  return impl_->acquire_slow(current);
}

void CircuitBreaker::on_success(nanoseconds duration) {
  impl_->record(duration, 0);
}

void CircuitBreaker::on_error(nanoseconds duration) {
  impl_->record(duration, kFailed);
}

void CircuitBreaker::release_permission() {
  Impl& s = *impl_;
  if (s.state.load(std::memory_order_relaxed) != CircuitState::HALF_OPEN) return;
  std::lock_guard lock(s.mutex);
  if (s.state.load(std::memory_order_relaxed) == CircuitState::HALF_OPEN &&
      s.half_open_permits_left < s.config.permitted_number_of_calls_in_half_open_state) {
    ++s.half_open_permits_left;
  }
}

CircuitState CircuitBreaker::state() const {
  Impl& s = *impl_;
  const CircuitState current = s.state.load(std::memory_order_acquire);
  if (current != CircuitState::OPEN) return current;
  const Clock::time_point now = s.clock.now();
  if (to_ns(now) < s.open_until_ns.load(std::memory_order_acquire)) return current;
  PendingEvents events;
  CircuitState result;
  {
    std::lock_guard lock(s.mutex);
    s.auto_transition_locked(now, events);
    result = s.state.load(std::memory_order_relaxed);
  }
  s.emit(events);
  return result;
}

void CircuitBreaker::transition_to_forced_open() {
  impl_->operator_transition(CircuitState::FORCED_OPEN);
}

void CircuitBreaker::transition_to_disabled() {
  impl_->operator_transition(CircuitState::DISABLED);
}

void CircuitBreaker::transition_to_metrics_only() {
  impl_->operator_transition(CircuitState::METRICS_ONLY);
}

void CircuitBreaker::transition_to_closed() {
  impl_->operator_transition(CircuitState::CLOSED);
}

void CircuitBreaker::reset() {
  Impl& s = *impl_;
  PendingEvents events;
  {
    std::lock_guard lock(s.mutex);
    s.transition_locked(CircuitState::CLOSED, s.clock.now(), events);
    s.not_permitted_total.store(0, std::memory_order_relaxed);
    s.not_permitted_at_state_start = 0;
    s.half_open_permits_left = 0;
    s.transitions.clear();
  }
  s.emit(events);
}

void CircuitBreaker::reconfigure(CircuitBreakerConfig config) {
  config.validate();
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  // HALF_OPEN trials given out and not yet ended keep their permits: the quota was given again
  // whole, and calls beyond it went through beside the trials still on their way (an outside
  // probe reconfigured a breaker during a slow trial). The half-open window counts only the
  // trials that ended (it is count-based).
  const int trials_running =
      s.state.load(std::memory_order_relaxed) == CircuitState::HALF_OPEN
          ? std::max<int>(0, s.config.permitted_number_of_calls_in_half_open_state -
                                 s.half_open_permits_left -
                                 static_cast<int>(s.window.totals(0).calls))
          : 0;
  s.config = config;
  switch (s.state.load(std::memory_order_relaxed)) {
    case CircuitState::CLOSED:
    case CircuitState::METRICS_ONLY:
    case CircuitState::OPEN:
      s.window = s.closed_window();
      break;
    case CircuitState::HALF_OPEN:
      s.window = s.half_open_window();
      s.half_open_permits_left =
          std::max(0, s.config.permitted_number_of_calls_in_half_open_state - trials_running);
      break;
    case CircuitState::DISABLED:
    case CircuitState::FORCED_OPEN:
      break;
  }
  // An OPEN breaker waits the new duration from the moment it opened, but its wait cannot end
  // before now: a wait that ended in the past stamped OPEN -> HALF_OPEN before calls the OPEN
  // breaker had refused since.
  Clock::time_point until = wait_end(s.opened_at, s.config.wait_duration_in_open_state);
  if (s.state.load(std::memory_order_relaxed) == CircuitState::OPEN)
    until = std::max(until, s.clock.now());
  s.open_until_ns.store(to_ns(until), std::memory_order_release);
}

CircuitBreaker::Snapshot CircuitBreaker::snapshot() const {
  Impl& s = *impl_;
  Snapshot snap;
  snap.name = s.name;
  PendingEvents events;
  {
    std::lock_guard lock(s.mutex);
    const Clock::time_point now = s.clock.now();
    s.auto_transition_locked(now, events);
    snap.state = s.state.load(std::memory_order_relaxed);
    const CallCounts& counts = s.window.totals(epoch_second(now));
    snap.number_of_buffered_calls = counts.calls;
    snap.number_of_failed_calls = counts.failed;
    snap.number_of_slow_calls = counts.slow;
    snap.number_of_slow_failed_calls = counts.slow_failed;
    snap.number_of_successful_calls = counts.calls - counts.failed;
    if (s.window.has_minimum_calls()) {
      snap.failure_rate =
          static_cast<double>(counts.failed) * 100.0 / static_cast<double>(counts.calls);
      snap.slow_call_rate =
          static_cast<double>(counts.slow) * 100.0 / static_cast<double>(counts.calls);
    }
    snap.total_not_permitted_calls = s.not_permitted_total.load(std::memory_order_relaxed);
    snap.number_of_not_permitted_calls =
        snap.total_not_permitted_calls - s.not_permitted_at_state_start;
    if (snap.state == CircuitState::OPEN) {
      snap.open_until = from_ns(s.open_until_ns.load(std::memory_order_relaxed));
    }
    snap.config = s.config;
    snap.transitions = s.transitions;
  }
  s.emit(events);
  return snap;
}

}  // namespace shopctl::platform::resilience
