#pragma once
// Prometheus metrics of one service (prometheus-cpp core; rendered in the text format for
// GET /metrics). Only this file's .cpp knows prometheus-cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shopctl::platform {

class Metrics {
 public:
  explicit Metrics(std::string service);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One request served by this service. `method` is labelled as itself when it is one of
  // GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS and as "other" otherwise; `route` must come
  // from a bounded set (route patterns and fixed names), never from the request.
  void observe_request(std::string_view method, std::string_view route, int status,
                       std::chrono::nanoseconds duration);
  // One outbound call attempt to `callee` ("ok", "http_error", "timeout", "not_permitted", ...).
  void observe_call(std::string_view callee, std::string_view outcome,
                    std::chrono::nanoseconds duration);
  void count_fault(std::string_view type);
  void count_violation(std::string_view caller);
  // One request answered 503 storage_unavailable (a full disk, an I/O error, a removed file):
  // what an on-call alerts on (a full disk showed only as 503s among every route's).
  void count_storage_error();
  void count_breaker_transition(std::string_view breaker, std::string_view from,
                                std::string_view to);
  // The breaker's automatic transitions, each at 0 until it happens. A counter born at its
  // first event shows in no increase() or rate(): Prometheus has no sample before it, and the
  // first trip was invisible to the natural alert (an outside probe). The constructor does the
  // same for the storage errors, faults by type and violations by caller.
  void declare_breaker(std::string_view breaker);
  // Gauges read when /metrics is rendered (breaker state as a number, outbox depth, ...):
  // `read` returns (value of the label `label_name`, gauge value) pairs; every sample also
  // carries service="<this service>". Sources added under one name render as one family.
  // Throws std::invalid_argument for a name or label name the text format forbids, the label
  // name "service", or the name of one of the built-in families.
  void add_gauge(std::string name, std::string help, std::string label_name,
                 std::function<std::vector<std::pair<std::string, double>>()> read);

  // The text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopctl::platform
