// The HTML reports of `shopctl run --html` and `shopctl load --html`: every section there,
// every piece of text escaped, nothing fetched from elsewhere, tags balanced.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe_tools/html_report.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"
#include "scenario/report.hpp"
#include "scenario/runner.hpp"

namespace {

using nlohmann::json;
namespace tools = shopctl::observe_tools;

// Whether every element opened is closed, in order ("<x/>" closes itself; "<!..." is skipped).
// Enough for the reports, whose text and attributes are escaped: a stray "<" breaks it.
std::string tag_balance_problem(const std::string& html) {
  std::vector<std::string> open;
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    auto end = html.find('>', i);
    if (end == std::string::npos) return "a tag is not closed at " + std::to_string(i);
    std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.starts_with("!")) continue;
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1))
        return "</" + tag.substr(1) + "> closes nothing open";
      open.pop_back();
      continue;
    }
    if (tag.ends_with("/")) continue;
    open.push_back(tag.substr(0, tag.find_first_of(" \n")));
  }
  return open.empty() ? "" : "<" + open.back() + "> is never closed";
}

json call(const std::string& caller, const std::string& callee, int status) {
  return {{"edge", caller + "->" + callee},
          {"caller", caller},
          {"callee", callee},
          {"status", status},
          {"duration_ms", 3.5},
          {"violation", false},
          {"refused_by_breaker", false}};
}

json run_report() {
  json failing_step = {{"phase", "steps"},
                       {"name", "check out <b>now</b>"},
                       {"action", "request"},
                       {"file", "x.yaml"},
                       {"line", 12},
                       {"passed", false},
                       {"duration_ms", 42.0},
                       {"attempts", 1},
                       {"requests", json::array({{{"method", "POST"},
                                                  {"url", "/api/orders?a=1&b=<2>"},
                                                  {"status", 503},
                                                  {"duration_ms", 41.0}}})},
                       {"failures", json::array()},
                       {"calls", json::array()},
                       {"circuit_transitions", json::array()}};
  json failure = {{"phase", "steps"},    {"step", "check out <b>now</b>"},
                  {"file", "x.yaml"},    {"line", 12},
                  {"column", 5},         {"message", "expected status 201, got 503 & \"more\""},
                  {"status", 503},       {"body", "{\"error\":\"<img src=x onerror=alert(1)>\"}"},
                  {"trace_id", "abc123"}};
  json calls = json::array({call("client", "gateway", 503), call("gateway", "order", 503),
                            call("order", "catalog", 200), call("order", "catalog", 500)});
  json scenarios = json::array();
  scenarios.push_back({{"name", "<script>alert(1)</script>"},
                       {"file", "x.yaml"},
                       {"tags", {"flow"}},
                       {"status", "failed"},
                       {"duration_ms", 50.0},
                       {"steps", json::array({failing_step})},
                       {"failures", json::array({failure})},
                       {"calls", calls},
                       {"circuit_transitions", json::array({{{"breaker", "order->catalog"},
                                                             {"transition", "CLOSED->OPEN"}}})}});
  scenarios.push_back({{"name", "browse"},
                       {"file", "y.yaml"},
                       {"tags", json::array()},
                       {"status", "passed"},
                       {"duration_ms", 10.0},
                       {"steps", json::array()},
                       {"failures", json::array()},
                       {"calls", json::array()},
                       {"circuit_transitions", json::array()}});
  return {{"tool", "shopctl"},
          {"version", "1.2.3"},
          {"summary",
           {{"scenarios", 2},
            {"passed", 1},
            {"failed", 1},
            {"errors", 0},
            {"skipped", 0},
            {"steps", 1},
            {"duration_ms", 60.0}}},
          {"scenarios", scenarios}};
}

json load_report() {
  json timeline = json::array();
  for (int s = 1; s <= 5; ++s)
    timeline.push_back({{"at_s", s * 1.0},
                        {"requests_per_second", 100.0 * s},
                        {"errors_per_second", s == 3 ? 7.0 : 0.0},
                        {"latency_ms", {{"p50", 1.0}, {"p90", 2.0}, {"p99", 3.0 * s}}}});
  return {
      {"duration_s", 5.0},
      {"setup_s", 0.2},
      {"mode", "closed"},
      {"users", 4},
      {"rate", 0},
      {"mix", "browse=1"},
      {"requests", {{"total", 1500}, {"per_second", 300.0}, {"errors", 7}, {"error_rate", 0.004}}},
      {"latency_ms", {{"p50", 1.0}, {"p90", 2.0}, {"p99", 9.0}, {"max", 20.0}, {"mean", 1.5}}},
      {"journeys",
       {{"browse",
         {{"count", 1500},
          {"per_second", 300.0},
          {"errors", 7},
          {"latency_ms", {{"p50", 1.0}, {"p90", 2.0}, {"p99", 9.0}, {"max", 20.0}}}}}}},
      {"routes", json::object()},
      {"errors_by_code", {{"503 <catalog_unavailable>", 7}}},
      {"orders", {{"created", 0}, {"paid", 0}, {"failed", 0}, {"unsettled", 0}}},
      {"breaker_transitions", json::array({{{"breaker", "order->catalog"},
                                            {"transition", "CLOSED->OPEN"},
                                            {"to", "OPEN"},
                                            {"at_s", 2.5}}})},
      {"faults",
       json::array({{{"at_s", 2.0}, {"event", "added"}, {"fault", {{"target", "catalog"}}}},
                    {{"at_s", 4.0}, {"event", "cleared"}, {"fault", "f-1"}}})},
      {"thresholds",
       json::array({{{"expr", "p99<5ms"}, {"value", 9.0}, {"unit", "ms"}, {"passed", false}}})},
      {"timeline", timeline}};
}

}  // namespace

// The reports say UTF-8; a name or an answer that is not (a target's body, a --var) used to go
// into them byte for byte, and `run --json` threw on it (exit 134).
TEST_CASE("the reports stay UTF-8 whatever bytes they quote") {
  CHECK(tools::html_escape("caf\xE9 <b>") == "caf\xEF\xBF\xBD &lt;b&gt;");
  CHECK(tools::html_escape("caf\xC3\xA9") == "caf\xC3\xA9");
  shopctl::scenario::RunSummary summary;
  shopctl::scenario::ScenarioResult result;
  result.name = "bad \xFF\xFE name";
  result.file = "x.yaml";
  result.error = "an answer: \xC0\xAF";
  summary.results.push_back(result);
  const std::string xml = shopctl::scenario::junit_xml(summary);
  CHECK(xml.find("bad \xEF\xBF\xBD\xEF\xBF\xBD name") != std::string::npos);
  CHECK(xml.find('\xFF') == std::string::npos);
  CHECK(xml.find('\xC0') == std::string::npos);
  const std::string text = shopctl::platform::json_text(shopctl::scenario::json_report(summary), 2);
  CHECK(text.find("bad \xEF\xBF\xBD\xEF\xBF\xBD name") != std::string::npos);
}

// The Ant/Jenkins JUnit schema requires a testsuite's timestamp (ISO 8601, no zone) and
// hostname; strict validators refused the report without them (an outside probe).
TEST_CASE("the JUnit report's testsuite says when and where the run was") {
  shopctl::scenario::RunSummary summary;
  summary.started_unix_ms = 1'796'571'295'864;  // 2026-12-06T15:34:55.864Z
  shopctl::scenario::ScenarioResult result;
  result.name = "one";
  result.file = "x.yaml";
  result.status = shopctl::scenario::ScenarioStatus::passed;
  summary.results.push_back(result);
  const std::string xml = shopctl::scenario::junit_xml(summary);
  const auto suite = xml.find("<testsuite name=\"scenarios\"");
  REQUIRE(suite != std::string::npos);
  const std::string head = xml.substr(suite, xml.find('>', suite) - suite);
  CHECK(head.find(" timestamp=\"2026-12-06T15:34:55\"") != std::string::npos);
  CHECK(head.find(" hostname=\"") != std::string::npos);
  CHECK(head.find(" hostname=\"\"") == std::string::npos);
}

// The console quoted names, paths, step names and answers byte for byte: a scenario named
// "\e[2J" cleared the screen, "\e]0;...\a" set the window title, and a name with "\n[1/1] PASS"
// printed a line of its own.
TEST_CASE("the console shows control characters as escapes and never sends them") {
  using shopctl::platform::terminal_text;
  CHECK(terminal_text("a\x1b[2Jb", true) == "a\\x1b[2Jb");
  CHECK(terminal_text("x\ny\tz\x7f", true) == "x\\x0ay\tz\\x7f");
  CHECK(terminal_text("x\ny", false) == "x\ny");
  CHECK(terminal_text("csi \xC2\x9B 31m", true) == "csi \\u009b 31m");  // C1 control
  CHECK(terminal_text("caf\xC3\xA9 \xE2\x82\xAC", true) == "caf\xC3\xA9 \xE2\x82\xAC");
  CHECK(terminal_text("bad \xFF", true) == "bad \xEF\xBF\xBD");

  shopctl::scenario::RunSummary summary;
  shopctl::scenario::ScenarioResult result;
  result.name = "evil\x1b]0;owned\x07\n[1/1] PASS forged";
  result.file = "dir/\x1b[31mx.yaml";
  result.status = shopctl::scenario::ScenarioStatus::failed;
  shopctl::scenario::Failure failure;
  failure.step = "step\x1b[1A";
  failure.message = "expected 200";
  failure.status = 500;
  failure.body = "{\"error\":\"\x1b[2J\"}";
  result.failures.push_back(failure);
  summary.results.push_back(result);
  const shopctl::scenario::ConsoleStyle plain{};
  for (const std::string& text : {shopctl::scenario::progress_line(result, 1, 1, plain),
                                  shopctl::scenario::console_summary(summary, plain)}) {
    INFO(text);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find("\n[1/1] PASS forged") == std::string::npos);
    CHECK(text.find("evil\\x1b]0;owned\\x07\\x0a[1/1] PASS forged") != std::string::npos);
  }
  CHECK(shopctl::scenario::console_summary(summary, plain).find("\\x1b[2J") != std::string::npos);
}

TEST_CASE("html_escape replaces the five characters HTML gives a meaning") {
  CHECK(tools::html_escape("<a href=\"x\">'&'</a>") ==
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(tools::html_escape("plain text") == "plain text");
}

TEST_CASE("the run report has the summary, every scenario, its steps, failures and call graph") {
  auto html = tools::run_html_report(run_report());
  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(html.find("id=\"summary\"") != std::string::npos);
  CHECK(html.find("id=\"scenario-1\" open") != std::string::npos);  // a failed scenario is open
  CHECK(html.find("id=\"scenario-2\">") != std::string::npos);      // a passed one is closed
  CHECK(html.find("<h3>Failures</h3>") != std::string::npos);
  CHECK(html.find("Expectation:") != std::string::npos);
  CHECK(html.find("Request:</p><pre>POST /api/orders?a=1&amp;b=&lt;2&gt;</pre>") !=
        std::string::npos);
  CHECK(html.find("Response:") != std::string::npos);
  CHECK(html.find("abc123") != std::string::npos);
  CHECK(html.find("<h3>Steps</h3>") != std::string::npos);
  CHECK(html.find("<h3>Call graph</h3>") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(
      html.find("<td>order</td><td>catalog</td><td class=\"num\">2</td><td class=\"num\">1</td>") !=
      std::string::npos);
  CHECK(html.find("order-&gt;catalog CLOSED-&gt;OPEN") != std::string::npos);
}

TEST_CASE("the run report escapes every name and body and fetches nothing") {
  auto html = tools::run_html_report(run_report());
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>now</b>") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(tag_balance_problem(html) == "");
}

TEST_CASE(
    "the load report charts latency and throughput over time with faults and breakers marked") {
  auto html = tools::load_html_report(load_report());
  for (const char* section :
       {"id=\"summary\"", "id=\"timeline\"", "id=\"errors\"", "id=\"routes\"", "id=\"thresholds\""})
    CHECK_MESSAGE(html.find(section) != std::string::npos, section);
  CHECK(html.find("Latency percentiles per second") != std::string::npos);
  CHECK(html.find("Throughput per second") != std::string::npos);
  // Three latency series and two throughput series.
  std::size_t lines = 0;
  for (std::size_t i = 0; (i = html.find("<polyline", i)) != std::string::npos; ++i) ++lines;
  CHECK(lines == 5);
  CHECK(html.find("fault added") != std::string::npos);
  CHECK(html.find("order-&gt;catalog OPEN") != std::string::npos);
  CHECK(html.find("503 &lt;catalog_unavailable&gt;") != std::string::npos);
  CHECK(html.find("FAIL") != std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(tag_balance_problem(html) == "");
}

TEST_CASE("the load report of a run without samples still renders") {
  auto report = load_report();
  report["timeline"] = json::array();
  report["faults"] = json::array();
  report["breaker_transitions"] = json::array();
  auto html = tools::load_html_report(report);
  CHECK(html.find("No per-second samples") != std::string::npos);
  CHECK(tag_balance_problem(html) == "");
}

// JUnit let U+FFFE and U+FFFF through (XML 1.0 has no such characters: a CI's parser refused
// the file), and the HTML reports wrote C0 and C1 control bytes raw into the page.
TEST_CASE("the reports hold only characters XML and HTML allow") {
  shopctl::scenario::RunSummary summary;
  shopctl::scenario::ScenarioResult result;
  result.name =
      "a\xEF\xBF\xBE"
      "b\xEF\xBF\xBF"
      "c\x01"
      "d";
  result.file = "x.yaml";
  result.status = shopctl::scenario::ScenarioStatus::failed;
  shopctl::scenario::Failure failure;
  failure.message = "bell\x07 esc\x1b[2J csi\xC2\x9B del\x7F";
  result.failures.push_back(failure);
  summary.results.push_back(result);
  const std::string xml = shopctl::scenario::junit_xml(summary);
  INFO(xml);
  CHECK(xml.find("\xEF\xBF\xBE") == std::string::npos);
  CHECK(xml.find("\xEF\xBF\xBF") == std::string::npos);
  CHECK(xml.find("a\xEF\xBF\xBD"
                 "b\xEF\xBF\xBD"
                 "c\\x01d") != std::string::npos);
  CHECK(xml.find('\x07') == std::string::npos);
  CHECK(xml.find('\x1b') == std::string::npos);
  CHECK(xml.find("\xC2\x9B") == std::string::npos);
  CHECK(xml.find("bell\\x07 esc\\x1b[2J csi\\u009b del\\x7f") != std::string::npos);

  const std::string html = tools::html_escape("t\x1b]0;title\x07 \xEF\xBF\xBF <i>\n\tx\r");
  CHECK(html == "t\\x1b]0;title\\x07 \xEF\xBF\xBD &lt;i&gt;\n\tx\r");
}

// A scenario file whose name holds a newline or a tab: XML turns those into spaces inside an
// attribute, so the JUnit report escapes them there (classname, name, message).
TEST_CASE("JUnit attributes keep newlines and tabs as character references") {
  shopctl::scenario::RunSummary summary;
  shopctl::scenario::ScenarioResult result;
  result.name = "two\tparts";
  result.file = "dir/odd\nname.yaml";
  result.status = shopctl::scenario::ScenarioStatus::failed;
  shopctl::scenario::Failure failure;
  failure.message = "line one\nline two";
  result.failures.push_back(failure);
  summary.results.push_back(result);
  const std::string xml = shopctl::scenario::junit_xml(summary);
  INFO(xml);
  CHECK(xml.find("classname=\"dir.odd&#10;name\"") != std::string::npos);
  CHECK(xml.find("file=\"dir/odd&#10;name.yaml\"") != std::string::npos);
  CHECK(xml.find("name=\"two&#9;parts\"") != std::string::npos);
  CHECK(xml.find("message=\"line one&#10;line two\"") != std::string::npos);
}
