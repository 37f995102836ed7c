#pragma once
// The names a scenario file may use: services, edges, circuit breakers and their states, fault
// types, HTTP methods. The validator checks against these; reports can list them.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace shopctl::scenario {

inline constexpr std::array<std::string_view, 6> kServices = {"gateway", "auth",    "catalog",
                                                              "order",   "payment", "provider"};
// The outside world, as the caller side of an edge (`client->gateway`).
inline constexpr std::string_view kClient = "client";
// The shop's breakers (shop::breaker_edges()): one per resilient edge.
inline constexpr std::array<std::string_view, 4> kBreakers = {
    "order->catalog", "order->payment", "payment->order", "payment->provider"};
inline constexpr std::array<std::string_view, 6> kCircuitStates = {
    "CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED", "METRICS_ONLY"};
inline constexpr std::array<std::string_view, 7> kFaultTypes = {
    "delay", "hang", "abort", "reset", "close", "garbage", "slow_body"};
inline constexpr std::array<std::string_view, 7> kHttpMethods = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

template <std::size_t N>
constexpr bool is_one_of(std::string_view name, const std::array<std::string_view, N>& names) {
  for (auto candidate : names) {
    if (candidate == name) return true;
  }
  return false;
}

inline bool is_service(std::string_view name) {
  return is_one_of(name, kServices);
}
inline bool is_breaker(std::string_view name) {
  return is_one_of(name, kBreakers);
}
inline bool is_circuit_state(std::string_view name) {
  return is_one_of(name, kCircuitStates);
}
inline bool is_http_method(std::string_view name) {
  return is_one_of(name, kHttpMethods);
}

// A call edge between two parties: `caller->callee`.
struct Edge {
  std::string caller;  // a service or "client"
  std::string callee;  // a service
  std::string to_string() const { return caller + "->" + callee; }
  friend bool operator==(const Edge&, const Edge&) = default;
};

// Splits "A->B" into its two sides (not checked against the known names); nullopt when there
// is no "->" or a side is empty.
inline std::optional<Edge> split_edge(std::string_view text) {
  const auto arrow = text.find("->");
  if (arrow == std::string_view::npos || arrow == 0 || arrow + 2 >= text.size()) {
    return std::nullopt;
  }
  return Edge{std::string(text.substr(0, arrow)), std::string(text.substr(arrow + 2))};
}

// Joins names for messages: "a, b, c".
template <std::size_t N>
std::string join_names(const std::array<std::string_view, N>& names) {
  std::string out;
  for (auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace shopctl::scenario
