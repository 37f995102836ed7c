// The failures of one step are listed in the order of the file, whatever order the runner
// judges its expectations in (the answer's first, then the shop's: `calls` at line 17 was
// listed after `circuit` at line 18).
#include <doctest/doctest.h>

#include <string>

#include "../support/scenario_text.hpp"

TEST_CASE("a step's failed expectations are listed in the order of the file") {
  const auto result = shopctl::test_support::run_scenario_text(R"(version: 1
name: failures in file order
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - name: two wrong expectations
    request: {GET: /api/catalog/products}
    expect:
      calls: [{edge: gateway->catalog, count: 5}]
      circuit: {order->catalog: OPEN}
      status: 201
)");
  REQUIRE(result.failures.size() == 3);
  CHECK(result.failures[0].where.line == 9);
  CHECK(result.failures[0].message.find("call(s) on gateway->catalog") != std::string::npos);
  CHECK(result.failures[1].where.line == 10);
  CHECK(result.failures[1].message.find("circuit order->catalog") != std::string::npos);
  CHECK(result.failures[2].where.line == 11);
  CHECK(result.failures[2].message.find("201") != std::string::npos);
}

// "saw 0" listed the very call the author expected, with no word of why it was not counted: a
// violation counts under `violations` (or `refused: true`), not as a call (an outside probe).
TEST_CASE("a calls failure says why a listed call of its edge was not counted") {
  const auto result = shopctl::test_support::run_scenario_text(R"(version: 1
name: a violation listed under calls
allow_violations: true
steps:
  - name: an outsider calls the catalog directly
    request: {GET: /products/p-001, service: catalog}
    expect:
      status: 401
      calls: [{edge: client->catalog, count: 1}]
)");
  REQUIRE(result.failures.size() == 1);
  const auto& message = result.failures[0].message;
  CAPTURE(message);
  CHECK(message.find("expected exactly 1 call(s) on client->catalog, saw 0") != std::string::npos);
  CHECK(message.find("GET /products/p-001 -> 401 (not counted: a violation; `violations` or "
                     "`refused: true` counts it)") != std::string::npos);
}
