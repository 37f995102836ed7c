#include "observe_tools/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe_tools/call_graph.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::observe_tools {

namespace {

using nlohmann::json;

std::string format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

std::string ms_text(double ms) {
  return ms >= 1000 ? format("%.2f s", ms / 1000) : format("%.0f ms", ms);
}

std::string number(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return "";
  if (j[key].is_number_integer() || j[key].is_number_unsigned()) return j[key].dump();
  return format("%.2f", j[key].get<double>());
}

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

// The page around `body`: no external resource, so it opens offline and from an artifact.
std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>" +
         html_escape(title) +
         "</title>\n<style>\n"
         "body{font:14px/1.45 system-ui,-apple-system,Segoe "
         "UI,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}\n"
         "h1{font-size:22px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 "
         "8px}h3{font-size:15px;margin:16px 0 6px}\n"
         "table{border-collapse:collapse;margin:6px 0 12px;background:#fff}\n"
         "th,td{border:1px solid #d7dbe2;padding:3px 8px;text-align:left;vertical-align:top}\n"
         "th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-"
         "space:nowrap}\n"
         ".passed{color:#167a3a}.failed,.setup_failed{color:#b42318}.timed_out,.shop_error{color:#"
         "9a6700}"
         ".skipped{color:#6b7280}\n"
         ".badge{display:inline-block;border-radius:4px;padding:1px "
         "7px;font-weight:600;background:#eef1f5}\n"
         ".cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid "
         "#d7dbe2;"
         "border-radius:6px;padding:8px 14px;min-width:90px}.card b{display:block;font-size:20px}\n"
         "details{background:#fff;border:1px solid #d7dbe2;border-radius:6px;margin:8px "
         "0;padding:6px 12px}\n"
         "summary{cursor:pointer;font-weight:600}\n"
         "pre{background:#f3f4f6;padding:6px "
         "8px;white-space:pre-wrap;word-break:break-all;margin:4px 0}\n"
         ".failure{border-left:4px solid #b42318;padding:2px 10px;margin:8px 0}\n"
         "svg{background:#fff;border:1px solid #d7dbe2;border-radius:6px}\n"
         "svg text{font:12px system-ui,sans-serif}\n"
         "</style>\n</head>\n<body>\n" +
         body + "</body>\n</html>\n";
}

std::string card(const std::string& label, const std::string& value, const std::string& css = "") {
  return "<div class=\"card\"><b class=\"" + css + "\">" + html_escape(value) + "</b>" +
         html_escape(label) + "</div>";
}

// ---- the call graph of a scenario, drawn in layers ----

// Columns by breadth-first depth from the services nobody calls (or, in a cycle, the first
// service by name); the order of the nodes in a column is by name.
std::string graph_svg(const ObservedGraph& graph) {
  std::set<std::string> nodes;
  std::map<std::string, std::set<std::string>> out_edges;
  std::set<std::string> called;
  for (const auto& [key, e] : graph) {
    nodes.insert(e.caller);
    nodes.insert(e.callee);
    out_edges[e.caller].insert(e.callee);
    if (e.caller != e.callee) called.insert(e.callee);
  }
  if (nodes.empty()) return "";
  std::map<std::string, int> depth;
  std::vector<std::string> queue;
  for (const auto& n : nodes)
    if (!called.count(n)) {
      depth[n] = 0;
      queue.push_back(n);
    }
  for (;;) {
    for (std::size_t i = 0; i < queue.size(); ++i)
      for (const auto& next : out_edges[queue[i]])
        if (!depth.count(next)) {
          depth[next] = depth[queue[i]] + 1;
          queue.push_back(next);
        }
    auto unplaced = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const std::string& n) { return !depth.count(n); });
    if (unplaced == nodes.end()) break;
    depth[*unplaced] = 0;
    queue.assign({*unplaced});
  }
  std::map<int, std::vector<std::string>> columns;
  for (const auto& n : nodes) columns[depth[n]].push_back(n);
  const double col_w = 190, row_h = 70, box_w = 120, box_h = 30, pad = 20;
  std::size_t rows = 0;
  for (const auto& [_, c] : columns) rows = std::max(rows, c.size());
  double width = pad * 2 + col_w * static_cast<double>(columns.size() - 1) + box_w;
  double height = pad * 2 + row_h * static_cast<double>(rows - 1) + box_h + 20;
  std::map<std::string, std::pair<double, double>> at;  // the centre of each box
  for (const auto& [d, c] : columns)
    for (std::size_t i = 0; i < c.size(); ++i)
      at[c[i]] = {pad + box_w / 2 + col_w * d,
                  pad + box_h / 2 + row_h * static_cast<double>(i) + 10};

  std::string svg = "<svg role=\"img\" aria-label=\"call graph\" width=\"" + format("%.0f", width) +
                    "\" height=\"" + format("%.0f", height) + "\" viewBox=\"0 0 " +
                    format("%.0f", width) + " " + format("%.0f", height) +
                    "\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
                    "markerWidth=\"7\" "
                    "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 "
                    "z\" fill=\"#55607a\"/>"
                    "</marker></defs>\n";
  for (const auto& [key, e] : graph) {
    auto [x1, y1] = at[e.caller];
    auto [x2, y2] = at[e.callee];
    // From the edge of the box, bent to the right of the direction of travel, so that the two
    // directions of a pair of services do not overlap.
    double dx = x2 - x1, dy = y2 - y1, len = std::max(1.0, std::hypot(dx, dy));
    double sx = x1 + dx / len * box_w / 2 * (std::abs(dx) > std::abs(dy) ? 1 : 0.3),
           sy = y1 + dy / len * box_h / 2 * (std::abs(dx) > std::abs(dy) ? 0.3 : 1);
    double ex = x2 - dx / len * box_w / 2 * (std::abs(dx) > std::abs(dy) ? 1 : 0.3),
           ey = y2 - dy / len * box_h / 2 * (std::abs(dx) > std::abs(dy) ? 0.3 : 1);
    double bend = 18;
    double mx = (sx + ex) / 2 - dy / len * bend, my = (sy + ey) / 2 + dx / len * bend;
    bool bad = e.errors > 0 || e.violations > 0 || e.refused_by_breaker > 0;
    const char* color = bad ? "#b42318" : "#55607a";
    svg += "<path d=\"M" + format("%.1f", sx) + "," + format("%.1f", sy) + " Q" +
           format("%.1f", mx) + "," + format("%.1f", my) + " " + format("%.1f", ex) + "," +
           format("%.1f", ey) + "\" fill=\"none\" stroke=\"" + color +
           "\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>" +
           html_escape(e.caller + " -> " + e.callee + ": " + observed_label(e)) +
           "</title></path>\n";
    svg += "<text x=\"" + format("%.1f", mx) + "\" y=\"" + format("%.1f", my - 3) +
           "\" text-anchor=\"middle\" fill=\"" + color + "\">" +
           html_escape(std::to_string(e.calls) +
                       (e.errors ? " (" + std::to_string(e.errors) + " err)" : "")) +
           "</text>\n";
  }
  for (const auto& [name, xy] : at) {
    svg += "<rect x=\"" + format("%.1f", xy.first - box_w / 2) + "\" y=\"" +
           format("%.1f", xy.second - box_h / 2) + "\" width=\"" + format("%.0f", box_w) +
           "\" height=\"" + format("%.0f", box_h) +
           "\" rx=\"5\" fill=\"#eef4ff\" stroke=\"#3b5bdb\"/>\n<text x=\"" +
           format("%.1f", xy.first) + "\" y=\"" + format("%.1f", xy.second + 4) +
           "\" text-anchor=\"middle\">" + html_escape(name) + "</text>\n";
  }
  return svg + "</svg>\n";
}

std::string graph_section(const json& calls) {
  if (!calls.is_array() || calls.empty())
    return "<p>No calls between services were recorded.</p>\n";
  ObservedGraph graph;
  try {
    graph = graph_from_records(calls);
  } catch (const std::invalid_argument& e) {
    return "<p>The call records could not be read: " + html_escape(e.what()) + "</p>\n";
  }
  std::string out = graph_svg(graph);
  out +=
      "<table><tr><th>caller</th><th>callee</th><th>calls</th><th>errors</th><th>refused by "
      "breaker</th>"
      "<th>violations</th><th>p99</th></tr>\n";
  for (const auto& [key, e] : graph) {
    out += "<tr><td>" + html_escape(e.caller) + "</td><td>" + html_escape(e.callee) +
           "</td><td class=\"num\">" + std::to_string(e.calls) + "</td><td class=\"num\">" +
           std::to_string(e.errors) + "</td><td class=\"num\">" +
           std::to_string(e.refused_by_breaker) + "</td><td class=\"num\">" +
           std::to_string(e.violations) + "</td><td class=\"num\">" + format("%.1f ms", e.p99_ms) +
           "</td></tr>\n";
  }
  return out + "</table>\n";
}

// The request a failure answers to: the last request of the step it names.
const json* request_of(const json& scenario, const json& failure) {
  const json* found = nullptr;
  if (!scenario.contains("steps") || !scenario["steps"].is_array()) return found;
  // By reference into `scenario`: the pointer returned must outlive this function.
  for (const auto& step : scenario["steps"])
    if (str(step, "name") == str(failure, "step") && str(step, "phase") == str(failure, "phase") &&
        step.contains("requests") && !step["requests"].empty())
      found = &step["requests"].back();
  return found;
}

std::string failure_html(const json& scenario, const json& f) {
  std::string out = "<div class=\"failure\">";
  out += "<p><b>" + html_escape(str(f, "phase")) +
         (str(f, "step").empty() ? "" : " step &quot;" + html_escape(str(f, "step")) + "&quot;") +
         "</b> at " + html_escape(str(f, "file") + ":" + number(f, "line")) + "</p>\n";
  out += "<p>Expectation:</p><pre>" + html_escape(str(f, "message")) + "</pre>\n";
  if (const json* rq = request_of(scenario, f))
    out += "<p>Request:</p><pre>" + html_escape(str(*rq, "method") + " " + str(*rq, "url")) +
           "</pre>\n";
  if (f.contains("status"))
    out += "<p>Response:</p><pre>" + html_escape(number(f, "status") + " " + str(f, "body")) +
           "</pre>\n";
  if (f.contains("trace_id"))
    out += "<p>Trace id: <code>" + html_escape(str(f, "trace_id")) + "</code></p>\n";
  return out + "</div>\n";
}

std::string steps_table(const json& steps) {
  std::string out =
      "<table><tr><th>phase</th><th>step</th><th>action</th><th>result</th><th>time</"
      "th><th>attempts</th>"
      "<th>requests</th></tr>\n";
  for (const auto& st : steps) {
    bool passed = st.value("passed", true);
    std::string requests;
    for (const auto& rq : st.value("requests", json::array())) {
      requests += html_escape(str(rq, "method") + " " + str(rq, "url")) + " &rarr; " +
                  html_escape(rq.value("status", 0) ? number(rq, "status") : str(rq, "error")) +
                  " (" + html_escape(ms_text(rq.value("duration_ms", 0.0))) + ")<br/>";
    }
    out += "<tr><td>" + html_escape(str(st, "phase")) + "</td><td>" + html_escape(str(st, "name")) +
           "</td><td>" + html_escape(str(st, "action")) + "</td><td class=\"" +
           (passed ? "passed" : "failed") + "\">" + (passed ? "passed" : "failed") +
           "</td><td class=\"num\">" + html_escape(ms_text(st.value("duration_ms", 0.0))) +
           "</td><td class=\"num\">" + number(st, "attempts") + "</td><td>" + requests +
           "</td></tr>\n";
  }
  return out + "</table>\n";
}

// ---- line charts for the load report ----

struct Series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (seconds, value)
};

struct Marker {
  double at_s = 0;
  std::string label;
  std::string color;
};

std::string line_chart(const std::string& title, const std::string& unit,
                       const std::vector<Series>& series, double x_max,
                       const std::vector<Marker>& markers) {
  const double w = 900, h = 280, left = 60, right = 20, top = 30, bottom = 40;
  double y_max = 0;
  for (const auto& s : series)
    for (const auto& p : s.points) y_max = std::max(y_max, p.second);
  if (y_max <= 0) y_max = 1;
  // A round top: 1, 2 or 5 times a power of ten.
  double magnitude = std::pow(10, std::floor(std::log10(y_max)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= y_max) {
      y_max = m * magnitude;
      break;
    }
  if (x_max <= 0) x_max = 1;
  auto x = [&](double s) { return left + (w - left - right) * s / x_max; };
  auto y = [&](double v) { return top + (h - top - bottom) * (1 - v / y_max); };
  std::string svg = "<svg role=\"img\" aria-label=\"" + html_escape(title) + "\" width=\"" +
                    format("%.0f", w) + "\" height=\"" + format("%.0f", h) + "\" viewBox=\"0 0 " +
                    format("%.0f", w) + " " + format("%.0f", h) + "\">\n";
  svg += "<text x=\"" + format("%.0f", left) + "\" y=\"18\" font-weight=\"600\">" +
         html_escape(title) + "</text>\n";
  for (int i = 0; i <= 4; ++i) {
    double v = y_max * i / 4;
    svg += "<line x1=\"" + format("%.0f", left) + "\" x2=\"" + format("%.0f", w - right) +
           "\" y1=\"" + format("%.1f", y(v)) + "\" y2=\"" + format("%.1f", y(v)) +
           "\" stroke=\"#e5e7eb\"/>\n<text x=\"" + format("%.0f", left - 6) + "\" y=\"" +
           format("%.1f", y(v) + 4) + "\" text-anchor=\"end\">" +
           html_escape(format(y_max >= 10 ? "%.0f" : "%.2g", v)) + "</text>\n";
  }
  for (int i = 0; i <= 5; ++i) {
    double s = x_max * i / 5;
    svg += "<text x=\"" + format("%.1f", x(s)) + "\" y=\"" + format("%.0f", h - bottom + 16) +
           "\" text-anchor=\"middle\">" + format("%.1f s", s) + "</text>\n";
  }
  svg += "<text x=\"12\" y=\"" + format("%.0f", top + (h - top - bottom) / 2) +
         "\" transform=\"rotate(-90 12 " + format("%.0f", top + (h - top - bottom) / 2) +
         ")\" text-anchor=\"middle\">" + html_escape(unit) + "</text>\n";
  for (std::size_t i = 0; i < markers.size(); ++i) {
    const auto& m = markers[i];
    double mx = x(std::clamp(m.at_s, 0.0, x_max));
    svg += "<line x1=\"" + format("%.1f", mx) + "\" x2=\"" + format("%.1f", mx) + "\" y1=\"" +
           format("%.0f", top) + "\" y2=\"" + format("%.0f", h - bottom) + "\" stroke=\"" +
           m.color + "\" stroke-dasharray=\"4 3\"><title>" + html_escape(m.label) +
           "</title></line>\n<text x=\"" + format("%.1f", mx + 3) + "\" y=\"" +
           format("%.0f", top + 12 + 12 * static_cast<double>(i % 4)) + "\" fill=\"" + m.color +
           "\">" + html_escape(m.label) + "</text>\n";
  }
  double legend_x = w - right - 110.0 * static_cast<double>(series.size());
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    std::string points;
    for (const auto& p : s.points)
      points += format("%.1f", x(p.first)) + "," + format("%.1f", y(p.second)) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"2\" points=\"" +
           points + "\"/>\n";
    double lx = legend_x + 110.0 * static_cast<double>(i);
    svg += "<rect x=\"" + format("%.0f", lx) + "\" y=\"9\" width=\"12\" height=\"4\" fill=\"" +
           s.color + "\"/><text x=\"" + format("%.0f", lx + 16) + "\" y=\"15\">" +
           html_escape(s.name) + "</text>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace

std::string html_escape(const std::string& raw) {
  // The page says UTF-8: bytes that are not become U+FFFD, and control characters (raw in
  // the page before) escapes, as markup_text writes them.
  const std::string text = platform::markup_text(raw);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string run_html_report(const json& report) {
  const json summary = report.value("summary", json::object());
  const json scenarios = report.value("scenarios", json::array());
  std::string body =
      "<h1>shopctl run</h1>\n<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">";
  body += card("scenarios", number(summary, "scenarios"));
  body += card("passed", number(summary, "passed"), "passed");
  body += card("failed", number(summary, "failed"), summary.value("failed", 0) ? "failed" : "");
  body += card("errors", number(summary, "errors"), summary.value("errors", 0) ? "shop_error" : "");
  body += card("skipped", number(summary, "skipped"), "skipped");
  body += card("steps", number(summary, "steps"));
  body += card("time", ms_text(summary.value("duration_ms", 0.0)));
  body += "</div>\n<p>shopctl " + html_escape(str(report, "version")) + "</p>\n";
  body +=
      "<table><tr><th>#</th><th>scenario</th><th>result</th><th>time</th><th>steps</th><th>file</"
      "th></tr>\n";
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& s = scenarios[i];
    std::string status = str(s, "status");
    body += "<tr><td class=\"num\">" + std::to_string(i + 1) + "</td><td><a href=\"#scenario-" +
            std::to_string(i + 1) + "\">" + html_escape(str(s, "name")) + "</a></td><td class=\"" +
            html_escape(status) + "\">" + html_escape(status) + "</td><td class=\"num\">" +
            html_escape(ms_text(s.value("duration_ms", 0.0))) + "</td><td class=\"num\">" +
            std::to_string(s.value("steps", json::array()).size()) + "</td><td>" +
            html_escape(str(s, "file")) + "</td></tr>\n";
  }
  body += "</table>\n</section>\n<section id=\"scenarios\">\n<h2>Scenarios</h2>\n";
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& s = scenarios[i];
    std::string status = str(s, "status");
    bool open = status != "passed" && status != "skipped";
    body += "<details id=\"scenario-" + std::to_string(i + 1) + "\"" + (open ? " open" : "") +
            "><summary><span class=\"badge " + html_escape(status) + "\">" + html_escape(status) +
            "</span> " + html_escape(str(s, "name")) + " <small>(" +
            html_escape(ms_text(s.value("duration_ms", 0.0))) + ", " + html_escape(str(s, "file")) +
            ")</small></summary>\n";
    if (s.contains("tags") && !s["tags"].empty()) {
      std::string tags;
      for (const auto& t : s["tags"])
        tags += (tags.empty() ? "" : ", ") + (t.is_string() ? t.get<std::string>() : t.dump());
      body += "<p>Tags: " + html_escape(tags) + "</p>\n";
    }
    const json failures = s.value("failures", json::array());
    if (!failures.empty()) {
      body += "<h3>Failures</h3>\n";
      for (const auto& f : failures) body += failure_html(s, f);
    }
    body += "<h3>Steps</h3>\n" + steps_table(s.value("steps", json::array()));
    body += "<h3>Call graph</h3>\n" + graph_section(s.value("calls", json::array()));
    const json transitions = s.value("circuit_transitions", json::array());
    if (!transitions.empty()) {
      body += "<h3>Breaker transitions</h3>\n<ul>";
      for (const auto& t : transitions)
        body += "<li>" + html_escape(str(t, "breaker") + " " + str(t, "transition")) + "</li>";
      body += "</ul>\n";
    }
    body += "</details>\n";
  }
  body += "</section>\n";
  return page("shopctl run report", body);
}

std::string load_html_report(const json& r) {
  const json requests = r.value("requests", json::object());
  const json latency = r.value("latency_ms", json::object());
  const json orders = r.value("orders", json::object());
  std::string body =
      "<h1>shopctl load</h1>\n<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">";
  body += card("duration", format("%.1f s", r.value("duration_s", 0.0)));
  body += card("mode",
               str(r, "mode") + (str(r, "mode") == "open" ? format(" %g/s", r.value("rate", 0.0))
                                                          : " " + number(r, "users") + " users"));
  // An open loop's starts that found no idle user (k6's dropped_iterations): the console and
  // the JSON said it, the page did not.
  if (str(r, "mode") == "open") {
    const bool dropped = r.value("dropped", 0) > 0;
    body += card("dropped starts", number(r, "dropped"), dropped ? "failed" : "passed");
  }
  body += card("requests", number(requests, "total"));
  body += card("req/s", format("%.1f", requests.value("per_second", 0.0)));
  body += card(
      "errors",
      number(requests, "errors") + format(" (%.2f%%)", 100 * requests.value("error_rate", 0.0)),
      requests.value("errors", 0) ? "failed" : "passed");
  body += card("p50", format("%.2f ms", latency.value("p50", 0.0)));
  body += card("p99", format("%.2f ms", latency.value("p99", 0.0)));
  body += card("orders paid", number(orders, "paid"));
  body += "</div>\n<p>Mix: " + html_escape(str(r, "mix")) + "; setup " +
          format("%.1f s", r.value("setup_s", 0.0)) + "</p>\n</section>\n";

  // The timeline: charts first, then the events on them.
  const json timeline = r.value("timeline", json::array());
  double x_max = r.value("duration_s", 0.0);
  Series p50{"p50", "#3b5bdb", {}}, p90{"p90", "#f08c00", {}}, p99{"p99", "#c92a2a", {}};
  Series rps{"requests/s", "#2f9e44", {}}, eps{"errors/s", "#c92a2a", {}};
  for (const auto& t : timeline) {
    double at = t.value("at_s", 0.0);
    x_max = std::max(x_max, at);
    // A second in which no request finished has no latency (null): no point, not a 0.
    const json lat = t.value("latency_ms", json::object());
    for (const auto& [series, key] :
         {std::pair{&p50, "p50"}, std::pair{&p90, "p90"}, std::pair{&p99, "p99"}}) {
      if (lat.is_object() && lat.contains(key) && lat[key].is_number())
        series->points.emplace_back(at, lat[key].get<double>());
    }
    rps.points.emplace_back(at, t.value("requests_per_second", 0.0));
    eps.points.emplace_back(at, t.value("errors_per_second", 0.0));
  }
  std::vector<Marker> markers;
  std::vector<std::pair<double, std::string>> events;
  for (const auto& f : r.value("faults", json::array())) {
    std::string what = "fault " + str(f, "event") + ": " + str(f, "fault");
    markers.push_back({f.value("at_s", 0.0), "fault " + str(f, "event"), "#7048e8"});
    events.emplace_back(f.value("at_s", 0.0), what);
  }
  for (const auto& t : r.value("breaker_transitions", json::array())) {
    std::string what = "breaker " + str(t, "breaker") + " " + str(t, "transition");
    markers.push_back({t.value("at_s", 0.0), str(t, "breaker") + " " + str(t, "to"), "#e8590c"});
    events.emplace_back(t.value("at_s", 0.0), what);
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  body += "<section id=\"timeline\">\n<h2>Over time</h2>\n";
  if (timeline.empty())
    body += "<p>No per-second samples (the run was shorter than a second?).</p>\n";
  body += line_chart("Latency percentiles per second", "ms", {p50, p90, p99}, x_max, markers);
  body += line_chart("Throughput per second", "per second", {rps, eps}, x_max, markers);
  body += "<h3>Faults and breaker transitions</h3>\n";
  if (events.empty()) {
    body += "<p>None.</p>\n";
  } else {
    body += "<table><tr><th>at</th><th>event</th></tr>\n";
    for (const auto& [at, what] : events)
      body += "<tr><td class=\"num\">" + format("%.2f s", at) + "</td><td>" + html_escape(what) +
              "</td></tr>\n";
    body += "</table>\n";
  }
  body += "</section>\n";

  body += "<section id=\"errors\">\n<h2>Errors by code</h2>\n";
  const json errors = r.value("errors_by_code", json::object());
  if (errors.empty()) {
    body += "<p>None.</p>\n";
  } else {
    body += "<table><tr><th>code</th><th>count</th></tr>\n";
    for (const auto& [code, n] : errors.items())
      body +=
          "<tr><td>" + html_escape(code) + "</td><td class=\"num\">" + n.dump() + "</td></tr>\n";
    body += "</table>\n";
  }
  body += "</section>\n";

  auto tallies = [&](const char* title, const char* key) {
    std::string out = "<h2>" + std::string(title) +
                      "</h2>\n<table><tr><th>name</th><th>count</th><th>per "
                      "second</th><th>errors</th><th>p50</th>"
                      "<th>p90</th><th>p99</th><th>max</th></tr>\n";
    const json rows = r.value(key, json::object());
    for (const auto& [name, t] : rows.items()) {
      const json l = t.value("latency_ms", json::object());
      out += "<tr><td>" + html_escape(name) + "</td><td class=\"num\">" + number(t, "count") +
             "</td><td class=\"num\">" + format("%.1f", t.value("per_second", 0.0)) +
             "</td><td class=\"num\">" + number(t, "errors") + "</td>";
      for (const char* q : {"p50", "p90", "p99", "max"})
        out += "<td class=\"num\">" + format("%.2f ms", l.value(q, 0.0)) + "</td>";
      out += "</tr>\n";
    }
    return out + "</table>\n";
  };
  body += "<section id=\"journeys\">\n" + tallies("Journeys", "journeys") + "</section>\n";
  body += "<section id=\"routes\">\n" + tallies("Routes", "routes") + "</section>\n";
  body += "<section id=\"orders\">\n<h2>Orders</h2>\n<p>" + number(orders, "created") +
          " created, " + number(orders, "paid") + " paid, " + number(orders, "failed") +
          " failed, " + number(orders, "unsettled") + " not settled</p>\n</section>\n";
  const json thresholds = r.value("thresholds", json::array());
  if (!thresholds.empty()) {
    body +=
        "<section "
        "id=\"thresholds\">\n<h2>Thresholds</h2>\n<table><tr><th>threshold</th><th>actual</"
        "th><th>result</th></tr>\n";
    for (const auto& t : thresholds) {
      bool passed = t.value("passed", false);
      // A latency over nothing has no actual (value null): "no samples".
      const auto value = t.find("value");
      const std::string actual = value != t.end() && value->is_number()
                                     ? format("%.3f", value->get<double>()) + str(t, "unit")
                                     : std::string("no samples");
      body += "<tr><td>" + html_escape(str(t, "expr")) + "</td><td class=\"num\">" +
              html_escape(actual) + "</td><td class=\"" +
              (passed ? "passed\">ok" : "failed\">FAIL") + "</td></tr>\n";
    }
    body += "</table>\n</section>\n";
  }
  return page("shopctl load report", body);
}

}  // namespace shopctl::observe_tools
