// An OPEN breaker's automatic move to HALF_OPEN is made when the breaker is next read, dated when
// its wait ended. A step's transitions listed it where someone next read the breaker: with a
// `circuit:` read (or a /metrics scrape) in the step whose clock advance ended the wait it was
// that step's, without one the next step's (an outside probe). The shop reads its breakers
// before it answers for its calls, so the move is the step's in which the wait ended.
#include <doctest/doctest.h>

#include <string>

#include "../support/scenario_text.hpp"

TEST_CASE("an automatic OPEN -> HALF_OPEN move is listed in the step whose wait ended it") {
  const auto result = shopctl::test_support::run_scenario_text(R"(version: 1
name: the automatic move is the advance's
config:
  order:
    catalog_client: {timeout: 300ms, retry: {max_attempts: 1}}
    circuit_breakers:
      order->catalog: {sliding_window_size: 2, minimum_number_of_calls: 2, failure_rate_threshold: 50,
                       wait_duration_in_open_state: 10s, permitted_number_of_calls_in_half_open_state: 1,
                       automatic_transition_from_open_to_half_open: true}
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - fault: {target: catalog, from: order, match: {path: /products/*}, type: abort, status: 500, select: {first: 2}}
  - name: two failures open the breaker
    request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    repeat: 2
    expect: {status: 503, circuit_transitions: {order->catalog: [CLOSED->OPEN]}}
  - name: the wait ends in this step, read by no one (an expectation here would read it)
    advance_clock: 11s
  - name: the trial closes it
    request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200, circuit_transitions: {order->catalog: [HALF_OPEN->CLOSED]}}
)");
  CHECK_MESSAGE(result.failures.empty(), shopctl::test_support::failures_of(result));
}
