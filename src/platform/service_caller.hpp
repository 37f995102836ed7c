#pragma once
// A service's outbound calls: the credential of the edge, the trace context, the call record.
// Retries and breakers sit above it (resilient_caller.hpp).
#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/http/client.hpp"
#include "platform/observe/metrics.hpp"
#include "platform/service_context.hpp"

namespace shopctl::platform {

// How an outbound edge proves who is calling. Between the shop's services: the caller's
// internal service credential (X-Service-Token). To an outside party (the payment provider):
// the API key that party issued, as `Authorization: Bearer <key>`; the internal credential
// never leaves the shop on such an edge (an outsider holding it could call every service).
// None: an outside party calling into the shop's public surface, where what proves the caller
// travels in the request itself (the provider's signed webhooks).
struct EdgeCredential {
  enum class Kind { service_token, bearer, none };
  Kind kind = Kind::service_token;
  std::string token;  // the bearer key; unused for service_token

  static EdgeCredential service_token() { return {}; }
  static EdgeCredential bearer(std::string api_key) { return {Kind::bearer, std::move(api_key)}; }
  static EdgeCredential none() { return {Kind::none, {}}; }
};

// A service's view of one outbound edge: adds its credential and the trace context, records
// the call, and reports failures as TransportError. Retries and breakers sit above it.
class ServiceCaller {
 public:
  ServiceCaller(ServiceContext& ctx, std::string caller, std::string callee, Metrics* metrics,
                EdgeCredential credential = EdgeCredential::service_token());

  struct Result {
    http::Response response;
    std::chrono::nanoseconds duration;
  };
  // One attempt with one deadline. Records it (with `attempt`). Throws TransportError.
  boost::asio::awaitable<Result> call(http::Request request, std::chrono::nanoseconds timeout,
                                      const std::string& trace_id, int attempt = 1);
  // Records an attempt that a circuit breaker refused before any network activity.
  void record_refused(const http::Request& request, const std::string& trace_id, int attempt);
  const std::string& callee() const { return callee_; }
  const std::string& caller() const { return caller_; }
  http::Client& client() { return client_; }

 private:
  // A record of one attempt on this edge, before its outcome is known.
  CallRecord new_record(const http::Request& request, std::string trace_id, int attempt) const;
  void add_edge_headers(http::Request& request, std::string_view trace);
  void report(const CallRecord& record, bool failed);
  CallRecord& finished(std::string_view method, std::string_view route, std::string_view trace,
                       int attempt, std::int64_t at_ms, int status, std::string_view outcome,
                       std::chrono::nanoseconds took) const;
  // The same into `record`, reusing its strings' storage.
  void fill_record(CallRecord& record, std::string_view method, std::string_view route,
                   std::string_view trace_id, int attempt) const;

  ServiceContext& ctx_;
  std::string caller_;
  std::string callee_;
  Metrics* metrics_;
  EdgeCredential credential_;
  http::Client client_;
};

}  // namespace shopctl::platform
