// A callback the payment->order breaker refused is tried again when the breaker lets calls
// through, not a doubled backoff later: after an order outage of a second, paid orders stayed
// PAYMENT_PENDING about 20 s past the end of the breaker's 30 s wait (an outside probe). Real
// time throughout: the breaker's wait and the outbox's backoff both run on the shop clock.
#include <doctest/doctest.h>

#include <string>

#include "../support/scenario_text.hpp"

// The tries: at once (refused connection), 200 ms later (the breaker opens, its 6.3 s begin),
// then refused by it at 0.6, 1.4, 3.0 and 6.2 s. The next try waited 6.4 s more (12.6 s); now it
// is at the end of the breaker's wait (6.5 s), and the trial call finds order up.
TEST_CASE("a callback refused by the open breaker is tried again when the breaker's wait ends") {
  const auto result = shopctl::test_support::run_scenario_text(R"(version: 1
name: the outbox follows the breaker's wait
timeout: 30s
config:
  payment:
    order_client: {timeout: 1s, retry: {max_attempts: 1}}
    outbox: {initial_backoff: 200ms, max_backoff: 30s}
    circuit_breakers:
      payment->order: {sliding_window_size: 2, minimum_number_of_calls: 2, failure_rate_threshold: 50,
                       wait_duration_in_open_state: 6300ms, permitted_number_of_calls_in_half_open_state: 1}
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201}
    capture: {order_id: $.order_id}
steps:
  - stop: order
  - pay: {order: "${order_id}", card: "4242424242424242"}
    expect: {status: 200, json: {$.status: succeeded}}
  - wait: 1s
  - start: order
  - name: PAID once the breaker's wait is over (6.5 s after the pay), not at the next backoff (12.6 s)
    request: {GET: "/api/orders/${order_id}"}
    eventually: {within: 8s, every: 100ms}
    expect: {status: 200, json: {$.status: PAID}}
teardown:
  - start: order
)");
  CHECK_MESSAGE(result.failures.empty(), shopctl::test_support::failures_of(result));
}
