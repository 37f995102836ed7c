// `shopctl run --target`: scenarios against one running shop must not see what an earlier
// scenario left behind (faults, an open breaker, a stopped service, a changed price, its
// config), while what shoppers stored stays. Whole shop on ephemeral ports, real HTTP.
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "scenario/parser.hpp"
#include "scenario/runner.hpp"

namespace {

namespace http = shopctl::http;
namespace scenario = shopctl::scenario;
using nlohmann::json;
using shopctl::test_support::send;

scenario::Scenario parse_named(const std::string& yaml, const std::string& file) {
  auto result = scenario::parse_scenario_text(yaml, file);
  INFO(result.format_diagnostics());
  REQUIRE(result.ok());
  return *result.scenario;
}

std::string failures_of(const scenario::RunSummary& summary) {
  std::string all;
  for (const auto& r : summary.results) {
    for (const auto& f : r.failures) all += r.file + ": " + f.step + ": " + f.message + "\n";
  }
  return all;
}

scenario::RunOptions against(shopctl::shop::Shop& shop, unsigned jobs) {
  scenario::RunOptions options;
  options.target = shop.url("gateway");
  options.admin_token = shop.admin_token();
  options.jobs = jobs;
  return options;
}

// Opens order->catalog (the catalog answers the order service 503: 2 adds x 3 attempts fail,
// over the default minimum of 5 calls), and clears its fault in teardown as suite scenarios
// do. The breaker stays OPEN: no scenario action can close it.
const char* kTripsTheBreaker = R"(version: 1
name: trips order->catalog
setup:
  - register: {email: "trip-${run_id}@shop.test", password: correct-horse-battery}
  - login: {email: "trip-${run_id}@shop.test", password: correct-horse-battery}
steps:
  - fault: {id: catalog-down, target: catalog, from: order, type: abort, status: 503}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 503}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 503}
  - wait: 1ms
    expect: {circuit: {order->catalog: OPEN}}
teardown:
  - clear_faults: all
)";

// The next scenario, as flow/cart.yaml: adds to a cart, which needs order->catalog.
const char* kCart = R"(version: 1
name: a cart after it
steps:
  - register: {email: "cart-${run_id}@shop.test", password: correct-horse-battery}
  - login: {email: "cart-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 2}}
    expect: {status: 200, json: {$.total_cents: 2580}, circuit: {order->catalog: CLOSED}}
)";

}  // namespace

TEST_CASE(
    "against a running shop, a breaker an earlier scenario opened is closed again before the next "
    "one") {
  auto shop = shopctl::test_support::start_shop();
  std::vector<scenario::Scenario> scenarios = {parse_named(kTripsTheBreaker, "trip.yaml"),
                                               parse_named(kCart, "cart.yaml")};
  auto summary = scenario::run_scenarios(scenarios, against(*shop, 1));
  INFO(failures_of(summary));
  CHECK(summary.results[0].status == scenario::ScenarioStatus::passed);
  CHECK(summary.results[1].status == scenario::ScenarioStatus::passed);
}

TEST_CASE(
    "against a running shop, stopped services, faults, prices and config are back before the next "
    "scenario") {
  auto shop = shopctl::test_support::start_shop();
  const char* leaves_a_mess = R"(version: 1
name: leaves a mess
config:
  order:
    catalog_client: {timeout: 150ms, retry: {max_attempts: 1}}
    circuit_breakers: {order->catalog: {sliding_window_size: 2, minimum_number_of_calls: 2}}
steps:
  - set_price: {product: p-001, price_cents: 99}
  - set_available: {product: p-006, available: false}
  - fault: {target: auth, type: abort, status: 500}
  - stop: payment
  - advance_clock: 10m
)";
  const char* expects_the_baseline = R"(version: 1
name: finds the baseline
exclusive: true
steps:
  - register: {email: "base-${run_id}@shop.test", password: correct-horse-battery}
    expect: {status: 201}
  - login: {email: "base-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200, json: {$.total_cents: 1290}}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-006, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201, json: {$.status: PAYMENT_PENDING}}
)";
  std::vector<scenario::Scenario> scenarios = {parse_named(leaves_a_mess, "mess.yaml"),
                                               parse_named(expects_the_baseline, "baseline.yaml")};
  auto summary = scenario::run_scenarios(scenarios, against(*shop, 2));
  INFO(failures_of(summary));
  CHECK(summary.results[0].status == scenario::ScenarioStatus::passed);
  CHECK(summary.results[1].status == scenario::ScenarioStatus::passed);
  // The clock cannot go back: its offset is noted with each scenario instead.
  REQUIRE(summary.results[1].clock_offset_ms.has_value());
  CHECK(*summary.results[1].clock_offset_ms >= 600'000);
  CHECK(summary.results[0].exclusive == true);
  CHECK(summary.results[0].exclusive_reason.find("config") != std::string::npos);

  // After the run the shop is left at its baseline: its own settings, breakers closed.
  http::BlockingClient client;
  auto breakers = send(client, "GET", shop->url("order") + "/_admin/circuit-breakers", std::nullopt,
                       {{"X-Admin-Token", shop->admin_token()}});
  REQUIRE(breakers.status == 200);
  for (const auto& b : breakers.body.at("items")) {
    CHECK(b.at("state") == "CLOSED");
    CHECK(b.at("config").at("sliding_window_size") == 10);
  }
  CHECK(shop->services()[3].running);  // payment
}

TEST_CASE("against a running shop, a reset keeps what shoppers stored") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  auto token = shopctl::test_support::demo_token(client, *shop);
  const shopctl::test_support::HeaderList bearer = {{"Authorization", "Bearer " + token}};
  REQUIRE(send(client, "POST", shop->url("gateway") + "/api/cart/items",
               json{{"product_id", "p-002"}, {"quantity", 1}}, bearer)
              .status == 200);
  auto order = send(client, "POST", shop->url("gateway") + "/api/orders", std::nullopt, bearer);
  REQUIRE(order.status == 201);

  const shopctl::test_support::HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  auto reset = send(client, "POST", shop->url("gateway") + "/_admin/reset", json::object(), admin);
  REQUIRE(reset.status == 200);
  CHECK(reset.body.at("clock").contains("offset_ms"));

  auto again =
      send(client, "GET",
           shop->url("gateway") + "/api/orders/" + order.body.at("order_id").get<std::string>(),
           std::nullopt, bearer);
  CHECK(again.status == 200);
  CHECK(shopctl::test_support::demo_token(client, *shop).size() > 0);
}

TEST_CASE("the baseline routes need the admin token like the rest of the admin plane") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  for (const char* path : {"/_admin/reset", "/_admin/baseline", "/_admin/config"}) {
    CAPTURE(path);
    auto answer = send(client, "POST", shop->url("gateway") + path, json::object());
    CHECK(answer.status == 401);
    CHECK(answer.body.at("error").at("code") == "admin_token_required");
    // A wrong token is told apart from a missing one.
    auto wrong = send(client, "POST", shop->url("gateway") + path, json::object(),
                      shopctl::test_support::HeaderList{{"X-Admin-Token", "not-the-token"}});
    CHECK(wrong.status == 401);
    CHECK(wrong.body.at("error").at("code") == "invalid_admin_token");
  }
}

TEST_CASE(
    "POST /_admin/config refuses a key a running shop cannot take, naming it, and bad values with "
    "400") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  const shopctl::test_support::HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  auto secrets = send(client, "POST", shop->url("gateway") + "/_admin/config",
                      json{{"secrets", {{"admin_token", "x"}}}}, admin);
  CHECK(secrets.status == 422);
  CHECK(secrets.body.at("error").at("code") == "config_not_runtime");
  CHECK(secrets.body.at("error").at("message").get<std::string>().find("secrets.admin_token") !=
        std::string::npos);
  // A key that is no setting at all is a mistake to mend, not a setting a running shop cannot
  // take: it was answered 422 "cannot change on a running shop" (an outside probe).
  for (const auto& typo :
       {json{{"ordr", {{"max_unpaid_orders", 0}}}}, json{{"order", {{"max_unpaid_order", 0}}}}}) {
    auto unknown = send(client, "POST", shop->url("gateway") + "/_admin/config", typo, admin);
    CHECK(unknown.status == 400);
    CHECK(unknown.body.at("error").at("code") == "invalid_config");
    CHECK(unknown.body.at("error").at("message").get<std::string>().find("unknown") !=
          std::string::npos);
  }
  auto bad = send(client, "POST", shop->url("gateway") + "/_admin/config",
                  json{{"order", {{"catalog_client", {{"timeout", "soon"}}}}}}, admin);
  CHECK(bad.status == 400);
  CHECK(bad.body.at("error").at("code") == "invalid_config");
  auto ok = send(
      client, "POST", shop->url("gateway") + "/_admin/config",
      json{{"order", {{"circuit_breakers", {{"order->catalog", {{"sliding_window_size", 3}}}}}}}},
      admin);
  CHECK(ok.status == 200);
  auto breakers =
      send(client, "GET", shop->url("order") + "/_admin/circuit-breakers", std::nullopt, admin);
  CHECK(breakers.body.at("items").at(0).at("config").at("sliding_window_size") == 3);
}

TEST_CASE("against a running shop, scenarios that share it run in parallel and each passes") {
  auto shop = shopctl::test_support::start_shop();
  std::vector<scenario::Scenario> scenarios;
  for (int i = 0; i < 6; ++i) {
    scenarios.push_back(parse_named(R"(version: 1
steps:
  - register: {email: "p-${run_id}@shop.test", password: correct-horse-battery}
    expect: {status: 201}
  - login: {email: "p-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 2}}
    expect: {status: 200, json: {$.total_cents: 2580}}
)",
                                    "shared-" + std::to_string(i) + ".yaml"));
  }
  auto summary = scenario::run_scenarios(scenarios, against(*shop, 4));
  INFO(failures_of(summary));
  CHECK(summary.passed() == 6);
  for (const auto& r : summary.results) CHECK(r.exclusive == false);
}

namespace {

// How many of the call records a step's report lists on `edge` (the report keeps every record
// of the step, the other scenarios' background work included).
int recorded_on(const scenario::StepResult& step, const std::string& edge) {
  int n = 0;
  for (const auto& record : step.calls) n += record.value("edge", "") == edge ? 1 : 0;
  return n;
}

const scenario::StepResult* step_named(const scenario::ScenarioResult& result,
                                       const std::string& label) {
  for (const auto& step : result.steps) {
    if (step.label.find(label) != std::string::npos) return &step;
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "against a running shop, an earlier scenario's unpaid payment reconciled during a later one is "
    "not in its calls") {
  auto shop = shopctl::test_support::start_shop();
  // Checks out and never pays: its payment stays PENDING, due for reconciliation (a GET of its
  // intent on payment->provider) reconcile.after (60 s) later on the shop clock. It shares the
  // shop (no expectation on calls), so it runs in the parallel group, before the other.
  const char* leaves_an_unpaid_payment = R"(version: 1
name: leaves an unpaid payment
steps:
  - register: {email: "unpaid-${run_id}@shop.test", password: correct-horse-battery}
  - login: {email: "unpaid-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201, json: {$.status: PAYMENT_PENDING}}
)";
  // Also leaves its own payment unpaid, then moves the clock past reconcile.after: both
  // payments are due at once; exactly one look is this scenario's.
  const char* counts_its_own = R"(version: 1
name: counts its own calls
steps:
  - register: {email: "own-${run_id}@shop.test", password: correct-horse-battery}
  - login: {email: "own-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-002, quantity: 1}}
    expect: {status: 200}
  - name: its checkout opens one intent
    request: {method: POST, path: /api/orders}
    expect: {status: 201, calls: [{edge: order->payment, count: 1}, {edge: payment->provider, count: 1}]}
  - name: past reconcile.after reconciliation looks at its own payment once
    concurrently:
      - advance_clock: 2m
      - wait: 1500ms
    expect: {calls: [{edge: payment->provider, count: 1}, {edge: payment->order, count: 0}]}
)";
  std::vector<scenario::Scenario> scenarios = {parse_named(leaves_an_unpaid_payment, "unpaid.yaml"),
                                               parse_named(counts_its_own, "own.yaml")};
  auto summary = scenario::run_scenarios(scenarios, against(*shop, 2));
  INFO(failures_of(summary));
  CHECK(summary.results[0].status == scenario::ScenarioStatus::passed);
  CHECK(summary.results[0].exclusive == false);
  CHECK(summary.results[1].exclusive == true);
  CHECK(summary.results[1].status == scenario::ScenarioStatus::passed);
  // Not vacuous: the earlier scenario's look did happen during that step (the report lists it).
  const auto* looked = step_named(summary.results[1], "past reconcile.after");
  REQUIRE(looked != nullptr);
  CHECK(recorded_on(*looked, "payment->provider") == 2);

  // In-process (a shop of its own) the same scenario sees the same count.
  auto alone =
      scenario::run_scenarios({parse_named(counts_its_own, "own.yaml")}, scenario::RunOptions{});
  INFO(failures_of(alone));
  CHECK(alone.results[0].status == scenario::ScenarioStatus::passed);
}

TEST_CASE(
    "against a running shop, an earlier scenario's webhook retries, callbacks and order expiry are "
    "not in a later one's calls") {
  auto shop = shopctl::test_support::start_shop();
  // Pays while payment is stopped (the provider's next try is 10 min later: the retry waits
  // on the shop clock, after the scenario), then leaves a second order unpaid (it expires 30
  // min after its checkout). Reconciliation is pushed out of the way for its payments.
  const char* leaves_work_behind = R"(version: 1
name: leaves a webhook retry and an order to expire
config:
  payment: {reconcile: {after: 100h}}
  provider: {webhook_retry: {initial_backoff: 10m, max_backoff: 1h}}
steps:
  - register: {email: "behind-${run_id}@shop.test", password: correct-horse-battery}
  - login: {email: "behind-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201}
    capture: {pay_url: $.payment.pay_url}
  - stop: payment
  - pay: {pay_url: "${pay_url}", card: "4242424242424242"}
    expect: {status: 200, json: {$.status: succeeded, $.webhook_delivered: false}}
  - start: payment
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-002, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201}
teardown:
  - start: payment
)";
  // Its own order expires in the same step as the earlier scenario's background work.
  const char* counts_its_own = R"(version: 1
name: counts its own expiry only
steps:
  - register: {email: "later-${run_id}@shop.test", password: correct-horse-battery}
  - login: {email: "later-${run_id}@shop.test", password: correct-horse-battery}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-003, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201}
  - name: 31 minutes later its own order expires
    concurrently:
      - advance_clock: 31m
      - wait: 2s
    expect:
      calls:
        - {edge: order->payment, count: 1}
        - {edge: payment->provider, min: 1, max: 2}
        - {edge: provider->gateway, count: 0}
        - {edge: client->gateway, count: 0}
        - {edge: gateway->payment, count: 0}
        - {edge: payment->order, count: 0}
)";
  std::vector<scenario::Scenario> scenarios = {parse_named(leaves_work_behind, "behind.yaml"),
                                               parse_named(counts_its_own, "later.yaml")};
  auto summary = scenario::run_scenarios(scenarios, against(*shop, 1));
  INFO(failures_of(summary));
  CHECK(summary.results[0].status == scenario::ScenarioStatus::passed);
  CHECK(summary.results[1].status == scenario::ScenarioStatus::passed);
  // Not vacuous: the earlier scenario's retry (and its callback) and its orders' expiry
  // happened during that step.
  const auto* expired = step_named(summary.results[1], "31 minutes later");
  REQUIRE(expired != nullptr);
  CHECK(recorded_on(*expired, "provider->gateway") >= 1);
  CHECK(recorded_on(*expired, "payment->order") >= 1);
  CHECK(recorded_on(*expired, "order->payment") >= 2);
}

// A run's failed logins for an email throttled that email for the rest of the run and for the
// runs after it (the reset left the login throttle as it was).
TEST_CASE("POST /_admin/reset forgets the failed logins counted so far") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  const auto login = [&](const std::string& password) {
    return send(client, "POST", shop->url("gateway") + "/api/auth/login",
                json{{"email", "demo@shop.test"}, {"password", password}});
  };
  for (int i = 0; i < 5; ++i) REQUIRE(login("wrong-password-1").status == 401);
  REQUIRE(login("demo-password-1").status == 429);
  const shopctl::test_support::HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  auto reset = send(client, "POST", shop->url("gateway") + "/_admin/reset", json::object(), admin);
  REQUIRE(reset.status == 200);
  CHECK(reset.body.at("failed_logins_forgotten") == 1);
  CHECK(login("demo-password-1").status == 200);
  auto again = send(client, "POST", shop->url("gateway") + "/_admin/reset", json::object(), admin);
  CHECK(again.body.at("failed_logins_forgotten") == 0);
}

// Two runs on one shop reset it under each other; the run lease keeps them apart.
TEST_CASE("the run lease: one holder at a time, renewed by its holder, released, checked input") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  const shopctl::test_support::HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  const auto lease = shop->url("gateway") + "/_admin/lease";
  auto take = [&](const std::string& holder) {
    return send(client, "POST", lease, json{{"holder", holder}, {"about", "run " + holder}}, admin);
  };
  REQUIRE(take("a").status == 200);
  auto refused = take("b");
  CHECK(refused.status == 409);
  CHECK(refused.body.at("error").at("code") == "shop_in_use");
  CHECK(refused.body.at("error").at("details").at("about") == "run a");
  auto renewal = take("a");
  CHECK(renewal.status == 200);
  CHECK(renewal.body.at("renewed") == true);
  CHECK(send(client, "POST", lease, json::object(), admin).status == 400);
  CHECK(send(client, "POST", lease, json{{"holder", "b"}, {"ttl_ms", 5}}, admin).status == 400);
  CHECK(send(client, "POST", lease, json{{"holder", "a"}}).status == 401);  // the admin token
  auto wrong = send(client, "POST", lease + "/release", json{{"holder", "b"}}, admin);
  CHECK(wrong.body.at("released") == false);
  auto released = send(client, "POST", lease + "/release", json{{"holder", "a"}}, admin);
  CHECK(released.body.at("released") == true);
  auto fresh = take("b");
  CHECK(fresh.status == 200);
  CHECK(fresh.body.at("renewed") == false);  // taken afresh: a renewal of a lost lease says so
  // `about` is printed by the runs that wait: one line, no control characters; a string.
  REQUIRE(send(client, "POST", lease + "/release", json{{"holder", "b"}}, admin).status == 200);
  REQUIRE(send(client, "POST", lease, json{{"holder", "c"}, {"about", "evil\nline\x1b[31m"}}, admin)
              .status == 200);
  auto told = take("d");
  CHECK(told.body.at("error").at("details").at("about") == "evil line [31m");
  CHECK(send(client, "POST", lease, json{{"holder", "e"}, {"about", 5}}, admin).status == 400);
}

// A run whose lease ran out (its runner paused past 30 s) and that another run took went on
// after it: its end-of-run reset cleared the other run's fault mid-scenario, the other run
// failed with no word of why, and the first passed (an outside probe). A run's admin requests
// carry its lease's holder (X-Shopctl-Lease): refused once another holder's lease is live.
TEST_CASE("a run's admin requests are refused once another run holds the shop's lease") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  const auto gateway = shop->url("gateway");
  const shopctl::test_support::HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  auto as = [&](const std::string& holder) {
    auto headers = admin;
    headers.emplace_back("X-Shopctl-Lease", holder);
    return headers;
  };
  const json fault = {{"id", "b-fault"}, {"target", "catalog"}, {"type", "delay"}, {"delay_ms", 1}};
  // No lease: a holder's requests go through, as a person's without one do.
  CHECK(send(client, "GET", gateway + "/_admin/faults", std::nullopt, as("a")).status == 200);
  REQUIRE(send(client, "POST", gateway + "/_admin/lease", json{{"holder", "a"}, {"ttl_ms", 1000}},
               admin)
              .status == 200);
  CHECK(send(client, "POST", gateway + "/_admin/faults", fault, as("a")).status == 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a's lease runs out
  // Then the shop resets itself under a lease of its own (a's run was killed, as far as the
  // shop can tell): a's requests meanwhile are refused as any other holder's would be.
  const int late = send(client, "GET", gateway + "/_admin/faults", std::nullopt, as("a")).status;
  CHECK((late == 200 || late == 409));
  // The shop resets itself when a lease runs out unreleased, holding the lease meanwhile: b
  // takes it once that is done (or before it began).
  int taken = 0;
  for (int i = 0; i < 100 && taken != 200; ++i) {
    taken = send(client, "POST", gateway + "/_admin/lease",
                 json{{"holder", "b"}, {"about", "shopctl run, pid 7"}}, admin)
                .status;
    if (taken != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(taken == 200);
  const json b_fault = {{"id", "b-own"}, {"target", "catalog"}, {"type", "delay"}, {"delay_ms", 1}};
  CHECK(send(client, "POST", gateway + "/_admin/faults", b_fault, as("b")).status == 201);
  // a's reset, on every admin plane of the shop (the gateway first; another when it is down):
  for (const char* service : {"gateway", "catalog", "payment"}) {
    CAPTURE(service);
    auto refused =
        send(client, "POST", shop->url(service) + "/_admin/reset", json::object(), as("a"));
    CHECK(refused.status == 409);
    CHECK(refused.body.at("error").at("code") == "lease_lost");
    CHECK(refused.body.at("error").at("message").get<std::string>().find("shopctl run, pid 7") !=
          std::string::npos);
  }
  // b's run finds the shop as it left it: its fault is there.
  const auto left = shop->faults().list();
  CHECK(std::any_of(left.begin(), left.end(),
                    [](const auto& f) { return f.value("id", "") == "b-own"; }));
  // b's requests, and a person's without a holder, go through; a learns its loss by the lease
  // route (409 shop_in_use), which the fence leaves alone.
  CHECK(send(client, "GET", gateway + "/_admin/faults", std::nullopt, as("b")).status == 200);
  CHECK(send(client, "GET", gateway + "/_admin/faults", std::nullopt, admin).status == 200);
  CHECK(send(client, "POST", gateway + "/_admin/lease", json{{"holder", "a"}}, as("a")).status ==
        409);
}

// A run killed with SIGKILL never resets the shop at its end: the next run's baseline recorded
// the killed run's 1-cent price as the shop's own, and its resets kept it there for good.
TEST_CASE("the next run puts back the catalog a run that never ended had changed") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  const shopctl::test_support::HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  const shopctl::test_support::HeaderList bearer = {
      {"Authorization", "Bearer " + shopctl::test_support::demo_token(client, *shop)}};
  auto price = [&] {
    auto product = send(client, "GET", shop->url("gateway") + "/api/catalog/products/p-007",
                        std::nullopt, bearer);
    REQUIRE(product.status == 200);
    return product.body.at("price_cents").get<std::int64_t>();
  };
  auto set_price = [&](std::int64_t cents) {
    REQUIRE(send(client, "POST", shop->url("catalog") + "/_admin/products/p-007",
                 json{{"price_cents", cents}}, admin)
                .status == 200);
  };
  const auto original = price();
  const auto next_run = [&] {
    auto summary = scenario::run_scenarios(
        {parse_named("version: 1\nname: the next run\nsteps:\n  - wait: 1ms\n", "next.yaml")},
        against(*shop, 1));
    INFO(failures_of(summary));
    CHECK(summary.passed() == 1);
  };

  // The killed run: it recorded its baseline and changed a price, and nothing more.
  REQUIRE(send(client, "POST", shop->url("gateway") + "/_admin/baseline", json::object(), admin)
              .status == 200);
  set_price(1);
  next_run();
  CHECK(price() == original);

  // A run that ended leaves the baseline free: a price an operator sets after it is the shop's
  // own for the next run, not undone.
  set_price(original + 100);
  next_run();
  CHECK(price() == original + 100);
  set_price(original);
}
