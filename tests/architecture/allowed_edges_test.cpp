// The allowed architecture (platform/observe/architecture.hpp, what `shopctl graph` draws)
// against what the services enforce: every service is built as the shop builds it, and the
// allowed-caller rules on its routes (`http::Access::only({...})`, `Access::anyone()`) are
// read back from its router. The two must say exactly the same, route by route.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "../support/built_services.hpp"
#include "observe_tools/call_graph.hpp"
#include "platform/clock.hpp"
#include "platform/observe/architecture.hpp"
#include "platform/security/password.hpp"
#include "platform/service.hpp"
#include "services/gateway/gateway_service.hpp"
#include "shop/registry.hpp"

namespace {

namespace fs = std::filesystem;
namespace arch = shopctl::platform::architecture;
namespace platform = shopctl::platform;

using shopctl::test_support::BuiltServices;

using Rule =
    std::tuple<std::string, std::string, std::string>;    // caller, callee, "METHOD /pattern"
using PublicRoute = std::pair<std::string, std::string>;  // service, "METHOD /pattern"

std::string describe(const std::set<Rule>& rules) {
  std::string out;
  for (const auto& [caller, callee, route] : rules)
    out += "  " + caller + "->" + callee + "  " + route + "\n";
  return out.empty() ? "  (none)\n" : out;
}

template <typename T>
std::set<T> minus(const std::set<T>& a, const std::set<T>& b) {
  std::set<T> out;
  for (const auto& x : a) {
    if (!b.count(x)) out.insert(x);
  }
  return out;
}

}  // namespace

TEST_CASE("the allowed architecture names exactly the services the shop is built from") {
  BuiltServices built;
  std::set<std::string> from_services, from_architecture;
  for (const auto& s : built.services) from_services.insert(s->name());
  for (const auto& c : arch::components()) {
    if (c.kind != arch::ComponentKind::outside) from_architecture.insert(c.name);
  }
  CHECK(from_services == from_architecture);
  for (const auto& e : arch::allowed_edges()) {
    CHECK_MESSAGE(arch::find_component(e.caller), e.caller);
    CHECK_MESSAGE(arch::find_component(e.callee), e.callee);
    CHECK_MESSAGE(arch::find_edge(e.caller, e.callee) == &e,
                  "edge listed twice: " << e.caller << "->" << e.callee);
    CHECK_FALSE(e.routes.empty());
  }
}

TEST_CASE(
    "every allowed-caller rule on a service route is an allowed edge, and every edge is such a "
    "rule") {
  BuiltServices built;
  std::set<Rule> enforced;
  std::set<PublicRoute> public_routes;
  for (const auto& s : built.services) {
    if (s->name() == "gateway") continue;  // the public door: checked below
    for (const auto& route : s->host().routes().routes()) {
      const std::string r = route.method + " " + route.pattern;
      if (route.access.is_public) {
        public_routes.insert({s->name(), r});
      } else {
        for (const auto& caller : route.access.callers) enforced.insert({caller, s->name(), r});
      }
    }
  }
  std::set<Rule> declared;
  std::set<PublicRoute> declared_public;
  for (const auto& e : arch::allowed_edges()) {
    for (const auto& r : e.routes) {
      if (e.credential_checked)
        declared.insert({e.caller, e.callee, r});
      else if (e.callee != "gateway")
        declared_public.insert({e.callee, r});
    }
  }
  CHECK_MESSAGE(minus(enforced, declared).empty(),
                "the services accept these callers, the architecture does not allow them:\n"
                    << describe(minus(enforced, declared)));
  CHECK_MESSAGE(
      minus(declared, enforced).empty(),
      "the architecture allows these calls, the services refuse them (or lack the route):\n"
          << describe(minus(declared, enforced)));
  CHECK(public_routes == declared_public);
  // The spec's table (api.md "Who may call whom"), as the routes enforce it.
  CHECK(enforced.count({"payment", "order", "POST /internal/orders/{id}/payment-result"}) == 1);
  CHECK(enforced.count({"payment", "order", "POST /orders"}) == 0);
  CHECK(enforced.count({"gateway", "payment", "POST /payments/webhook"}) == 1);
  CHECK(enforced.count({"gateway", "payment", "POST /internal/payments"}) == 0);
  CHECK(enforced.count({"payment", "catalog", "GET /products/{id}"}) == 0);
  CHECK(enforced.count({"catalog", "order", "GET /cart"}) == 0);
}

TEST_CASE(
    "the gateway is the public door: its routes are public and lead to the allowed services") {
  BuiltServices built;
  auto& gateway = built.get("gateway");
  for (const auto& route : gateway.host().routes().routes()) {
    CHECK_MESSAGE(route.access.is_public, route.method << " " << route.pattern);
  }
  std::set<std::string> forwarded_to, prefixes;
  for (const auto& p : shopctl::gateway::prefix_routes()) {
    forwarded_to.insert(p.service);
    prefixes.insert("* " + p.public_prefix);
  }
  std::set<std::string> allowed_from_gateway;
  for (const auto& e : arch::allowed_edges()) {
    if (e.caller == "gateway") allowed_from_gateway.insert(e.callee);
  }
  CHECK(forwarded_to == allowed_from_gateway);
  const auto* door = arch::find_edge("client", "gateway");
  REQUIRE(door);
  CHECK(std::set<std::string>(door->routes.begin(), door->routes.end()) == prefixes);

  // The provider's webhook is a public gateway route that needs no user token and leads to
  // payment, the one payment route the gateway may call.
  const auto* webhook = arch::find_edge("provider", "gateway");
  REQUIRE(webhook);
  for (const auto& r : webhook->routes) {
    auto space = r.find(' ');
    std::map<std::string, std::string, std::less<>> params;
    auto match = gateway.host().routes().match(r.substr(0, space), r.substr(space + 1), params);
    REQUIRE_MESSAGE(match.route, r);
    CHECK(match.route->access.is_public);
    bool found = false;
    for (const auto& p : shopctl::gateway::prefix_routes()) {
      if (r.substr(space + 1) == p.public_prefix) {
        found = true;
        CHECK(p.service == "payment");
        CHECK_FALSE(p.needs_user);
      }
    }
    CHECK_MESSAGE(found, r);
  }
}

TEST_CASE("docs/architecture.md embeds the allowed graph exactly as shopctl graph draws it") {
  std::ifstream in(fs::path(SHOPCTL_SOURCE_DIR) / "docs" / "architecture.md");
  REQUIRE_MESSAGE(in, "docs/architecture.md is missing");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string begin = "```mermaid\n";
  const std::string end = "```\n<!-- END shopctl graph -->";
  auto marker = doc.find("<!-- BEGIN shopctl graph");
  REQUIRE_MESSAGE(marker != std::string::npos, "no <!-- BEGIN shopctl graph --> marker");
  auto start = doc.find(begin, marker);
  auto stop = doc.find(end, marker);
  REQUIRE(start != std::string::npos);
  REQUIRE(stop != std::string::npos);
  const auto embedded = doc.substr(start + begin.size(), stop - start - begin.size());
  CHECK_MESSAGE(embedded == shopctl::observe_tools::render_graph(
                                shopctl::observe_tools::GraphFormat::mermaid),
                "docs/architecture.md is out of date: paste the output of `shopctl graph` between "
                "the markers");
}

// The registry (shop/registry.hpp) names exactly the shop's services, says who calls each
// as the architecture table does, and each service's protected edges lead where the table
// allows.
TEST_CASE("the service registry agrees with the architecture and the config's service names") {
  std::set<std::string> registered, components,
      configured(shopctl::shop::service_names().begin(), shopctl::shop::service_names().end());
  for (const auto& spec : shopctl::shop::service_registry()) registered.insert(spec.name);
  for (const auto& c : arch::components()) {
    if (c.kind != arch::ComponentKind::outside) components.insert(c.name);
  }
  CHECK(registered == components);
  CHECK(registered == configured);
  CHECK(shopctl::shop::service_registry().back().name == "gateway");  // the door opens last

  BuiltServices built;
  for (const auto& spec : shopctl::shop::service_registry()) {
    CAPTURE(spec.name);
    REQUIRE(shopctl::shop::find_service(spec.name) == &spec);
    for (const auto& e : arch::allowed_edges()) {
      bool in_callers = std::count(spec.callers.begin(), spec.callers.end(), e.caller) > 0;
      bool in_outbound = std::count(spec.outbound.begin(), spec.outbound.end(), e.callee) > 0;
      if (e.callee == spec.name) CHECK(in_callers);
      if (e.caller == spec.name) CHECK(in_outbound);
    }
    for (auto* edge : built.get(spec.name).edges()) {
      auto arrow = edge->edge().find("->");
      REQUIRE(arrow != std::string::npos);
      CHECK(edge->edge().substr(0, arrow) == spec.name);
      CHECK(arch::is_allowed(spec.name, edge->edge().substr(arrow + 2)));
      CHECK(std::count(shopctl::shop::breaker_edges().begin(), shopctl::shop::breaker_edges().end(),
                       edge->edge()) == 1);
    }
  }
  CHECK(shopctl::shop::find_service("nope") == nullptr);
}
