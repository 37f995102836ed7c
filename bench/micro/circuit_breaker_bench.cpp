// The cost the breaker adds to every call on an edge. Resilience4j spends about 95-500 ns on a
// permitted call; the CLOSED path here should be a small fraction of that.
#include <benchmark/benchmark.h>

#include <chrono>

#include "platform/clock.hpp"
#include "platform/resilience/circuit_breaker.hpp"

namespace {

using namespace std::chrono_literals;
using shopctl::platform::ManualClock;
using shopctl::platform::SimulatedClock;
using shopctl::platform::resilience::CircuitBreaker;
using shopctl::platform::resilience::CircuitBreakerConfig;
using shopctl::platform::resilience::CircuitEvent;
using shopctl::platform::resilience::CircuitState;
using shopctl::platform::resilience::SlidingWindowType;

CircuitBreakerConfig time_based() {
  CircuitBreakerConfig config;
  config.sliding_window_type = SlidingWindowType::TIME_BASED;
  config.sliding_window_size = 10;
  return config;
}

void permitted_call(benchmark::State& state, CircuitBreaker& breaker) {
  for (auto _ : state) {
    const bool permitted = breaker.try_acquire();
    benchmark::DoNotOptimize(permitted);
    breaker.on_success(1ms);
  }
  state.SetItemsProcessed(state.iterations());
}

// Shared by all threads of a run, as one edge's breaker is shared by its calls.
void BM_BreakerClosedPermittedCall(benchmark::State& state) {
  static ManualClock clock;
  static CircuitBreaker breaker("bench", CircuitBreakerConfig{}, clock);
  permitted_call(state, breaker);
}
BENCHMARK(BM_BreakerClosedPermittedCall)->Threads(1)->Threads(2)->UseRealTime();

void BM_BreakerClosedPermittedCallWithListener(benchmark::State& state) {
  static ManualClock clock;
  static CircuitBreaker breaker("bench", CircuitBreakerConfig{}, clock,
                                [](const CircuitEvent& e) { benchmark::DoNotOptimize(&e); });
  permitted_call(state, breaker);
}
BENCHMARK(BM_BreakerClosedPermittedCallWithListener);

void BM_BreakerClosedTimeBasedWindow(benchmark::State& state) {
  static ManualClock clock;
  static CircuitBreaker breaker("bench", time_based(), clock);
  permitted_call(state, breaker);
}
BENCHMARK(BM_BreakerClosedTimeBasedWindow)->Threads(1)->Threads(2)->UseRealTime();

// The shop's own clock reads the system clock on every time-based record.
void BM_BreakerClosedTimeBasedWindowSimulatedClock(benchmark::State& state) {
  static SimulatedClock clock;
  static CircuitBreaker breaker("bench", time_based(), clock);
  permitted_call(state, breaker);
}
BENCHMARK(BM_BreakerClosedTimeBasedWindowSimulatedClock);

void BM_BreakerMetricsOnlyErrorCall(benchmark::State& state) {
  ManualClock clock;
  CircuitBreaker breaker("bench", CircuitBreakerConfig{}, clock);
  breaker.transition_to_metrics_only();
  for (auto _ : state) {
    const bool permitted = breaker.try_acquire();
    benchmark::DoNotOptimize(permitted);
    breaker.on_error(1ms);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BreakerMetricsOnlyErrorCall);

void refused_call(benchmark::State& state, CircuitBreaker& breaker) {
  for (auto _ : state) {
    const bool permitted = breaker.try_acquire();
    benchmark::DoNotOptimize(permitted);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BreakerRefusedWhileForcedOpen(benchmark::State& state) {
  ManualClock clock;
  CircuitBreaker breaker("bench", CircuitBreakerConfig{}, clock);
  breaker.transition_to_forced_open();
  refused_call(state, breaker);
}
BENCHMARK(BM_BreakerRefusedWhileForcedOpen);

// Opened by failures: every refusal reads the clock to see whether the wait is over.
void BM_BreakerRefusedWhileOpen(benchmark::State& state) {
  static ManualClock clock;
  static CircuitBreaker& breaker = []() -> CircuitBreaker& {
    static CircuitBreaker b("bench", CircuitBreakerConfig{}, clock);
    while (b.state() == CircuitState::CLOSED) {
      if (b.try_acquire()) b.on_error(1ms);
    }
    return b;
  }();
  refused_call(state, breaker);
}
BENCHMARK(BM_BreakerRefusedWhileOpen)->Threads(1)->Threads(2)->UseRealTime();

void BM_BreakerRefusedWhileOpenWithListener(benchmark::State& state) {
  ManualClock clock;
  CircuitBreaker breaker("order->catalog", CircuitBreakerConfig{}, clock,
                         [](const CircuitEvent& e) { benchmark::DoNotOptimize(&e); });
  while (breaker.state() == CircuitState::CLOSED) {
    if (breaker.try_acquire()) breaker.on_error(1ms);
  }
  refused_call(state, breaker);
}
BENCHMARK(BM_BreakerRefusedWhileOpenWithListener);

}  // namespace
