// The scenario format's actions for the money cases (issue 10): `crash:`, `concurrently:`
// blocks with their `responses` expectation and `after:`, and `pay: {url: ...}`.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "../support/scenario_diagnostics.hpp"
#include "scenario/diagnostics.hpp"
#include "scenario/model.hpp"
#include "scenario/parser.hpp"

using namespace std::chrono_literals;
using namespace shopctl::scenario;

namespace {

using shopctl::test_support::at;
using shopctl::test_support::dump;
using shopctl::test_support::only;
using shopctl::test_support::problems;

Scenario parsed(std::string_view yaml) {
  auto result = parse_scenario_text(yaml, "s.yaml");
  INFO(dump(result.diagnostics));
  REQUIRE(result.ok());
  return std::move(*result.scenario);
}

constexpr std::string_view kRace = R"yaml(version: 1
steps:
  - name: four checkouts of one cart
    concurrently:
      - &checkout
        request: {POST: /api/orders, json: {}}
        expect: {status: [201, 409]}
      - *checkout
      - *checkout
      - request: {POST: /api/orders, json: {}}
        capture: {winner: $.order_id}
        after: 20ms
    expect:
      responses:
        - {status: 201, count: 1}
        - {status: 409, json: {$.error.code: checkout_in_progress}, count: 3}
        - {min: 4}
      calls: [{edge: order->payment, max: 1}]
  - request: {GET: "/api/orders/${winner}"}
)yaml";

}  // namespace

TEST_CASE("crash: SERVICE parses like stop, and the gateway cannot crash") {
  const auto s = parsed("version: 1\nsteps:\n  - crash: order\n  - start: order\n");
  const auto& crash = std::get<ServiceAction>(s.steps[0].action);
  CHECK(crash.kind == ServiceAction::Kind::crash);
  CHECK(crash.service == "order");
  CHECK(action_name(s.steps[0].action) == "crash");
  CHECK(step_label(s.steps[0]) == "crash order");

  CHECK(at(only(problems("version: 1\nsteps:\n  - crash: gateway\n"), "gateway cannot crash")) ==
        "3:12");
  const auto typo = only(problems("version: 1\nsteps:\n  - crash: ordr\n"), "unknown service");
  CHECK(at(typo) == "3:12");
  CHECK(typo.message.find("did you mean 'order'?") != std::string::npos);
  CHECK(only(problems("version: 1\nsteps:\n  - crahs: order\n"), "unknown key")
            .message.find("did you mean 'crash'?") != std::string::npos);
}

TEST_CASE("a concurrently block holds its inner steps, their delays and the block's counts") {
  const auto s = parsed(kRace);
  REQUIRE(s.steps.size() == 2);
  const auto& block = std::get<ConcurrentAction>(s.steps[0].action);
  REQUIRE(block.steps.size() == 4);
  for (const auto& inner : block.steps) {
    CHECK(std::get<RequestAction>(inner.action).method == "POST");
  }
  CHECK(block.steps[0].expect->status.has_value());
  CHECK(block.steps[3].after == 20ms);
  CHECK(block.steps[0].after == 0ms);
  CHECK(block.steps[3].captures.at(0).name == "winner");
  CHECK(block.steps[3].loc.line == 10);
  CHECK(action_name(s.steps[0].action) == "concurrently");
  const auto& expect = *s.steps[0].expect;
  REQUIRE(expect.responses.size() == 3);
  CHECK(*expect.responses[0].count == 1);
  CHECK(expect.responses[0].status.has_value());
  CHECK(expect.responses[1].json.size() == 1);
  CHECK(*expect.responses[2].min == 4);
  CHECK(!expect.responses[2].status.has_value());
  CHECK(expect.responses[1].loc.line == 16);
  CHECK(expect.calls.size() == 1);
}

TEST_CASE("an inner step sees what came before the block, not what its siblings capture") {
  const auto d = problems(R"yaml(version: 1
steps:
  - concurrently:
      - request: {POST: /api/orders}
        capture: {first: $.order_id}
      - request: {GET: "/api/orders/${first}"}
  - request: {GET: "/api/orders/${first}"}
)yaml");
  // Only the sibling's use is refused; after the block the capture is visible.
  CHECK(at(only(d, "${first}")) == "6:37");
}

TEST_CASE("two inner steps may not capture the same name") {
  const auto d = problems(R"yaml(version: 1
steps:
  - concurrently:
      - request: {POST: /api/orders}
        capture: {id: $.order_id}
      - request: {POST: /api/orders}
        capture: {id: $.order_id}
)yaml");
  const auto dup = only(d, "also captured by the step at line 5");
  CHECK(at(dup) == "6:9");
  CHECK(dup.message.find("race") != std::string::npos);
}

TEST_CASE("concurrently blocks do not nest and hold 2 to 64 steps") {
  CHECK(at(only(problems(R"yaml(version: 1
steps:
  - concurrently:
      - wait: 1ms
      - concurrently: [{wait: 1ms}, {wait: 1ms}]
)yaml"),
                "do not nest")) == "5:9");
  CHECK(at(only(problems("version: 1\nsteps:\n  - concurrently: [{wait: 1ms}]\n"),
                "2 to 64 steps")) == "3:19");
  CHECK(at(only(problems("version: 1\nsteps:\n  - concurrently: {wait: 1ms}\n"), "list")) ==
        "3:19");
  std::string many = "version: 1\nsteps:\n  - concurrently:\n";
  for (int i = 0; i < 65; ++i) many += "      - wait: 1ms\n";
  CHECK(only(problems(many), "this one has 65").line == 4);
}

TEST_CASE("inner steps refuse repeat, eventually, faults and shop expectations") {
  const auto d = problems(R"yaml(version: 1
steps:
  - concurrently:
      - request: {GET: /api/cart}
        repeat: 2
      - request: {GET: /api/cart}
        eventually: {within: 1s}
        expect: {status: 200, calls: [{edge: order->catalog, count: 0}]}
      - request: {GET: /api/cart}
        faults: [{target: catalog, type: hang}]
)yaml");
  INFO(dump(d));
  CHECK(at(only(d, "'repeat' is not allowed on a step inside")) == "5:9");
  CHECK(at(only(d, "'eventually' is not allowed on a step inside")) == "7:9");
  CHECK(at(only(d, "'faults' is not allowed on a step inside")) == "10:9");
  CHECK(at(only(d, "'calls' is not allowed on a step inside")) == "8:31");
  CHECK(d.size() == 4);
}

TEST_CASE("the block's expect counts answers and refuses single-response keys") {
  const auto d = problems(R"yaml(version: 1
steps:
  - concurrently: [{request: {GET: /a}}, {request: {GET: /b}}]
    expect:
      status: 200
      responses:
        - {status: 201}
        - {status: 409, count: 1, max: 2}
        - {stauts: 409, count: 1}
        - {min: 3, max: 1}
  - request: {GET: /a}
    expect: {responses: [{count: 1}]}
  - request: {GET: /a}
    after: 10ms
  - concurrently: [{request: {GET: /a}}, {wait: 1ms}]
    capture: {x: $.y}
)yaml");
  INFO(dump(d));
  CHECK(at(only(d, "a concurrently block has one per step")) == "5:7");
  CHECK(at(only(d, "needs 'count', or 'min' and/or 'max'")) == "7:11");
  CHECK(at(only(d, "'count' is exact")) == "8:25");
  CHECK(only(d, "'stauts'").message.find("did you mean 'status'?") != std::string::npos);
  CHECK(at(only(d, "is less than 'min'")) == "10:25");
  CHECK(at(only(d, "'responses' counts the answers")) == "12:14");
  CHECK(at(only(d, "'after' only goes on a step inside a concurrently block")) == "14:5");
  CHECK(at(only(d, "'capture' only goes on")) == "16:5");
}

TEST_CASE("a login inside a block gives ${token} to the steps after the block") {
  const auto d = problems(R"yaml(version: 1
steps:
  - concurrently:
      - login: {email: a@shop.test, password: pw-12345678}
      - request: {GET: /api/cart, auth: "${token}"}
  - request: {GET: /api/cart, auth: "${token}"}
)yaml");
  INFO(dump(d));
  REQUIRE(d.size() == 1);
  CHECK(d[0].line == 5);
}

TEST_CASE("pay takes url (or pay_url) or order, one of them") {
  const auto s = parsed(
      "version: 1\nsteps:\n  - pay: {url: \"http://127.0.0.1:1/pay/x\", card: "
      "\"4242424242424242\"}\n"
      "  - pay: {pay_url: \"http://127.0.0.1:1/pay/y\", card: \"4242424242424242\"}\n");
  CHECK(*std::get<PayAction>(s.steps[0].action).pay_url == "http://127.0.0.1:1/pay/x");
  CHECK(*std::get<PayAction>(s.steps[1].action).pay_url == "http://127.0.0.1:1/pay/y");
  CHECK(at(only(problems("version: 1\nsteps:\n  - pay: {url: a, pay_url: b, card: \"1\"}\n"),
                "same key")) == "3:19");
  CHECK(at(only(problems("version: 1\nsteps:\n  - pay: {order: o, url: b, card: \"1\"}\n"),
                "not both")) == "3:21");
  CHECK(only(problems("version: 1\nsteps:\n  - pay: {card: \"1\"}\n"), "needs 'order'")
            .message.find("'url'") != std::string::npos);
}
