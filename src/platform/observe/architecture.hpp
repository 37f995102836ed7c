#pragma once
// The allowed architecture of the shop, as data: its components and who may call whom, on
// which routes. This is the one place that states it; `shopctl graph` draws it, the observed
// call graph is judged against it, docs/architecture.md embeds its drawing, and
// tests/architecture/allowed_edges_test.cpp checks that the services' own allowed-caller
// rules (`http::Access::only` on their routes) say exactly the same.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl::platform::architecture {

enum class ComponentKind {
  outside,   // users, browsers, scenario runners, operators ("client" in call records)
  door,      // the gateway: the one public entrance of the shop
  service,   // a service behind the door, reachable only with a service credential
  external,  // an outside system the shop talks to (the simulated payment provider)
};

struct Component {
  std::string name;  // as in call records and service credentials
  ComponentKind kind;
  std::string role;  // one line
};

// One allowed caller -> callee edge.
struct Edge {
  std::string caller;
  std::string callee;
  std::string label;  // a few words drawn on the allowed graph
  std::string why;    // one sentence
  // The callee's routes this caller may use, "METHOD /pattern" as the callee's router names
  // them ("* /api/cart" for every method under a gateway prefix).
  std::vector<std::string> routes;
  // True when the callee enforces the edge itself: the routes accept only listed callers,
  // proved by the caller's service credential. False for public routes (the gateway, the
  // provider's pay page), where anyone may call, and for the outside provider's API, which
  // checks its own API key instead of the shop's internal credential.
  bool credential_checked = true;
  // False when no call record is ever written for this edge (the user's browser at the
  // provider's pay page: the provider is an outside system and records only what it sends).
  bool recorded = true;
};

// Every component, outside first, then the door, the services, the external provider.
const std::vector<Component>& components();
// Returns the component called `name`, or nullptr.
const Component* find_component(std::string_view name);

// Every allowed edge, in a fixed order (the order the graphs draw them).
const std::vector<Edge>& allowed_edges();
// Returns the allowed edge from `caller` to `callee`, or nullptr when the edge is not allowed.
const Edge* find_edge(std::string_view caller, std::string_view callee);
bool is_allowed(std::string_view caller, std::string_view callee);
// Why a fault on the edge `caller`->`callee` could never apply though the edge is allowed, or
// "": the gateway is the public door and sees every caller as `client` (the provider's webhook
// too), so `provider->gateway` never matched, and the fault was taken without a word (an
// outside probe).
std::string unmatchable_fault_edge(std::string_view caller, std::string_view callee);

}  // namespace shopctl::platform::architecture
