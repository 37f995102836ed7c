// The OpenAPI description (docs/openapi.yaml, embedded in the binary) against the gateway's
// router, both ways: every route the gateway has is described, and every described operation
// is a route the gateway answers. The web pages and the admin plane are left out of the
// description on purpose; they are listed here, as in the description's `x-undescribed-routes`.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/built_services.hpp"
#include "../support/test_shop.hpp"
#include "scenario/json_schema.hpp"
#include "services/gateway/openapi_description.hpp"

namespace {

using Operation = std::string;  // "GET /api/catalog/products/{id}"
using shopctl::test_support::send;

// Gateway routes the description leaves out (docs/openapi.yaml, `x-undescribed-routes`): the
// web shop, the console and their files answer HTML, scripts and styles, not the JSON API.
const std::set<Operation>& undescribed_web_routes() {
  static const std::set<Operation> routes = {"GET /",
                                             "HEAD /",
                                             "GET /console",
                                             "HEAD /console",
                                             "GET /assets/{path}",
                                             "HEAD /assets/{path}"};
  return routes;
}

// Operator endpoints every service host answers before routing (platform/service_host.cpp),
// so they are no router routes; the description has them, and the test asks them over HTTP.
const std::set<Operation>& operator_endpoints() {
  static const std::set<Operation> endpoints = {"GET /health/live", "GET /health/ready",
                                                "GET /metrics"};
  return endpoints;
}

// The router's `{*name}` (the rest of the path) is OpenAPI's `{name}`.
std::string openapi_pattern(std::string pattern) {
  for (auto at = pattern.find("{*"); at != std::string::npos; at = pattern.find("{*"))
    pattern.erase(at + 1, 1);
  return pattern;
}

// The gateway's router, the gateway built from the service registry as the shop builds it.
std::set<Operation> gateway_routes() {
  shopctl::test_support::BuiltServices built;
  std::set<Operation> out;
  for (const auto& route : built.get("gateway").host().routes().routes())
    out.insert(route.method + " " + openapi_pattern(route.pattern));
  return out;
}

std::set<Operation> described_operations(const nlohmann::json& description) {
  static const std::set<std::string> methods = {"get",     "put",  "post",  "delete",
                                                "options", "head", "patch", "trace"};
  std::set<Operation> out;
  for (const auto& [path, item] : description.at("paths").items()) {
    for (const auto& [key, operation] : item.items()) {
      if (!methods.count(key)) continue;
      std::string method = key;
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(method + " " + path);
    }
  }
  return out;
}

// What the description lacks: gateway routes neither described nor on the exclusion list
// (the admin plane is on its own router, `admin_routes()`, so it never shows up here).
std::set<Operation> undescribed(const std::set<Operation>& routes,
                                const std::set<Operation>& described) {
  std::set<Operation> out;
  for (const auto& r : routes)
    if (!described.count(r) && !undescribed_web_routes().count(r)) out.insert(r);
  return out;
}

// What the description claims and the gateway lacks.
std::set<Operation> not_routed(const std::set<Operation>& described,
                               const std::set<Operation>& routes) {
  std::set<Operation> out;
  for (const auto& d : described)
    if (!routes.count(d) && !operator_endpoints().count(d)) out.insert(d);
  return out;
}

std::string join(const std::set<Operation>& ops) {
  std::string out;
  for (const auto& op : ops) out += "  " + op + "\n";
  return out;
}

}  // namespace

TEST_CASE(
    "every gateway route is described in docs/openapi.yaml and every described route exists") {
  const auto routes = gateway_routes();
  const auto described = described_operations(shopctl::gateway::openapi_description());
  REQUIRE(routes.size() > 10);

  const auto missing = undescribed(routes, described);
  CHECK_MESSAGE(missing.empty(), "gateway routes that docs/openapi.yaml does not describe:\n"
                                     << join(missing));
  const auto extra = not_routed(described, routes);
  CHECK_MESSAGE(extra.empty(), "operations docs/openapi.yaml describes that the gateway lacks:\n"
                                   << join(extra));
  // The exclusion list names real routes only: a web route that went away leaves it.
  for (const auto& r : undescribed_web_routes()) CHECK_MESSAGE(routes.count(r), r);

  // Every described operation reaches a handler over HTTP: never the router's own 404 or 405
  // (a product or order that does not exist is a handler's 404, with another code).
  auto shop = shopctl::test_support::start_shop();
  shopctl::http::BlockingClient client;
  for (const auto& op : described) {
    const auto space = op.find(' ');
    std::string path = op.substr(space + 1);
    for (auto at = path.find('{'); at != std::string::npos; at = path.find('{'))
      path.replace(at, path.find('}', at) - at + 1, "x");
    auto answer = send(client, op.substr(0, space), shop->url("gateway") + path);
    CAPTURE(op);
    CHECK(answer.status != 405);
    if (answer.status == 404) {
      CHECK(answer.body.at("error").at("code") != "route_not_found");
    }
    if (operator_endpoints().count(op)) CHECK(answer.status == 200);
  }
}

TEST_CASE("the route check is red when the description lacks a route or has one too many") {
  const auto routes = gateway_routes();
  nlohmann::json description = shopctl::gateway::openapi_description();

  description["paths"].erase("/api/orders/{id}");
  description["paths"]["/api/carts"]["get"] = {{"responses", nlohmann::json::object()}};
  const auto described = described_operations(description);
  CHECK(undescribed(routes, described) == std::set<Operation>{"GET /api/orders/{id}"});
  CHECK(not_routed(described, routes) == std::set<Operation>{"GET /api/carts"});
}

TEST_CASE("GET /openapi.json answers the embedded description as JSON, without a token") {
  auto shop = shopctl::test_support::start_shop();
  shopctl::http::BlockingClient client;
  auto answer = send(client, "GET", shop->url("gateway") + "/openapi.json");
  REQUIRE(answer.status == 200);
  CHECK(answer.headers.get("Content-Type").value_or("").starts_with("application/json"));
  CHECK(answer.headers.get("X-Trace-Id").has_value());
  CHECK(answer.body == shopctl::gateway::openapi_description());
  CHECK(answer.body.at("openapi") == "3.1.0");
  CHECK(answer.body.at("paths").contains("/api/orders"));
  CHECK(answer.body.at("components").at("schemas").contains("Error"));

  auto post =
      send(client, "POST", shop->url("gateway") + "/openapi.json", nlohmann::json::object());
  CHECK(post.status == 405);
}

namespace {

// The status of one request written by hand (a Host, a header block or a Content-Length the
// client would not send), and whether the description has `status` for that operation.
int raw_request_status(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& host, const std::string& extra) {
  shopctl::test_support::RawConnection c(port);
  REQUIRE(c.connected());
  REQUIRE(c.send(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra +
                 "Connection: close\r\n\r\n"));
  c.read_until_closed(std::chrono::seconds(5));
  return c.received.size() > 12 ? std::stoi(c.received.substr(9, 3)) : 0;
}

}  // namespace

// docs/api.md: any request can be refused before it reaches a route (400 of the HTTP layer,
// 413, 421, 431, 503; 405 for a method the path does not answer; 500 for a fault of the shop),
// and one without a token on a route that needs one is 401. A scenario
// with `schema: true` failed on such answers ("status 400 is not described for GET /api/cart").
TEST_CASE("every operation describes the answers any request can get, and gets them so") {
  const auto& description = shopctl::gateway::openapi_description();
  auto shop = shopctl::test_support::start_shop();
  const auto port = shopctl::test_support::port_of(shop->url("gateway"));
  const std::string here = "127.0.0.1:" + std::to_string(port);
  for (const auto& [path_key, item] : description.at("paths").items()) {
    const std::string path = path_key;  // CAPTURE cannot name a structured binding
    for (const auto& [method_key, operation] : item.items()) {
      if (!operation.is_object() || !operation.contains("responses")) continue;
      std::string method = method_key;
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const std::string named = method + " " + path;
      CAPTURE(named);
      const auto& responses = operation.at("responses");
      for (const char* status : {"400", "405", "413", "421", "431", "500", "503", "505"})
        CHECK_MESSAGE(responses.contains(status), status);
      const bool needs_token = !operation.contains("security") || !operation.at("security").empty();
      if (needs_token) CHECK(responses.contains("401"));
      if (path.starts_with("/api/")) CHECK(responses.contains("504"));

      std::string target = path;
      for (auto at = target.find('{'); at != std::string::npos; at = target.find('{'))
        target.replace(at, target.find('}', at) - at + 1, "x");
      const std::vector<std::pair<int, int>> answers = {
          {400, raw_request_status(port, method, target + "?q=%zz", here, "")},
          {421, raw_request_status(port, method, target, "rebound.example", "")},
          {431, raw_request_status(port, method, target, here,
                                   "X-Pad: " + std::string(17000, 'a') + "\r\n")},
          {413, raw_request_status(port, method, target, here, "Content-Length: 2000000\r\n")},
      };
      {
        // Another HTTP version: 505 on any route (written by hand: the request line's version).
        shopctl::test_support::RawConnection c(port);
        REQUIRE(c.connected());
        REQUIRE(c.send(method + " " + target + " HTTP/2.0\r\nHost: " + here + "\r\n\r\n"));
        c.read_until_closed(std::chrono::seconds(5));
        const int got = c.received.size() > 12 ? std::stoi(c.received.substr(9, 3)) : 0;
        CHECK(got == 505);
        CHECK(shopctl::scenario::find_response_schema(description, method, target, got).problem ==
              "");
      }
      for (const auto& [wanted, got] : answers) {
        CHECK(got == wanted);
        CHECK(shopctl::scenario::find_response_schema(description, method, target, got).problem ==
              "");
      }
      // A method the path does not answer (one of the path's operations asks it, so each
      // operation's list must have it: a client generated from one operation sees it too).
      for (const char* other : {"PUT", "PATCH", "DELETE", "POST"}) {
        std::string lower = other;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (item.contains(lower)) continue;
        const int got = raw_request_status(port, other, target, here, "Content-Length: 0\r\n");
        CHECK(got == 405);
        CHECK(shopctl::scenario::find_response_schema(description, method, target, got).problem ==
              "");
        break;
      }
      if (needs_token) {
        const int got = raw_request_status(port, method, target, here, "");
        CHECK(got == 401);
        CHECK(shopctl::scenario::find_response_schema(description, method, target, got).problem ==
              "");
      }
    }
  }
}
