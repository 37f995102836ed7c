// The observed architecture of a running shop against the allowed one: a whole shop on
// ephemeral ports goes through browse, checkout, payment and the webhook; every call it
// records must be on an allowed edge, every recorded allowed edge must be seen, and calls
// the architecture forbids are refused, recorded as violations and drawn red by
// `shopctl graph`.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "../unit/exposition_checker.hpp"
#include "observe_tools/call_graph.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/observe/architecture.hpp"
#include "shop/shop.hpp"

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace http = shopctl::http;
namespace arch = shopctl::platform::architecture;

using shopctl::test_support::Answer;

struct EdgeShop {
  Answer send(const std::string& method, const std::string& url,
              const std::optional<json>& body = {},
              const shopctl::test_support::HeaderList& headers = {}) {
    return shopctl::test_support::send(client, method, url, body, headers);
  }
  Answer admin(const std::string& method, const std::string& path,
               const std::optional<json>& body = {}) {
    return send(method, shop->url("gateway") + path, body,
                {{"X-Admin-Token", shop->admin_token()}});
  }

  // Every service's /metrics, each checked against the exposition format, by service name.
  std::map<std::string, shopctl_test::Exposition> scrape_every_service() {
    std::map<std::string, shopctl_test::Exposition> scraped;
    for (const auto& service : shop->services()) {
      auto metrics = send("GET", service.url + "/metrics");
      REQUIRE(metrics.status == 200);
      auto x = shopctl_test::check_exposition(metrics.raw);
      INFO(service.name << ":\n" << metrics.raw);
      CHECK_MESSAGE(x.errors.empty(), service.name << ": " << x.error_text());
      scraped[service.name] = std::move(x);
    }
    return scraped;
  }

  http::BlockingClient client;
  std::unique_ptr<shopctl::shop::Shop> shop = shopctl::test_support::start_shop();
};

}  // namespace

TEST_CASE(
    "a whole purchase uses every recorded allowed edge and no other; forbidden calls are drawn "
    "red") {
  EdgeShop s;
  const auto gateway = s.shop->url("gateway");
  auto login = s.send(
      "POST", gateway + "/api/auth/login",
      json{{"email", s.shop->config().demo_email}, {"password", s.shop->config().demo_password}});
  REQUIRE(login.status == 200);
  const std::vector<std::pair<std::string, std::string>> user = {
      {"Authorization", "Bearer " + login.body["access_token"].get<std::string>()}};

  REQUIRE(s.send("GET", gateway + "/api/catalog/products", std::nullopt, user).status == 200);
  REQUIRE(s.send("POST", gateway + "/api/cart/items",
                 json{{"product_id", "p-001"}, {"quantity", 2}}, user)
              .status == 200);
  auto order = s.send("POST", gateway + "/api/orders", std::nullopt, user);
  REQUIRE(order.status == 201);
  const auto order_id = order.body["order_id"].get<std::string>();
  auto paid = s.send("POST", order.body["payment"]["pay_url"].get<std::string>(),
                     json{{"card_number", "4242424242424242"}});
  REQUIRE(paid.status < 300);
  // The webhook and the callback run after the pay page answers.
  std::string status;
  for (int i = 0; i < 100 && status != "PAID"; ++i) {
    status = s.send("GET", gateway + "/api/orders/" + order_id, std::nullopt, user)
                 .body.value("status", "");
    if (status != "PAID") std::this_thread::sleep_for(50ms);
  }
  REQUIRE(status == "PAID");

  auto calls = s.admin("GET", "/_admin/calls?since=0");
  REQUIRE(calls.status == 200);
  std::set<std::string> seen;
  for (const auto& r : calls.body["records"]) {
    INFO(r.dump());
    CHECK_FALSE(r["violation"].get<bool>());
    CHECK_MESSAGE(arch::is_allowed(r["caller"].get<std::string>(), r["callee"].get<std::string>()),
                  "a call on an edge the architecture does not allow");
    seen.insert(r["edge"].get<std::string>());
    // A route pattern, never a path with ids in it: the gateway's and the typed clients'
    // records carried the raw path (`/products/p-001`, `/internal/orders/ord_.../...`), and
    // a log pipeline grouping by route met a value per id (an outside probe).
    const auto route = r["route"].get<std::string>();
    CHECK(route.find("p-001") == std::string::npos);
    CHECK(route.find(order_id) == std::string::npos);
    CHECK(route.find("pi_") == std::string::npos);
  }
  std::map<std::string, std::set<std::string>> routes;  // by edge
  for (const auto& r : calls.body["records"])
    routes[r["edge"].get<std::string>()].insert(r["route"].get<std::string>());
  CHECK(routes["payment->order"] == std::set<std::string>{"/internal/orders/{id}/payment-result"});
  CHECK(routes["gateway->catalog"].count("/products") == 1);
  CHECK(routes["gateway->order"].count("/orders/{id}") == 1);
  for (const auto& e : arch::allowed_edges()) {
    if (e.recorded)
      CHECK_MESSAGE(seen.count(e.caller + "->" + e.callee) == 1,
                    "never seen: " << e.caller << "->" << e.callee);
  }

  // Forbidden calls: catalog -> order with a genuine catalog credential, and an outsider
  // straight at the catalog's port. Both are refused and recorded as violations.
  auto minted = s.admin("POST", "/_admin/credentials", json{{"service", "catalog"}});
  REQUIRE(minted.status == 200);
  auto as_catalog = s.send("GET", s.shop->url("order") + "/cart", std::nullopt,
                           {{"X-Service-Token", minted.body["token"].get<std::string>()}});
  auto outsider = s.send("GET", s.shop->url("catalog") + "/products");
  CHECK(outsider.status == 401);

  auto edges = s.admin("GET", "/_admin/edges");
  REQUIRE(edges.status == 200);
  CHECK(edges.body["edges"]["client->catalog"]["violations"] == 1);
  auto graph = shopctl::observe_tools::graph_from_admin_edges(edges.body);
  shopctl::observe_tools::add_violation_reasons(
      graph, s.admin("GET", "/_admin/calls?since=0").body["records"]);
  const auto mermaid =
      shopctl::observe_tools::render_graph(shopctl::observe_tools::GraphFormat::mermaid, &graph);
  INFO(mermaid);
  CHECK(mermaid.find("client -->|\"1 call refused: missing_service_credential\"| catalog") !=
        std::string::npos);
  CHECK(mermaid.find("linkStyle ") != std::string::npos);
  // Every edge the purchase used is drawn solid with its numbers; no allowed edge is dashed
  // except the unrecorded pay page.
  CHECK(mermaid.find("order -->|\"") != std::string::npos);
  CHECK(mermaid.find(" -.->") == mermaid.rfind(" -.->"));
  CHECK(mermaid.find("client -.->|\"pay page (not recorded)\"| provider") != std::string::npos);
  if (as_catalog.status == 403) {
    CHECK(edges.body["edges"]["catalog->order"]["violations"] == 1);
    CHECK(mermaid.find("catalog -->|\"1 call refused: caller_not_allowed\"| order") !=
          std::string::npos);
  } else {
    FAIL_CHECK("catalog -> order answered " << as_catalog.status << ", not 403 caller_not_allowed");
  }
}

TEST_CASE(
    "every service of a running shop serves /metrics in the exposition format, counting what "
    "happened") {
  EdgeShop s;
  const auto gateway = s.shop->url("gateway");
  auto login = s.send(
      "POST", gateway + "/api/auth/login",
      json{{"email", s.shop->config().demo_email}, {"password", s.shop->config().demo_password}});
  REQUIRE(login.status == 200);
  const std::vector<std::pair<std::string, std::string>> user = {
      {"Authorization", "Bearer " + login.body["access_token"].get<std::string>()}};
  // A fault, a violation and a checkout, so that every family has samples.
  REQUIRE(s.admin("POST", "/_admin/faults",
                  json{{"target", "catalog"},
                       {"type", "abort"},
                       {"status", 503},
                       {"from", "gateway"},
                       {"match", {{"path", "/categories"}}},
                       {"select", {{"first", 1}}}})
              .status == 201);
  CHECK(s.send("GET", gateway + "/api/catalog/categories", std::nullopt, user).status == 503);
  CHECK(s.send("POST", s.shop->url("payment") + "/internal/payments", json::object()).status ==
        401);
  REQUIRE(s.send("POST", gateway + "/api/cart/items",
                 json{{"product_id", "p-002"}, {"quantity", 1}}, user)
              .status == 200);
  REQUIRE(s.send("POST", gateway + "/api/orders", std::nullopt, user).status == 201);

  auto scraped = s.scrape_every_service();
  for (const auto& [service, x] : scraped) {
    const std::string name = service;  // a copy: doctest's messages cannot capture a binding
    CHECK_MESSAGE(x.value("shopctl_http_requests_total", {{"service", name}}).has_value(), name);
  }
  CHECK(scraped["catalog"].value("shopctl_faults_injected_total", {{"type", "abort"}}) == 1);
  // The fault's 503 is the catalog's own answer: counted under its route (it was in no metric
  // of the catalog's, which read as healthy while it answered 5xx; an outside probe).
  CHECK(scraped["catalog"].value("shopctl_http_requests_total",
                                 {{"route", "/categories"}, {"status", "503"}}) == 1);
  CHECK(scraped["payment"].value("shopctl_architecture_violations_total", {{"caller", "client"}}) ==
        1);
  CHECK(scraped["gateway"].value("shopctl_http_requests_total",
                                 {{"route", "/api/orders"}, {"status", "201"}}) == 1);
  CHECK(scraped["gateway"].value("shopctl_outbound_calls_total",
                                 {{"callee", "order"}, {"outcome", "ok"}}) >= 2);
  CHECK(scraped["order"].value("shopctl_outbound_calls_total",
                               {{"callee", "payment"}, {"outcome", "ok"}}) == 1);
  CHECK(scraped["order"].value("shopctl_circuit_breaker_state", {{"breaker", "order->catalog"}}) ==
        0);
  CHECK(scraped["payment"].value("shopctl_circuit_breaker_state",
                                 {{"breaker", "payment->provider"}}) == 0);
  CHECK(scraped["payment"].value("shopctl_payment_outbox_depth", {{"outbox", "order_callbacks"}}) ==
        0);
  REQUIRE(scraped["order"].family("shopctl_http_request_duration_seconds"));
  CHECK(scraped["order"].family("shopctl_http_request_duration_seconds")->type == "histogram");
}

// A counter born at its first event shows in no increase() or rate(): the first storage error,
// violation or breaker trip was invisible to the natural alert, and the gateway's first scrape
// was empty (an outside probe). Their known series are there at 0 from the start.
TEST_CASE("a fresh shop's /metrics has the alerting counters at 0, not absent") {
  EdgeShop s;
  auto scraped = s.scrape_every_service();
  for (const auto& [service, x] : scraped) {
    const std::string name = service;  // a copy: doctest's messages cannot capture a binding
    INFO(name);
    CHECK(x.value("shopctl_storage_errors_total", {{"service", name}}) == 0);
    CHECK(x.value("shopctl_faults_injected_total", {{"type", "abort"}}) == 0);
    CHECK(x.value("shopctl_architecture_violations_total", {{"caller", "client"}}) == 0);
  }
  CHECK(scraped["order"].value(
            "shopctl_circuit_breaker_transitions_total",
            {{"breaker", "order->catalog"}, {"from", "CLOSED"}, {"to", "OPEN"}}) == 0);
  CHECK(scraped["payment"].value(
            "shopctl_circuit_breaker_transitions_total",
            {{"breaker", "payment->provider"}, {"from", "HALF_OPEN"}, {"to", "CLOSED"}}) == 0);
}

// A garbage fault sent 4 bytes (a std::string built from the literal stopped at its NUL): every
// caller read a message cut short and recorded connection_closed, as for a `close` fault, and
// protocol_error never appeared. Its bytes are now a head no HTTP/1.1 parser accepts.
TEST_CASE("a garbage fault is recorded as protocol_error by the gateway and by order's client") {
  EdgeShop s;
  const auto gateway = s.shop->url("gateway");
  auto login = s.send(
      "POST", gateway + "/api/auth/login",
      json{{"email", s.shop->config().demo_email}, {"password", s.shop->config().demo_password}});
  REQUIRE(login.status == 200);
  const shopctl::test_support::HeaderList user = {
      {"Authorization", "Bearer " + login.body["access_token"].get<std::string>()}};
  REQUIRE(s.admin("POST", "/_admin/faults",
                  json{{"id", "junk"}, {"target", "catalog"}, {"type", "garbage"}})
              .status == 201);
  CHECK(s.send("GET", gateway + "/api/catalog/categories", std::nullopt, user).status >= 500);
  auto added = s.send("POST", gateway + "/api/cart/items",
                      json{{"product_id", "p-002"}, {"quantity", 1}}, user);
  CHECK(added.status == 503);
  CHECK(added.body["error"]["code"] == "catalog_unavailable");

  std::map<std::string, int> outcomes;  // "caller->callee outcome" -> calls
  for (const auto& r : s.shop->calls().since(0)) {
    if (r.callee == "catalog") ++outcomes[r.caller + "->catalog " + r.outcome];
  }
  INFO(json(outcomes).dump());
  CHECK(outcomes["gateway->catalog protocol_error"] >= 1);
  CHECK(outcomes["order->catalog protocol_error"] >= 1);
  CHECK(outcomes["gateway->catalog connection_closed"] == 0);
  CHECK(outcomes["order->catalog connection_closed"] == 0);
  for (const char* service : {"gateway", "order"}) {
    auto metrics = s.send("GET", s.shop->url(service) + "/metrics");
    REQUIRE(metrics.status == 200);
    auto x = shopctl_test::check_exposition(metrics.raw);
    CHECK(x.value("shopctl_outbound_calls_total",
                  {{"callee", "catalog"}, {"outcome", "protocol_error"}}) >= 1);
    CHECK_FALSE(x.value("shopctl_outbound_calls_total",
                        {{"callee", "catalog"}, {"outcome", "connection_closed"}})
                    .has_value());
  }
}
