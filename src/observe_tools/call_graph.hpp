#pragma once
// The call graph for `shopctl graph`: the allowed architecture, and the observed one (from a
// running shop's /_admin/edges and /_admin/calls, or from the call records of a scenario
// report), drawn as Mermaid or Graphviz DOT. Pure functions of JSON in, text out.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shopctl::observe_tools {

// What was seen on one caller -> callee edge.
struct ObservedEdge {
  std::string caller;
  std::string callee;
  std::uint64_t calls = 0;               // answered or failed attempts that went out
  std::uint64_t errors = 0;              // of those: no answer or a 5xx
  std::uint64_t refused_by_breaker = 0;  // attempts an open breaker refused (no network)
  std::uint64_t violations = 0;          // calls the callee refused: caller not allowed
  double p99_ms = 0;                     // of `calls`
  std::map<std::string, std::uint64_t> violation_reasons;  // reason -> count, when known

  double error_rate() const {
    return calls == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(calls);
  }
};

// The observed edges, keyed "caller->callee".
using ObservedGraph = std::map<std::string, ObservedEdge>;

// Reads GET /_admin/edges ({"edges": {"a->b": {calls, errors, refused_by_breaker, violations,
// p99_ms}}}). Throws std::invalid_argument when the shape is wrong.
ObservedGraph graph_from_admin_edges(const nlohmann::json& edges_answer);

// Aggregates call records (the objects of /_admin/calls "records" and of a report's "calls"
// arrays); p99 is the nearest-rank 99th percentile of duration_ms of the calls. Throws
// std::invalid_argument when a record lacks caller/callee (or edge).
ObservedGraph graph_from_records(const nlohmann::json& records);

// Reads a JSON document `shopctl graph --from` accepts: a `shopctl run --json` report (the
// calls of every scenario together), an /_admin/calls answer ({"records": [...]}) or a plain
// array of call records. Throws std::invalid_argument for anything else.
ObservedGraph graph_from_document(const nlohmann::json& document);

// Adds the violation reasons found in `records` to the edges of `graph` (counts stay).
void add_violation_reasons(ObservedGraph& graph, const nlohmann::json& records);

enum class GraphFormat { mermaid, dot };

// Draws the allowed architecture (no `observed`), or the observed graph over it: observed
// edges labelled "N calls, E% errors, p99 X ms", allowed edges without calls dashed, edges
// that are not allowed and refused calls (violations) in red.
std::string render_graph(GraphFormat format, const ObservedGraph* observed = nullptr);

// "12 calls, 8.3% errors, p99 25 ms" (plus refusals), the label of an observed edge.
std::string observed_label(const ObservedEdge& edge);

}  // namespace shopctl::observe_tools
