#pragma once
// The HTML reports of `shopctl run --html` and `shopctl load --html`: one self-contained file
// each (inline CSS and SVG, no script, nothing fetched), drawn from the JSON reports the two
// commands already write (`run --json`, `load --json`), so that the HTML says nothing the
// JSON does not. They live here, beside the call graph they draw, because scenario/ and
// load/ may not include observe_tools/ (tests/architecture/include_rules_test.cpp). Pure
// functions of JSON in, text out.
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace shopctl::observe_tools {

// `text` with & < > " ' replaced by entities: safe in element content and quoted attributes.
std::string html_escape(const std::string& text);

// The report of a scenario run, from scenario::json_report: the summary, every scenario with
// its steps and timings, each failure with its request, response and expectation, and each
// scenario's call graph (an SVG and a table of calls per edge).
std::string run_html_report(const nlohmann::json& run_report);

// The report of a load run, from load::json_report: the summary, latency percentiles and
// throughput over time (SVG line charts from its "timeline", with faults and breaker
// transitions marked on the same time axis), errors by code, routes and thresholds.
std::string load_html_report(const nlohmann::json& load_report);

}  // namespace shopctl::observe_tools
