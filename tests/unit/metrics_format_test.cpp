// GET /metrics against the rules of the Prometheus text exposition format (version 0.0.4):
// https://prometheus.io/docs/instrumenting/exposition_formats/ . The checker below reads the
// text the way a scraper does and names every rule a line breaks; the tests render a Metrics
// with observations and require that it breaks none, and show that the checker does catch
// each kind of mistake.
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

#include "platform/observe/metrics.hpp"

namespace {

using namespace std::chrono_literals;
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string name;
  Labels labels;  // as written, unescaped
  double value = 0;
  int line = 0;
};

struct Family {
  std::string name;
  std::string type = "untyped";
  std::optional<std::string> help;  // unescaped
  std::vector<Sample> samples;
};

struct Exposition {
  std::vector<Family> families;  // in order of appearance
  std::vector<std::string> errors;

  const Family* family(const std::string& name) const {
    for (const auto& f : families) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  // The value of the one sample called `name` whose labels include `match`.
  std::optional<double> value(const std::string& name, const Labels& match) const {
    std::optional<double> found;
    for (const auto& f : families) {
      for (const auto& s : f.samples) {
        if (s.name != name) continue;
        bool all = std::all_of(match.begin(), match.end(), [&](const auto& m) {
          return std::find(s.labels.begin(), s.labels.end(), m) != s.labels.end();
        });
        if (all) found = s.value;
      }
    }
    return found;
  }
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
  }
};

bool is_metric_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!(letter || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool is_label_name(const std::string& s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!(letter || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// A float as Go's strconv.ParseFloat takes it (what the Prometheus parser uses).
std::optional<double> parse_float(const std::string& s) {
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "+inf" || lower == "inf") return INFINITY;
  if (lower == "-inf") return -INFINITY;
  if (lower == "nan") return NAN;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

// The family a sample name belongs to, given the declared types.
std::string family_of(const std::string& sample, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample.size() > s.size() && sample.ends_with(s)) {
      std::string base = sample.substr(0, sample.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || (it->second == "summary" && s != "_bucket"))) {
        return base;
      }
    }
  }
  return sample;
}

// Reads the exposition and records every broken rule as "line N: ...".
Exposition check_exposition(const std::string& text) {
  Exposition x;
  auto error = [&](int line, const std::string& what) {
    x.errors.push_back("line " + std::to_string(line) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') error(0, "the text must end with a line feed");

  std::map<std::string, std::string> types;   // declared TYPE per family
  std::set<std::string> helped;               // families with a HELP line
  std::set<std::string> finished;             // families whose group of samples has ended
  std::set<std::string> series;               // name + labels, for duplicates
  std::string current;                        // family of the previous line
  auto family_index = [&](const std::string& name) -> Family& {
    for (auto& f : x.families) {
      if (f.name == name) return f;
    }
    x.families.push_back(Family{name});
    return x.families.back();
  };
  auto enter = [&](int n, const std::string& name) {
    if (name != current) {
      if (!current.empty()) finished.insert(current);
      if (finished.count(name)) error(n, "lines of family " + name + " are not one group");
      current = name;
    }
  };

  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string keyword, name;
      words >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // any other comment is allowed
      if (line.rfind("# " + keyword + " ", 0) != 0) error(n, keyword + " must be written '# " + keyword + " '");
      if (!is_metric_name(name)) error(n, "bad metric name in " + keyword + ": '" + name + "'");
      enter(n, name);
      auto& family = family_index(name);
      std::string rest = line.size() > 7 + name.size() ? line.substr(7 + name.size() + 1) : "";
      if (keyword == "HELP") {
        if (!helped.insert(name).second) error(n, "second HELP for " + name);
        if (!family.samples.empty()) error(n, "HELP for " + name + " after its samples");
        std::string help;
        for (std::size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] != '\\') {
            help.push_back(rest[i]);
            continue;
          }
          if (i + 1 < rest.size() && rest[i + 1] == '\\') help.push_back('\\');
          else if (i + 1 < rest.size() && rest[i + 1] == 'n') help.push_back('\n');
          else error(n, "bad escape in HELP of " + name);
          ++i;
        }
        family.help = help;
      } else {
        static const std::set<std::string> known = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (!known.count(rest)) error(n, "unknown TYPE '" + rest + "'");
        if (types.count(name)) error(n, "second TYPE for " + name);
        if (!family.samples.empty()) error(n, "TYPE for " + name + " after its samples");
        types[name] = rest;
        family.type = rest;
      }
      continue;
    }

    // A sample: name [{labels}] value [timestamp]
    Sample s;
    s.line = n;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!is_metric_name(s.name)) error(n, "bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          error(n, "label without '='");
          break;
        }
        std::string label = line.substr(i, eq - i);
        if (!is_label_name(label)) error(n, "bad label name '" + label + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          error(n, "label value of " + label + " is not quoted");
          break;
        }
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c != '\\') {
            value.push_back(c);
            continue;
          }
          if (i >= line.size()) break;
          char e = line[i++];
          if (e == '\\') value.push_back('\\');
          else if (e == '"') value.push_back('"');
          else if (e == 'n') value.push_back('\n');
          else error(n, std::string("bad escape '\\") + e + "' in label " + label);
        }
        if (!closed) {
          error(n, "label value of " + label + " is not closed");
          break;
        }
        for (const auto& [existing, ignored] : s.labels) {
          if (existing == label) error(n, "label " + label + " twice");
        }
        s.labels.emplace_back(label, value);
        if (i < line.size() && line[i] == ',') ++i;
        else if (i < line.size() && line[i] != '}') error(n, "labels must be separated by ','");
      }
      if (i >= line.size() || line[i] != '}') {
        error(n, "labels are not closed");
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      error(n, "no value after " + s.name);
      continue;
    }
    std::istringstream rest(line.substr(i));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    auto v = parse_float(value);
    if (!v) error(n, "bad value '" + value + "'");
    s.value = v.value_or(0);
    if (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos) {
      error(n, "bad timestamp '" + timestamp + "'");
    }
    if (!extra.empty()) error(n, "trailing text after the value");

    auto name = family_of(s.name, types);
    if (!types.count(name)) error(n, "sample " + s.name + " has no TYPE line before it");
    enter(n, name);
    auto type = types.count(name) ? types[name] : "untyped";
    if ((type == "counter" || type == "gauge") && s.name != name) error(n, s.name + " in " + type + " " + name);
    if (type == "counter" && (s.value < 0 || std::isnan(s.value))) error(n, "negative counter " + s.name);
    bool has_le = std::any_of(s.labels.begin(), s.labels.end(), [](const auto& l) { return l.first == "le"; });
    if (type == "histogram" && s.name.ends_with("_bucket") && !has_le) error(n, "bucket without le");
    if (has_le && !(type == "histogram" && s.name.ends_with("_bucket"))) error(n, "le outside a histogram bucket");
    auto sorted = s.labels;
    std::sort(sorted.begin(), sorted.end());
    std::string key = s.name;
    for (const auto& [k, val] : sorted) key += "\x1f" + k + "=" + val;
    if (!series.insert(key).second) error(n, "duplicate series " + s.name);
    family_index(name).samples.push_back(std::move(s));
  }

  // Histograms: per label set, buckets in increasing le, cumulative, ending with +Inf equal to
  // _count, plus _sum.
  for (const auto& f : x.families) {
    if (f.type != "histogram") continue;
    struct Series {
      std::vector<std::pair<double, double>> buckets;  // le, count
      std::optional<double> sum, count;
      int line = 0;
    };
    std::map<Labels, Series> by_labels;
    for (const auto& s : f.samples) {
      Labels rest;
      std::optional<double> le;
      for (const auto& l : s.labels) {
        if (l.first == "le") le = parse_float(l.second);
        else rest.push_back(l);
      }
      std::sort(rest.begin(), rest.end());
      auto& series_of = by_labels[rest];
      series_of.line = s.line;
      if (s.name == f.name + "_bucket") {
        if (!le) error(s.line, "bad le in " + s.name);
        series_of.buckets.emplace_back(le.value_or(NAN), s.value);
      } else if (s.name == f.name + "_sum") {
        series_of.sum = s.value;
      } else if (s.name == f.name + "_count") {
        series_of.count = s.value;
      } else {
        error(s.line, s.name + " in histogram " + f.name);
      }
    }
    for (const auto& [labels, h] : by_labels) {
      if (h.buckets.empty()) error(h.line, f.name + ": a series without buckets");
      for (std::size_t i = 1; i < h.buckets.size(); ++i) {
        if (!(h.buckets[i].first > h.buckets[i - 1].first)) error(h.line, f.name + ": le not increasing");
        if (h.buckets[i].second < h.buckets[i - 1].second) error(h.line, f.name + ": buckets not cumulative");
      }
      if (!h.buckets.empty() && !std::isinf(h.buckets.back().first)) error(h.line, f.name + ": last bucket is not le=\"+Inf\"");
      if (!h.count) error(h.line, f.name + ": no _count");
      if (!h.sum) error(h.line, f.name + ": no _sum");
      if (h.count && !h.buckets.empty() && h.buckets.back().second != *h.count) {
        error(h.line, f.name + ": the +Inf bucket differs from _count");
      }
    }
  }
  return x;
}

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
    return std::vector<std::pair<std::string, double>>{{"order->catalog", 1}, {"order->payment", 0}};
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
  CHECK(x.value("shopctl_http_requests_total", {{"route", "/products/{id}"}, {"status", "404"}}) == 1);
  CHECK(x.value("shopctl_http_requests_total", {{"service", "catalog"}, {"method", "POST"}}) == 1);
  CHECK(x.value("shopctl_http_request_duration_seconds_count", {{"route", "/products"}}) == 3);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket", {{"route", "/products"}, {"le", "+Inf"}}) == 3);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket", {{"route", "/products"}, {"le", "0.005"}}) == 1);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket", {{"route", "/products"}, {"le", "0.05"}}) == 2);
  CHECK(x.value("shopctl_http_request_duration_seconds_sum", {{"route", "/products"}}).value_or(0) ==
        doctest::Approx(1.543));
  // 20 s is above the last finite bound: only +Inf counts it.
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket", {{"route", "/_admin"}, {"le", "10"}}) == 0);
  CHECK(x.value("shopctl_http_request_duration_seconds_bucket", {{"route", "/_admin"}, {"le", "+Inf"}}) == 1);

  CHECK(x.value("shopctl_outbound_calls_total", {{"callee", "catalog"}, {"outcome", "timeout"}}) == 1);
  CHECK(x.value("shopctl_outbound_calls_total", {{"callee", "catalog"}, {"outcome", "not_permitted"}}) == 1);
  // A refused attempt never went out: it has no duration.
  CHECK(x.value("shopctl_outbound_call_duration_seconds_count", {{"callee", "catalog"}}) == 2);
  CHECK(x.value("shopctl_faults_injected_total", {{"type", "delay"}}) == 2);
  CHECK(x.value("shopctl_architecture_violations_total", {{"caller", "payment"}}) == 1);
  CHECK(x.value("shopctl_circuit_breaker_transitions_total", {{"from", "CLOSED"}, {"to", "OPEN"}}) == 1);
  CHECK(x.value("shopctl_circuit_breaker_state", {{"breaker", "order->catalog"}}) == 1);
  CHECK(x.value("shopctl_circuit_breaker_state", {{"breaker", "order->payment"}, {"service", "catalog"}}) == 0);
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

TEST_CASE("gauges from add_gauge are read when /metrics is rendered: outbox depth and breaker state") {
  shopctl::platform::Metrics m("payment");
  auto depth = std::make_shared<std::atomic<int>>(0);
  m.add_gauge("shopctl_payment_outbox_depth",
              "Payment-result callbacks to the order service not yet acknowledged", "outbox",
              [depth] {
                return std::vector<std::pair<std::string, double>>{
                    {"order_callbacks", static_cast<double>(depth->load())}};
              });
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state: 0 CLOSED, 1 OPEN, 2 HALF_OPEN", "breaker", [] {
    return std::vector<std::pair<std::string, double>>{{"payment->order", 2}, {"payment->provider", 0}};
  });

  auto first = check_exposition(m.render());
  CHECK_MESSAGE(first.errors.empty(), first.error_text());
  CHECK(first.value("shopctl_payment_outbox_depth", {{"service", "payment"}, {"outbox", "order_callbacks"}}) == 0);
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
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state", "breaker", one("payment->order", 1));
  m.add_gauge("shopctl_circuit_breaker_state", "Breaker state", "breaker", one("payment->provider", 0));
  m.add_gauge("shopctl_ready", "Whether the service is ready", "", one("", 1));
  const auto text = m.render();
  const auto x = check_exposition(text);
  INFO(text);
  CHECK_MESSAGE(x.errors.empty(), x.error_text());
  REQUIRE(x.family("shopctl_circuit_breaker_state"));
  CHECK(x.family("shopctl_circuit_breaker_state")->samples.size() == 2);
  CHECK(x.value("shopctl_ready", {{"service", "payment"}}) == 1);
}

TEST_CASE("HELP text escapes backslash and line feed, and add_gauge refuses names the format forbids") {
  shopctl::platform::Metrics m("catalog");
  m.add_gauge("shopctl_example", "first line\nsecond \\ line", "kind",
              [] { return std::vector<std::pair<std::string, double>>{{"x", 1}}; });
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
  CHECK_THROWS_AS(m.add_gauge("shopctl_http_requests_total", "h", "x", none), std::invalid_argument);
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
  CHECK(errors("c_total 1\n# TYPE c_total counter\n") > 0);                  // TYPE after samples
  CHECK(errors("# TYPE c_total counter\n# TYPE c_total counter\nc_total 1\n") > 0);  // TYPE twice
  CHECK(errors("# HELP c_total a\n# HELP c_total b\n# TYPE c_total counter\nc_total 1\n") > 0);
  CHECK(errors("# TYPE c_total counter\nc_total{a=\"x\"y\"} 1\n") > 0);     // unescaped quote
  CHECK(errors("# TYPE c_total counter\nc_total{a=\"x\\q\"} 1\n") > 0);     // unknown escape
  CHECK(errors("# TYPE c_total counter\nc_total{a-b=\"x\"} 1\n") > 0);      // bad label name
  CHECK(errors("# TYPE c-total counter\nc-total 1\n") > 0);                 // bad metric name
  CHECK(errors("# TYPE c_total counter\nc_total one\n") > 0);               // bad value
  CHECK(errors("# TYPE c_total counter\nc_total -1\n") > 0);                // negative counter
  CHECK(errors("# TYPE c_total counter\nc_total 1\nc_total 2\n") > 0);      // duplicate series
  CHECK(errors("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 2\n") > 0);  // not one group
  CHECK(errors("# TYPE c_total counter\nc_total 1") > 0);                   // no final line feed
  CHECK(errors("# HELP h a \\t tab\n# TYPE h gauge\nh 1\n") > 0);           // bad HELP escape
}
