// The Authorization field of a scenario's requests (docs/scenarios.md, "request"): a header the
// scenario wrote is sent as written, and the logged-in user's token goes to the shop only, not
// to another origin a request names with an absolute URL.
#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <vector>

#include "../support/running_server.hpp"
#include "../support/scenario_text.hpp"
#include "scenario/parser.hpp"
#include "scenario/runner.hpp"

namespace {

namespace asio = boost::asio;
namespace http = shopctl::http;
namespace scenario = shopctl::scenario;
using shopctl::test_support::failures_of;
using shopctl::test_support::run_scenario_text;

}  // namespace

// The runner's token replaced the written header: the request below got 200 and failed.
TEST_CASE("an Authorization header a scenario writes is sent as written, in any letter case") {
  const auto result = run_scenario_text(R"(version: 1
name: a written Authorization header
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: /api/cart, headers: {Authorization: "Bearer not-a-token"}}
    expect: {status: 401}
  - request: {GET: /api/cart, headers: {authorization: "Bearer not-a-token"}}
    expect: {status: 401}
  - request: {GET: /api/cart}
    expect: {status: 200}
)");
  INFO(failures_of(result));
  CHECK(result.status == scenario::ScenarioStatus::passed);
}

// The token of the demo user reached an echo server the scenario called by its URL.
TEST_CASE("the logged-in user's token is not sent to an absolute URL of another origin") {
  std::mutex mutex;
  std::vector<std::string> seen;  // the Authorization field of each request, "-" when none
  shopctl::test_support::RunningServer echo(
      [&](http::Request& request) -> asio::awaitable<http::Response> {
        {
          std::lock_guard lock(mutex);
          seen.emplace_back(request.headers.get("Authorization").value_or("-"));
        }
        http::Response r;
        r.status = 200;
        r.headers.set("Content-Type", "application/json");
        r.body = "{}";
        co_return r;
      });
  const std::string echo_url = "http://127.0.0.1:" + std::to_string(echo.server.port());
  const auto result = run_scenario_text(R"(version: 1
name: a request to another host
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: ")" + echo_url +
                                        R"(/echo"}
    expect: {status: 200}
  - request: {GET: ")" + echo_url +
                                        R"(/echo", auth: "asked-for"}
    expect: {status: 200}
)");
  INFO(failures_of(result));
  CHECK(result.status == scenario::ScenarioStatus::passed);
  std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == "-");
  CHECK(seen[1] == "Bearer asked-for");  // a token the scenario gives is sent where it says
}

// A failed login later in the block put back the token from before the block: Bob's cart was
// read after the block, where the docs promise the last login in list order that succeeded
// (Alice's).
TEST_CASE("after a concurrently block the token is the last successful login's in list order") {
  const auto result = run_scenario_text(R"(version: 1
name: logins in a block, a failed one last
vars: {a: "a-${run_id}@shop.test", b: "b-${run_id}@shop.test"}
setup:
  - register: {email: "${a}", password: correct-horse-battery, name: Alice}
  - register: {email: "${b}", password: correct-horse-battery, name: Bob}
  - login: {email: "${b}", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
steps:
  - concurrently:
      - login: {email: "${a}", password: correct-horse-battery}
      - login: {email: "${b}", password: wrong-password-x}
        expect: {status: 401}
  - name: now Alice's token, whose cart is empty
    request: {GET: /api/cart}
    expect: {json: {$.total_cents: 0}}
  - concurrently:
      - login: {email: "${b}", password: wrong-password-x}
        expect: {status: 401}
      - login: {email: "${b}", password: wrong-password-y}
        expect: {status: 401}
  - name: no login of the block succeeded, so still Alice's
    request: {GET: /api/cart}
    expect: {json: {$.total_cents: 0}}
  - concurrently:
      - login: {email: "${a}", password: correct-horse-battery}
      - login: {email: "${b}", password: correct-horse-battery}
  - name: now Bob's, the last in list order
    request: {GET: /api/cart}
    expect: {json: {$.total_cents: 1290}}
)");
  INFO(failures_of(result));
  CHECK(result.status == scenario::ScenarioStatus::passed);
}
