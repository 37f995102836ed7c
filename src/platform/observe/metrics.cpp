#include "platform/observe/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "platform/fault/fault_table.hpp"
#include "platform/observe/architecture.hpp"
#include "platform/resilience/circuit_breaker.hpp"

namespace shopctl::platform {

namespace {
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return b;
}
double seconds(std::chrono::nanoseconds d) {
  return static_cast<double>(d.count()) / 1e9;
}

bool is_name(std::string_view s, bool colons) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}
bool is_metric_name(std::string_view s) {
  return is_name(s, true);
}
bool is_label_name(std::string_view s) {
  return is_name(s, false) && !s.starts_with("__");
}

// The format's HELP escapes: backslash and line feed (prometheus-cpp writes HELP as given).
std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}
}  // namespace

struct Metrics::Impl {
  explicit Impl(std::string s)
      : service(std::move(s)),
        registry(std::make_shared<prometheus::Registry>()),
        requests(prometheus::BuildCounter()
                     .Name("shopctl_http_requests_total")
                     .Help("Requests served, by route and status")
                     .Register(*registry)),
        request_seconds(prometheus::BuildHistogram()
                            .Name("shopctl_http_request_duration_seconds")
                            .Help("Time to serve a request, by route")
                            .Register(*registry)),
        calls(prometheus::BuildCounter()
                  .Name("shopctl_outbound_calls_total")
                  .Help("Calls this service made to others, by callee and outcome")
                  .Register(*registry)),
        call_seconds(prometheus::BuildHistogram()
                         .Name("shopctl_outbound_call_duration_seconds")
                         .Help("Duration of calls to other services, by callee")
                         .Register(*registry)),
        faults(prometheus::BuildCounter()
                   .Name("shopctl_faults_injected_total")
                   .Help("Injected faults applied to requests of this service, by type")
                   .Register(*registry)),
        violations(prometheus::BuildCounter()
                       .Name("shopctl_architecture_violations_total")
                       .Help("Calls refused by the allowed-caller table, by caller")
                       .Register(*registry)),
        transitions(prometheus::BuildCounter()
                        .Name("shopctl_circuit_breaker_transitions_total")
                        .Help("Circuit breaker state transitions")
                        .Register(*registry)),
        storage_errors(prometheus::BuildCounter()
                           .Name("shopctl_storage_errors_total")
                           .Help("Requests answered 503 storage_unavailable: the service could "
                                 "not use its database (a full disk, an I/O error, a removed "
                                 "file)")
                           .Register(*registry)) {
    // At 0 from the start (Metrics::declare_breaker says why): the label sets known now.
    storage_errors.Add({{"service", service}});
    for (auto type : {FaultType::delay, FaultType::hang, FaultType::abort, FaultType::reset,
                      FaultType::close, FaultType::garbage, FaultType::slow_body})
      faults.Add({{"service", service}, {"type", std::string(to_string(type))}});
    for (const auto& component : architecture::components()) {
      if (component.name == service) continue;
      violations.Add({{"service", service}, {"caller", component.name}});
    }
  }

  std::string service;
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& request_seconds;
  prometheus::Family<prometheus::Counter>& calls;
  prometheus::Family<prometheus::Histogram>& call_seconds;
  prometheus::Family<prometheus::Counter>& faults;
  prometheus::Family<prometheus::Counter>& violations;
  prometheus::Family<prometheus::Counter>& transitions;
  prometheus::Family<prometheus::Counter>& storage_errors;

  // The built-in families' names: a gauge must not take one.
  std::vector<std::string> family_names() const {
    return {requests.GetName(),     request_seconds.GetName(), calls.GetName(),
            call_seconds.GetName(), faults.GetName(),          violations.GetName(),
            transitions.GetName(),  storage_errors.GetName()};
  }

  // The children that requests and calls update, found once per label set: prometheus-cpp's
  // Family::Add builds a label map and hashes it on every call. Children are never removed,
  // so the pointers stay valid for the registry's life.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class Child>
  using ChildCache = std::unordered_map<std::string, Child, KeyHash, std::equal_to<>>;
  struct RequestChildren {
    prometheus::Counter* count;
    prometheus::Histogram* seconds;
  };
  struct CallChildren {
    prometheus::Counter* count;
    prometheus::Histogram* seconds;  // null for "not_permitted"
  };
  std::mutex cache_mu;
  ChildCache<RequestChildren> request_children;
  ChildCache<CallChildren> call_children;

  struct GaugeSource {
    std::string name, help, label;
    std::function<std::vector<std::pair<std::string, double>>()> read;
  };
  std::mutex gauge_mu;
  std::vector<GaugeSource> gauges;
};

Metrics::Metrics(std::string service) : impl_(std::make_unique<Impl>(std::move(service))) {}
Metrics::~Metrics() = default;

namespace {
// A method label from a bounded set: a made-up method (the request line is the client's) would
// otherwise add a series per spelling, and /metrics would grow without bound.
std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",   "HEAD",   "POST",   "PUT",
                                                "PATCH", "DELETE", "OPTIONS"};
  for (auto known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

// Labels joined with a separator no label value of ours contains, into a reused buffer.
std::string_view cache_key(std::initializer_list<std::string_view> parts) {
  thread_local std::string key;
  key.clear();
  for (auto part : parts) {
    key.append(part);
    key.push_back('\x1f');
  }
  return key;
}
}  // namespace

void Metrics::observe_request(std::string_view raw_method, std::string_view route, int status,
                              std::chrono::nanoseconds duration) {
  const std::string_view method = method_label(raw_method);
  char status_digits[16];
  auto [end, ec] = std::to_chars(std::begin(status_digits), std::end(status_digits), status);
  (void)ec;
  std::string_view status_text(status_digits, static_cast<std::size_t>(end - status_digits));
  auto key = cache_key({method, route, status_text});
  Impl::RequestChildren children;
  {
    std::lock_guard lock(impl_->cache_mu);
    auto it = impl_->request_children.find(key);
    if (it == impl_->request_children.end()) {
      Impl::RequestChildren found{&impl_->requests.Add({{"service", impl_->service},
                                                        {"method", std::string(method)},
                                                        {"route", std::string(route)},
                                                        {"status", std::string(status_text)}}),
                                  &impl_->request_seconds.Add({{"service", impl_->service},
                                                               {"method", std::string(method)},
                                                               {"route", std::string(route)}},
                                                              latency_buckets())};
      it = impl_->request_children.emplace(std::string(key), found).first;
    }
    children = it->second;
  }
  children.count->Increment();
  children.seconds->Observe(seconds(duration));
}

void Metrics::observe_call(std::string_view callee, std::string_view outcome,
                           std::chrono::nanoseconds duration) {
  auto key = cache_key({callee, outcome});
  Impl::CallChildren children;
  {
    std::lock_guard lock(impl_->cache_mu);
    auto it = impl_->call_children.find(key);
    if (it == impl_->call_children.end()) {
      Impl::CallChildren found{&impl_->calls.Add({{"caller", impl_->service},
                                                  {"callee", std::string(callee)},
                                                  {"outcome", std::string(outcome)}}),
                               nullptr};
      if (outcome != "not_permitted") {
        found.seconds = &impl_->call_seconds.Add(
            {{"caller", impl_->service}, {"callee", std::string(callee)}}, latency_buckets());
      }
      it = impl_->call_children.emplace(std::string(key), found).first;
    }
    children = it->second;
  }
  children.count->Increment();
  if (children.seconds) children.seconds->Observe(seconds(duration));
}

void Metrics::count_fault(std::string_view type) {
  impl_->faults.Add({{"service", impl_->service}, {"type", std::string(type)}}).Increment();
}

void Metrics::count_storage_error() {
  impl_->storage_errors.Add({{"service", impl_->service}}).Increment();
}

void Metrics::count_violation(std::string_view caller) {
  impl_->violations.Add({{"service", impl_->service}, {"caller", std::string(caller)}}).Increment();
}

void Metrics::count_breaker_transition(std::string_view breaker, std::string_view from,
                                       std::string_view to) {
  impl_->transitions
      .Add(
          {{"breaker", std::string(breaker)}, {"from", std::string(from)}, {"to", std::string(to)}})
      .Increment();
}

void Metrics::declare_breaker(std::string_view breaker) {
  for (const auto& move : resilience::kAutomaticMoves) {
    impl_->transitions.Add({{"breaker", std::string(breaker)},
                            {"from", std::string(resilience::to_string(move.from))},
                            {"to", std::string(resilience::to_string(move.to))}});
  }
}

void Metrics::add_gauge(std::string name, std::string help, std::string label_name,
                        std::function<std::vector<std::pair<std::string, double>>()> read) {
  if (!is_metric_name(name)) throw std::invalid_argument("'" + name + "' is not a metric name");
  if (!label_name.empty() && (!is_label_name(label_name) || label_name == "service")) {
    throw std::invalid_argument("'" + label_name + "' cannot be a gauge's label name");
  }
  for (const auto& family : impl_->family_names()) {
    for (const char* suffix : {"", "_bucket", "_sum", "_count"}) {
      if (name == family + suffix)
        throw std::invalid_argument("metric " + name + " exists already");
    }
  }
  std::lock_guard lock(impl_->gauge_mu);
  impl_->gauges.push_back(
      {std::move(name), std::move(help), std::move(label_name), std::move(read)});
}

std::string Metrics::render() const {
  auto families = impl_->registry->Collect();
  {
    // Sources of one name make one family: the format allows one HELP, TYPE and group each.
    std::lock_guard lock(impl_->gauge_mu);
    const std::size_t first_gauge = families.size();
    for (const auto& g : impl_->gauges) {
      auto same =
          std::find_if(families.begin() + static_cast<std::ptrdiff_t>(first_gauge), families.end(),
                       [&](const prometheus::MetricFamily& f) { return f.name == g.name; });
      if (same == families.end()) {
        prometheus::MetricFamily f;
        f.name = g.name;
        f.help = g.help;
        f.type = prometheus::MetricType::Gauge;
        families.push_back(std::move(f));
        same = families.end() - 1;
      }
      for (const auto& [label, value] : g.read()) {
        prometheus::ClientMetric m;
        m.label = {{"service", impl_->service}};
        if (!g.label.empty()) m.label.push_back({g.label, label});
        m.gauge.value = value;
        same->metric.push_back(std::move(m));
      }
    }
  }
  for (auto& f : families) f.help = escape_help(f.help);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace shopctl::platform
