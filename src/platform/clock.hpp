#pragma once
// The one clock of a shop. Everything time-based reads it: breakers, token expiry, webhook
// age, login throttling, retry schedules. The simulated clock runs at real speed and can be
// moved forward (`advance_clock`), so a scenario skips a 60 s breaker wait in no time.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace shopctl::platform {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  // Returns the shop's current time.
  virtual time_point now() const = 0;
  // Seconds since the Unix epoch of now(), as JWT `exp` and webhook `t` use them.
  std::int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
  std::int64_t unix_millis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
};

// Real time plus an offset that only grows. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  time_point now() const override {
    return std::chrono::system_clock::now() +
           std::chrono::nanoseconds(offset_ns_.load(std::memory_order_relaxed));
  }
  // How far the clock can be ahead of real time in all: 100 years. The time points are
  // nanoseconds since 1970 in 64 bits (they end in 2262), and an offset of 2,000,000 hours
  // given twice wrapped to a negative one.
  static constexpr std::chrono::nanoseconds kMaxOffset = std::chrono::hours(24 * 36525);

  // Moves the clock forward by `d` (negative durations are ignored). Returns false, and
  // moves nothing, when the offset would pass kMaxOffset.
  [[nodiscard]] bool advance(std::chrono::nanoseconds d) {
    if (d.count() <= 0) return true;
    auto current = offset_ns_.load(std::memory_order_relaxed);
    do {
      if (d.count() > kMaxOffset.count() - current) return false;
    } while (
        !offset_ns_.compare_exchange_weak(current, current + d.count(), std::memory_order_relaxed));
    return true;
  }
  std::chrono::nanoseconds offset() const {
    return std::chrono::nanoseconds(offset_ns_.load(std::memory_order_relaxed));
  }

 private:
  std::atomic<std::int64_t> offset_ns_{0};
};

// Real time, never moved. For what must live in real time whatever the shop's clock says:
// a service credential's minute of life guards against replay, and a credential signed just
// before advance_clock() and checked just after it must still be accepted.
class RealClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
};
inline const Clock& real_clock() {
  static const RealClock clock;
  return clock;
}

// A clock that only moves when told to; for unit tests of pure logic.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = time_point(std::chrono::seconds(1'700'000'000)))
      : now_ns_(start.time_since_epoch().count()) {}
  time_point now() const override {
    return time_point(time_point::duration(now_ns_.load(std::memory_order_relaxed)));
  }
  void advance(std::chrono::nanoseconds d) {
    now_ns_.fetch_add(std::chrono::duration_cast<time_point::duration>(d).count(),
                      std::memory_order_relaxed);
  }

 private:
  std::atomic<time_point::rep> now_ns_;
};

}  // namespace shopctl::platform
