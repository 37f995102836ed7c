// GET /metrics against the rules of the Prometheus text exposition format (version 0.0.4):
// https://prometheus.io/docs/instrumenting/exposition_formats/ . The checker
// (exposition_checker.hpp) reads the text the way a scraper does and names every rule a line
// breaks; the tests render a Metrics with observations and require that it breaks none, and
// show that the checker does catch each kind of mistake.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exposition_checker.hpp"
#include "platform/observe/metrics.hpp"

namespace {

using namespace std::chrono_literals;
using shopctl_test::check_exposition;
using shopctl_test::Labels;

std::string metric_line(const std::string& text, const std::string& contains) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(contains) != std::string::npos) return line;
  }
  return "";
}

}  // namespace

TEST_CASE("a service's /metrics text follows the exposition format's rules") {
  shopctl::platform::Metrics m("catalog");
  m.observe_request("GET", "/products", 200, 3ms);
  m.observe_request("GET", "/products", 200, 40ms);
  m.observe_request("GET", "/products", 200, 1500ms);
  m.observe_request("GET", "/products/{id}", 404, 120us);
  m.observe_request("POST", "/_admin", 401, 20s);  // beyond the last bucket
  m.observe_call("catalog", "ok", 2ms);
  m.observe_call("catalog", "timeout", 2s);
  m.observe_call("catalog", "not_permitted", 0ns);
  m.count_fault("delay");
  m.count_fault("delay");
  m.count_violation("payment");
  m.count_breaker_transition("order->catalog", "CLOSED", "OPEN");
  m.count_breaker_transition("order->catalog", "OPEN", "HALF_OPEN");
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state: 0 CLOSED, 1 OPEN", "breaker", [] {
    return std::vector<std::pair<std::string, double>>{{"order->catalog", 1},
                                                       {"order->payment", 0}};
  });

  const auto text = m.render();
  const auto x = check_exposition(text);
  INFO(text);
  CHECK_MESSAGE(x.errors.empty(), x.error_text());

  struct Expected {
    const char* name;
    const char* type;
  };
  for (auto e : {Expected{"shopctl_http_requests_total", "counter"},
                 Expected{"shopctl_http_request_duration_seconds", "histogram"},
                 Expected{"shopctl_outbound_calls_total", "counter"},
                 Expected{"shopctl_outbound_call_duration_seconds", "histogram"},
                 Expected{"shopctl_faults_injected_total", "counter"},
                 Expected{"shopctl_architecture_violations_total", "counter"},
                 Expected{"shopctl_circuit_breaker_transitions_total", "counter"},
                 Expected{"shopctl_circuit_breaker_state", "gauge"}}) {
    const auto* f = x.family(e.name);
    REQUIRE_MESSAGE(f, e.name);
    CHECK(f->type == e.type);
    CHECK_MESSAGE(f->help.has_value(), e.name);
    CHECK_MESSAGE(!f->help->empty(), e.name);
  }

  CHECK(x.value("shopctl_http_requests_total", {{"route", "/products"}, {"status", "200"}}) == 3);
  CHECK(x.value("shopctl_http_requests_total", {{"route", "/products/{id}"}, {"status", "404"}}) ==
        1);
  CHECK(x.value("shopctl_http_requests_total", {{"service", "catalog"}, {"method", "POST"}}) == 1);
  CHECK(x.value("shopctl_http_request_duration_seconds_count", {{"route", "/products"}}) == 3);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket",
                {{"route", "/products"}, {"le", "+Inf"}}) == 3);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket",
                {{"route", "/products"}, {"le", "0.005"}}) == 1);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket",
                {{"route", "/products"}, {"le", "0.05"}}) == 2);
  CHECK(
      x.value("shopctl_http_request_duration_seconds_sum", {{"route", "/products"}}).value_or(0) ==
      doctest::Approx(1.543));
  // 20 s is above the last finite bound: only +Inf counts it.
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket",
                {{"route", "/_admin"}, {"le", "10"}}) == 0);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket",
                {{"route", "/_admin"}, {"le", "+Inf"}}) == 1);

  CHECK(x.value("shopctl_outbound_calls_total", {{"callee", "catalog"}, {"outcome", "timeout"}}) ==
        1);
  CHECK(x.value("shopctl_outbound_calls_total",
                {{"callee", "catalog"}, {"outcome", "not_permitted"}}) == 1);
  // A refused attempt never went out: it has no duration.
  CHECK(x.value("shopctl_outbound_call_duration_seconds_count", {{"callee", "catalog"}}) == 2);
  CHECK(x.value("shopctl_faults_injected_total", {{"type", "delay"}}) == 2);
  CHECK(x.value("shopctl_architecture_violations_total", {{"caller", "payment"}}) == 1);
  CHECK(x.value("shopctl_circuit_breaker_transitions_total",
                {{"from", "CLOSED"}, {"to", "OPEN"}}) == 1);
  CHECK(x.value("shopctl_circuit_breaker_state", {{"breaker", "order->catalog"}}) == 1);
  CHECK(x.value("shopctl_circuit_breaker_state",
                {{"breaker", "order->payment"}, {"service", "catalog"}}) == 0);
}

TEST_CASE("counters are named *_total and durations are histograms in seconds") {
  shopctl::platform::Metrics m("order");
  m.observe_request("GET", "/cart", 200, 1ms);
  m.observe_call("catalog", "ok", 1ms);
  m.count_fault("abort");
  m.count_violation("client");
  m.count_breaker_transition("order->catalog", "CLOSED", "OPEN");
  const auto x = check_exposition(m.render());
  REQUIRE(x.errors.empty());
  for (const auto& f : x.families) {
    if (f.type == "counter") CHECK_MESSAGE(f.name.ends_with("_total"), f.name);
    if (f.type == "histogram") CHECK_MESSAGE(f.name.ends_with("_seconds"), f.name);
    CHECK_MESSAGE(f.name.starts_with("shopctl_"), f.name);
  }
}

TEST_CASE("label values escape backslash, double quote and line feed") {
  shopctl::platform::Metrics m("gateway");
  const std::string route = "/a\\b\"c\nd";
  m.observe_request("GET", route, 404, 1ms);
  const auto text = m.render();
  const auto x = check_exposition(text);
  INFO(text);
  CHECK_MESSAGE(x.errors.empty(), x.error_text());
  // Written escaped, on one line...
  const auto line = metric_line(text, "shopctl_http_requests_total{");
  CHECK(line.find(R"(route="/a\\b\"c\nd")") != std::string::npos);
  // ...and read back as the original.
  CHECK(x.value("shopctl_http_requests_total", {{"route", route}}) == 1);
  CHECK(x.value("shopctl_http_request_duration_seconds_count", {{"route", route}}) == 1);
}

TEST_CASE(
    "gauges from add_gauge are read when /metrics is rendered: outbox depth and breaker state") {
  shopctl::platform::Metrics m("payment");
  auto depth = std::make_shared<std::atomic<int>>(0);
  m.add_gauge("shopctl_payment_outbox_depth",
              "Payment-result callbacks to the order service not yet acknowledged", "outbox",
              [depth] {
                return std::vector<std::pair<std::string, double>>{
                    {"order_callbacks", static_cast<double>(depth->load())}};
              });
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state: 0 CLOSED, 1 OPEN, 2 HALF_OPEN",
              "breaker", [] {
                return std::vector<std::pair<std::string, double>>{{"payment->order", 2},
                                                                   {"payment->provider", 0}};
              });

  auto first = check_exposition(m.render());
  CHECK_MESSAGE(first.errors.empty(), first.error_text());
  CHECK(first.value("shopctl_payment_outbox_depth",
                    {{"service", "payment"}, {"outbox", "order_callbacks"}}) == 0);
  depth->store(7);
  auto second = check_exposition(m.render());
  CHECK_MESSAGE(second.errors.empty(), second.error_text());
  CHECK(second.value("shopctl_payment_outbox_depth", {{"outbox", "order_callbacks"}}) == 7);
  CHECK(second.family("shopctl_payment_outbox_depth")->type == "gauge");
  CHECK(second.value("shopctl_circuit_breaker_state", {{"breaker", "payment->order"}}) == 2);
  CHECK(second.family("shopctl_circuit_breaker_state")->samples.size() == 2);
}

TEST_CASE("two gauge sources of one name render as one family, and a gauge without a label works") {
  shopctl::platform::Metrics m("payment");
  auto one = [](const char* label, double v) {
    return [label, v] { return std::vector<std::pair<std::string, double>>{{label, v}}; };
  };
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state", "breaker",
              one("payment->order", 1));
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state", "breaker",
              one("payment->provider", 0));
  m.add_gauge("shopctl_ready", "Whether the service is ready", "", one("", 1));
  const auto text = m.render();
  const auto x = check_exposition(text);
  INFO(text);
  CHECK_MESSAGE(x.errors.empty(), x.error_text());
  REQUIRE(x.family("shopctl_circuit_breaker_state"));
  CHECK(x.family("shopctl_circuit_breaker_state")->samples.size() == 2);
  CHECK(x.value("shopctl_ready", {{"service", "payment"}}) == 1);
}

TEST_CASE(
    "HELP text escapes backslash and line feed, and add_gauge refuses names the format forbids") {
  shopctl::platform::Metrics m("catalog");
  m.add_gauge("shopctl_example", "first line\nsecond \\ line", "kind", [] {
    return std::vector<std::pair<std::string, double>>{{"x", 1}};
  });
  const auto text = m.render();
  const auto x = check_exposition(text);
  INFO(text);
  CHECK_MESSAGE(x.errors.empty(), x.error_text());
  REQUIRE(x.family("shopctl_example"));
  CHECK(x.family("shopctl_example")->help == "first line\nsecond \\ line");

  auto none = [] { return std::vector<std::pair<std::string, double>>{}; };
  CHECK_THROWS_AS(m.add_gauge("shopctl outbox depth", "h", "", none), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("9lives", "h", "", none), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("shopctl_x", "h", "bad-label", none), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("shopctl_x", "h", "__reserved", none), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("shopctl_x", "h", "service", none), std::invalid_argument);
  CHECK_THROWS_AS(m.add_gauge("shopctl_http_requests_total", "h", "x", none),
                  std::invalid_argument);
}

TEST_CASE("a Metrics with no observations still renders valid text") {
  shopctl::platform::Metrics m("auth");
  const auto x = check_exposition(m.render());
  CHECK_MESSAGE(x.errors.empty(), x.error_text());
}

TEST_CASE("the format checker catches each kind of mistake") {
  auto errors = [](const std::string& text) { return check_exposition(text).errors.size(); };
  // A correct histogram, to be broken one rule at a time below.
  const std::string good =
      "# HELP d_seconds Duration\n# TYPE d_seconds histogram\n"
      "d_seconds_bucket{le=\"0.1\"} 1\nd_seconds_bucket{le=\"+Inf\"} 2\n"
      "d_seconds_sum 0.3\nd_seconds_count 2\n";
  CHECK(errors(good) == 0);
  CHECK(errors("# HELP d_seconds Duration\n# TYPE d_seconds histogram\n"
               "d_seconds_bucket{le=\"0.1\"} 1\nd_seconds_bucket{le=\"+Inf\"} 3\n"
               "d_seconds_sum 0.3\nd_seconds_count 2\n") > 0);  // +Inf differs from _count
  CHECK(errors("# TYPE d_seconds histogram\n"
               "d_seconds_bucket{le=\"0.1\"} 2\nd_seconds_bucket{le=\"+Inf\"} 1\n"
               "d_seconds_sum 0.3\nd_seconds_count 1\n") > 0);  // not cumulative
  CHECK(errors("# TYPE d_seconds histogram\n"
               "d_seconds_bucket{le=\"0.1\"} 1\nd_seconds_bucket{le=\"1\"} 2\n"
               "d_seconds_sum 0.3\nd_seconds_count 2\n") > 0);  // no +Inf bucket
  CHECK(errors("# TYPE d_seconds histogram\n"
               "d_seconds_bucket{le=\"+Inf\"} 2\nd_seconds_count 2\n") > 0);  // no _sum
  CHECK(errors("c_total 1\n# TYPE c_total counter\n") > 0);                   // TYPE after samples
  CHECK(errors("# TYPE c_total counter\n# TYPE c_total counter\nc_total 1\n") > 0);  // TYPE twice
  CHECK(errors("# HELP c_total a\n# HELP c_total b\n# TYPE c_total counter\nc_total 1\n") > 0);
  CHECK(errors("# TYPE c_total counter\nc_total{a=\"x\"y\"} 1\n") > 0);  // unescaped quote
  CHECK(errors("# TYPE c_total counter\nc_total{a=\"x\\q\"} 1\n") > 0);  // unknown escape
  CHECK(errors("# TYPE c_total counter\nc_total{a-b=\"x\"} 1\n") > 0);   // bad label name
  CHECK(errors("# TYPE c-total counter\nc-total 1\n") > 0);              // bad metric name
  CHECK(errors("# TYPE c_total counter\nc_total one\n") > 0);            // bad value
  CHECK(errors("# TYPE c_total counter\nc_total -1\n") > 0);             // negative counter
  CHECK(errors("# TYPE c_total counter\nc_total 1\nc_total 2\n") > 0);   // duplicate series
  CHECK(errors("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 2\n") > 0);  // not one group
  CHECK(errors("# TYPE c_total counter\nc_total 1") > 0);          // no final line feed
  CHECK(errors("# HELP h a \\t tab\n# TYPE h gauge\nh 1\n") > 0);  // bad HELP escape
}
