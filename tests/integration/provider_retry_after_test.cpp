// A checkout refused because payment's breaker to the provider is OPEN tells the shopper when
// to come back: the provider breaker's wait, which payment answers. Order's own edge to payment
// is CLOSED then, and its Retry-After said 1 while the provider's breaker had 40 s to go, so a
// shopper came back each second to another FAILED order (an outside probe).
#include <doctest/doctest.h>

#include <string>

#include "../support/scenario_text.hpp"

TEST_CASE("a checkout refused by the open provider breaker says the breaker's wait") {
  const auto result = shopctl::test_support::run_scenario_text(R"(version: 1
name: the provider breaker's wait reaches the shopper
config:
  order:
    payment_client: {timeout: 2s, retry: {max_attempts: 1}}
  payment:
    provider_client: {timeout: 1s, retry: {max_attempts: 1}}
    circuit_breakers:
      payment->provider: {sliding_window_size: 1, minimum_number_of_calls: 1, failure_rate_threshold: 50,
                          wait_duration_in_open_state: 40s, permitted_number_of_calls_in_half_open_state: 1}
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200}
steps:
  - fault: {target: provider, from: payment, type: abort, status: 503, select: {first: 1}}
  - name: the provider fails once, and its breaker opens
    request: {method: POST, path: /api/orders, headers: {Idempotency-Key: first}}
    expect: {status: 503, circuit: {payment->provider: OPEN}}
  - name: refused by the open breaker, with 40 s to go
    request: {method: POST, path: /api/orders, headers: {Idempotency-Key: second}}
    expect:
      status: 503
      json: {$.error.code: payment_unavailable}
      calls: [{edge: payment->provider, count: 1, refused: true}]
      headers: {Retry-After: {gte: 39, lte: 40}}
)");
  CHECK_MESSAGE(result.failures.empty(), shopctl::test_support::failures_of(result));
}

// Order's own breaker to payment opened on the checkout's first attempt (payment's 503 said 40
// s) and refused its retry: the shopper was told the open breaker's 5 s, not payment's 40 (an
// outside probe). The edge keeps the wait payment asked for, whoever refuses the next attempt.
TEST_CASE("a retry refused by order's own breaker still says the wait payment asked for") {
  const auto result = shopctl::test_support::run_scenario_text(R"(version: 1
name: payment's wait outlives order's own breaker
config:
  order:
    payment_client: {timeout: 1s, retry: {max_attempts: 2, initial_backoff: 10ms}}
    circuit_breakers:
      order->payment: {minimum_number_of_calls: 3, sliding_window_size: 3, failure_rate_threshold: 50,
                       wait_duration_in_open_state: 5s}
  payment:
    provider_client: {timeout: 500ms, retry: {max_attempts: 1}}
    circuit_breakers:
      payment->provider: {sliding_window_size: 1, minimum_number_of_calls: 1, failure_rate_threshold: 50,
                          wait_duration_in_open_state: 40s}
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-003, quantity: 1}}
steps:
  - fault: {target: provider, from: payment, type: abort, status: 500}
  - name: the first checkout opens payment->provider
    request: {method: POST, path: /api/orders}
    expect: {status: 503}
  - name: the second, refused by payment and then by order's own breaker
    request: {method: POST, path: /api/orders}
    expect:
      status: 503
      json: {$.error.code: payment_unavailable}
      circuit: {order->payment: OPEN}
      headers: {Retry-After: {gte: 39, lte: 40}}
)");
  CHECK_MESSAGE(result.failures.empty(), shopctl::test_support::failures_of(result));
}
