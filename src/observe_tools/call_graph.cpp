#include "observe_tools/call_graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "platform/json_text.hpp"
#include "platform/observe/architecture.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::observe_tools {

namespace arch = platform::architecture;
using nlohmann::json;

namespace {

std::string edge_key(const std::string& caller, const std::string& callee) {
  return caller + "->" + callee;
}

std::pair<std::string, std::string> split_edge(const std::string& key) {
  auto arrow = key.find("->");
  if (arrow == std::string::npos || arrow == 0 || arrow + 2 >= key.size()) {
    throw std::invalid_argument("an edge must be written caller->callee, not '" + key + "'");
  }
  return {key.substr(0, arrow), key.substr(arrow + 2)};
}

std::uint64_t count_field(const json& j, const char* name) {
  if (!j.contains(name)) return 0;
  const auto& v = j.at(name);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
    throw std::invalid_argument(std::string(name) + " must be a whole number, not negative");
  }
  return static_cast<std::uint64_t>(v.get<std::int64_t>());
}

bool flag_field(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// Nearest-rank percentile: the smallest value with at least q of the values at or below it.
double nearest_rank(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                   values.end());
  return values[rank - 1];
}

// A number with a few significant digits and no trailing zeros: 0.25, 2.5, 25, 250.
std::string short_number(double v) {
  char buf[64];
  if (v >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (v >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else if (v >= 1) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (part == 0 || whole == 0) return "0%";
  double pct = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  if (pct < 0.1) return "<0.1%";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", pct);
  std::string s = buf;
  if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.resize(s.size() - 2);
  return s + "%";
}

std::string violation_label(const ObservedEdge& e) {
  std::string label = plural(e.violations, "call refused", "calls refused");
  if (!e.violation_reasons.empty()) {
    label += ": ";
    bool first = true;
    for (const auto& [reason, n] : e.violation_reasons) {
      if (!first) label += ", ";
      first = false;
      label += reason;
      if (e.violation_reasons.size() > 1) label += " x" + std::to_string(n);
    }
  }
  return label;
}

// One arrow to draw.
struct Arrow {
  std::string from;
  std::string to;
  std::string label;
  bool dashed = false;
  bool red = false;
};

std::vector<Arrow> arrows(const ObservedGraph* observed) {
  std::vector<Arrow> out;
  if (!observed) {
    for (const auto& e : arch::allowed_edges()) out.push_back({e.caller, e.callee, e.label});
    return out;
  }
  std::set<std::string> drawn;
  for (const auto& e : arch::allowed_edges()) {
    auto key = edge_key(e.caller, e.callee);
    drawn.insert(key);
    auto it = observed->find(key);
    const ObservedEdge* seen = it == observed->end() ? nullptr : &it->second;
    if (seen && seen->calls + seen->refused_by_breaker > 0) {
      out.push_back({e.caller, e.callee, observed_label(*seen)});
    } else if (!e.recorded) {
      out.push_back({e.caller, e.callee, e.label + " (not recorded)", true});
    } else {
      out.push_back({e.caller, e.callee, e.label + ": no calls", true});
    }
    if (seen && seen->violations > 0) {
      out.push_back({e.caller, e.callee, violation_label(*seen), false, true});
    }
  }
  for (const auto& [key, seen] : *observed) {
    if (drawn.count(key)) continue;
    std::string label;
    if (seen.calls + seen.refused_by_breaker > 0) label = "not allowed: " + observed_label(seen);
    if (seen.violations > 0) label += (label.empty() ? "" : "; ") + violation_label(seen);
    if (label.empty()) continue;
    out.push_back({seen.caller, seen.callee, label, false, true});
  }
  return out;
}

// Node ids: letters, digits and '_' only. Names of the architecture stay as they are; any
// other name is "n_" and the name with '_' written "__" and every other byte "_xx" (hex), one
// id per name: "x-y" and "x.y" were both n_x_y, one node.
std::string node_id(const std::string& name) {
  if (arch::find_component(name)) return name;
  constexpr char hex[] = "0123456789abcdef";
  std::string id = "n_";
  for (char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      id.push_back(c);
    } else if (c == '_') {
      id += "__";
    } else {
      const auto b = static_cast<unsigned char>(c);
      id += '_';
      id += hex[b >> 4];
      id += hex[b & 0xF];
    }
  }
  return id;
}

// Names come from call records (`graph --from` reads any report): a control character in one
// is written as an escape (platform::terminal_text), never sent to the terminal or the file.
std::string mermaid_text(const std::string& raw) {
  const std::string s = platform::terminal_text(raw, true);
  std::string out;
  for (char c : s) {
    if (c == '"')
      out += "#quot;";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out.push_back(c);
  }
  return out;
}

std::string dot_text(const std::string& raw) {
  const std::string s = platform::terminal_text(raw, true);
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n' || c == '\r') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Nodes that appear in `drawn` but are not components of the architecture ("unknown", a
// service name a scenario made up), in name order.
std::vector<std::string> extra_nodes(const std::vector<Arrow>& drawn) {
  std::set<std::string> names;
  for (const auto& a : drawn) {
    if (!arch::find_component(a.from)) names.insert(a.from);
    if (!arch::find_component(a.to)) names.insert(a.to);
  }
  return {names.begin(), names.end()};
}

std::string render_mermaid(const std::vector<Arrow>& drawn, bool observed) {
  std::string out = "flowchart LR\n";
  out += observed ? "  %% observed calls over the allowed architecture: solid = calls recorded "
                    "(calls, error rate, p99 latency), dashed = allowed but no call recorded, "
                    "red = not allowed or refused\n"
                  : "  %% the allowed architecture: who may call whom (shopctl graph)\n";
  auto node = [&](const arch::Component& c) {
    std::string id = node_id(c.name);
    std::string label = "\"" + mermaid_text(c.name) + "\"";
    switch (c.kind) {
      case arch::ComponentKind::outside:
        return id + "([" + label + "])";
      case arch::ComponentKind::door:
        return id + "{{" + label + "}}";
      case arch::ComponentKind::service:
        return id + "[" + label + "]";
      case arch::ComponentKind::external:
        return id + "[[" + label + "]]";
    }
    return id;
  };
  for (const auto& c : arch::components()) {
    if (c.kind == arch::ComponentKind::outside) out += "  " + node(c) + "\n";
  }
  out += "  subgraph shop[\"shop\"]\n";
  for (const auto& c : arch::components()) {
    if (c.kind == arch::ComponentKind::door || c.kind == arch::ComponentKind::service) {
      out += "    " + node(c) + "\n";
    }
  }
  out += "  end\n";
  for (const auto& c : arch::components()) {
    if (c.kind == arch::ComponentKind::external) out += "  " + node(c) + "\n";
  }
  for (const auto& name : extra_nodes(drawn)) {
    out += "  " + node_id(name) + "([\"" + mermaid_text(name) + "\"])\n";
  }
  std::vector<std::size_t> red;
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    const auto& a = drawn[i];
    out += "  " + node_id(a.from) + (a.dashed ? " -.->" : " -->") + "|\"" + mermaid_text(a.label) +
           "\"| " + node_id(a.to) + "\n";
    if (a.red) red.push_back(i);
  }
  if (!red.empty()) {
    out += "  linkStyle ";
    for (std::size_t i = 0; i < red.size(); ++i) out += (i ? "," : "") + std::to_string(red[i]);
    out += " stroke:red,stroke-width:2px,color:red\n";
  }
  return out;
}

std::string render_dot(const std::vector<Arrow>& drawn, bool observed) {
  std::string out = "digraph shopctl {\n";
  out += observed ? "  // observed calls over the allowed architecture: solid = calls recorded, "
                    "dashed = allowed but no call recorded, red = not allowed or refused\n"
                  : "  // the allowed architecture: who may call whom (shopctl graph)\n";
  out += "  rankdir=LR;\n";
  out += "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  auto node = [&](const arch::Component& c) {
    std::string attrs;
    switch (c.kind) {
      case arch::ComponentKind::outside:
        attrs = "shape=ellipse";
        break;
      case arch::ComponentKind::door:
        attrs = "shape=hexagon";
        break;
      case arch::ComponentKind::service:
        break;
      case arch::ComponentKind::external:
        attrs = "shape=box, style=\"\", peripheries=2";
        break;
    }
    return "\"" + dot_text(c.name) + "\"" + (attrs.empty() ? "" : " [" + attrs + "]") + ";\n";
  };
  for (const auto& c : arch::components()) {
    if (c.kind == arch::ComponentKind::outside) out += "  " + node(c);
  }
  out += "  subgraph cluster_shop {\n    label=\"shop\";\n";
  for (const auto& c : arch::components()) {
    if (c.kind == arch::ComponentKind::door || c.kind == arch::ComponentKind::service) {
      out += "    " + node(c);
    }
  }
  out += "  }\n";
  for (const auto& c : arch::components()) {
    if (c.kind == arch::ComponentKind::external) out += "  " + node(c);
  }
  for (const auto& name : extra_nodes(drawn)) {
    out += "  \"" + dot_text(name) + "\" [shape=ellipse, color=red];\n";
  }
  for (const auto& a : drawn) {
    out += "  \"" + dot_text(a.from) + "\" -> \"" + dot_text(a.to) + "\" [label=\"" +
           dot_text(a.label) + "\"";
    if (a.dashed) out += ", style=dashed, color=gray40, fontcolor=gray40";
    if (a.red) out += ", color=red, fontcolor=red, penwidth=2";
    out += "];\n";
  }
  out += "}\n";
  return out;
}

}  // namespace

std::string observed_label(const ObservedEdge& e) {
  std::string label = plural(e.calls, "call", "calls");
  if (e.calls > 0) {
    label += ", " + percent(e.errors, e.calls) + " errors, p99 " + short_number(e.p99_ms) + " ms";
  }
  if (e.refused_by_breaker > 0) {
    label += ", " + std::to_string(e.refused_by_breaker) + " refused by breaker";
  }
  return label;
}

ObservedGraph graph_from_admin_edges(const json& answer) {
  if (!answer.is_object() || !answer.contains("edges") || !answer.at("edges").is_object()) {
    throw std::invalid_argument("expected {\"edges\": {\"caller->callee\": {...}}}");
  }
  ObservedGraph graph;
  for (const auto& [key, stats] : answer.at("edges").items()) {
    if (!stats.is_object()) throw std::invalid_argument("edge " + key + " must be an object");
    auto [caller, callee] = split_edge(key);
    ObservedEdge e;
    e.caller = caller;
    e.callee = callee;
    e.calls = count_field(stats, "calls");
    e.errors = count_field(stats, "errors");
    e.refused_by_breaker = count_field(stats, "refused_by_breaker");
    e.violations = count_field(stats, "violations");
    if (auto it = stats.find("p99_ms"); it != stats.end() && it->is_number()) {
      if (!(it->get<double>() >= 0 && it->get<double>() <= 86'400'000))
        throw std::invalid_argument("edge " + key + ": p99_ms must be from 0 to 86400000");
      e.p99_ms = it->get<double>();
    }
    graph[key] = std::move(e);
  }
  return graph;
}

ObservedGraph graph_from_records(const json& records) {
  if (!records.is_array()) throw std::invalid_argument("call records must be an array");
  ObservedGraph graph;
  std::map<std::string, std::vector<double>> durations;
  for (const auto& r : records) {
    if (!r.is_object()) throw std::invalid_argument("a call record must be an object");
    std::string caller, callee;
    if (r.contains("caller") && r.contains("callee") && r.at("caller").is_string() &&
        r.at("callee").is_string()) {
      caller = r.at("caller").get<std::string>();
      callee = r.at("callee").get<std::string>();
    } else if (r.contains("edge") && r.at("edge").is_string()) {
      std::tie(caller, callee) = split_edge(r.at("edge").get<std::string>());
    } else {
      throw std::invalid_argument("a call record needs caller and callee (or edge)");
    }
    if (caller.empty() || callee.empty())
      throw std::invalid_argument("a call record's caller and callee cannot be empty");
    auto key = edge_key(caller, callee);
    auto& e = graph[key];
    e.caller = caller;
    e.callee = callee;
    if (flag_field(r, "violation")) {
      ++e.violations;
      auto reason = r.value("violation_reason", std::string());
      if (!reason.empty()) ++e.violation_reasons[reason];
    } else if (flag_field(r, "refused_by_breaker")) {
      ++e.refused_by_breaker;
    } else {
      ++e.calls;
      int status = r.contains("status") && r.at("status").is_number_integer()
                       ? r.at("status").get<int>()
                       : 0;
      if (status == 0 || status >= 500) ++e.errors;
      // A duration is a number of milliseconds from 0 up to a day, as the shop records them:
      // -5 drew "p99 -5 ms", "NaN" (a string) was taken as 0 and 1e308 printed 300 digits.
      double ms = 0;
      if (r.contains("duration_ms")) {
        const auto& d = r.at("duration_ms");
        if (!d.is_number() || !(d.get<double>() >= 0 && d.get<double>() <= 86'400'000))
          throw std::invalid_argument(
              "a call record's duration_ms must be a number of "
              "milliseconds from 0 to 86400000, not " +
              platform::json_text(d));
        ms = d.get<double>();
      }
      durations[key].push_back(ms);
    }
  }
  for (auto& [key, values] : durations) graph[key].p99_ms = nearest_rank(std::move(values), 0.99);
  return graph;
}

ObservedGraph graph_from_document(const json& document) {
  if (document.is_array()) return graph_from_records(document);
  if (!document.is_object()) throw std::invalid_argument("expected a JSON object or array");
  if (document.contains("scenarios")) {
    const auto& scenarios = document.at("scenarios");
    if (!scenarios.is_array()) throw std::invalid_argument("scenarios must be an array");
    json all = json::array();
    for (const auto& s : scenarios) {
      // A scenario's own `calls` holds every record of its run; its steps' arrays are subsets.
      // One that is no object is no report's (`{"scenarios": [[1]]}` drew an empty graph).
      if (!s.is_object()) throw std::invalid_argument("each of scenarios must be an object");
      if (!s.contains("calls")) continue;
      const auto& calls = s.at("calls");
      if (!calls.is_array()) throw std::invalid_argument("a scenario's calls must be an array");
      for (const auto& r : calls) all.push_back(r);
    }
    return graph_from_records(all);
  }
  if (document.contains("records")) return graph_from_records(document.at("records"));
  if (document.contains("edges")) return graph_from_admin_edges(document);
  throw std::invalid_argument(
      "expected a `shopctl run --json` report (scenarios[].calls), an /_admin/calls answer "
      "(records) or an /_admin/edges answer (edges)");
}

void add_violation_reasons(ObservedGraph& graph, const json& records) {
  if (!records.is_array()) return;
  for (const auto& r : records) {
    if (!r.is_object() || !flag_field(r, "violation")) continue;
    auto caller = r.value("caller", std::string());
    auto callee = r.value("callee", std::string());
    auto reason = r.value("violation_reason", std::string());
    auto it = graph.find(edge_key(caller, callee));
    if (it == graph.end() || reason.empty()) continue;
    ++it->second.violation_reasons[reason];
  }
}

std::string render_graph(GraphFormat format, const ObservedGraph* observed) {
  auto drawn = arrows(observed);
  return format == GraphFormat::mermaid ? render_mermaid(drawn, observed != nullptr)
                                        : render_dot(drawn, observed != nullptr);
}

}  // namespace shopctl::observe_tools
