#pragma once
// One protected edge between two services, in the spirit of a Feign client's plumbing:
// retry -> circuit breaker -> time limit -> the HTTP call, from the outside in. Typed
// clients (for example services/order/catalog_client) build requests and read answers; this
// class decides whether an attempt may go out, how long it may take, and whether to try again.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/resilience/circuit_breaker.hpp"
#include "platform/resilience/retry.hpp"
#include "platform/service.hpp"

namespace shopctl::platform {

struct EdgeSettings {
  std::chrono::nanoseconds timeout{std::chrono::seconds(2)};  // one attempt: the only timeout
  resilience::RetryPolicy retry;
  resilience::CircuitBreakerConfig breaker;
  // What the calls carry to prove the caller: the service credential inside the shop, an API
  // key on an edge to an outside party.
  EdgeCredential credential;
};

class ResilientCaller {
 public:
  ResilientCaller(ServiceContext& ctx, std::string caller, std::string callee,
                  EdgeSettings settings, Metrics* metrics, std::uint64_t seed = 0);
  ~ResilientCaller();
  ResilientCaller(const ResilientCaller&) = delete;
  ResilientCaller& operator=(const ResilientCaller&) = delete;

  // Sends `request` with the edge's policy. `retryable` says whether a failed attempt may be
  // repeated (reads, or writes that carry an idempotency key). Returns the last HTTP answer
  // (a 5xx too, after the retries); throws http::TransportError when no answer came back,
  // with kind not_permitted when the breaker refused (no network, no waiting). `unheard`, when
  // given, is set to whether an attempt may have reached the callee without its answer being
  // read (a time limit that ran out after sending, a connection reset or closed, an answer that
  // could not be parsed): the callee may have acted on it all the same. An answer of any status
  // is heard; a refused connection or an open breaker reached nothing. `acted_on`, when given,
  // says of a 5xx answer whether the callee may have acted all the same; one that did sets
  // `unheard` too, whatever a later attempt gets (a retry refused by the breaker forgot it).
  // `deadline`, when given, is when the caller must have its answer (a shopper's request that
  // the gateway answers 504 past gateway.upstream_timeout): no attempt runs past it (an
  // attempt's time limit is the shorter of the edge's timeout and what is left), and no retry
  // starts whose backoff would reach it; the last answer or failure is what the call gives.
  // With no time left before the first attempt, it throws TransportError (timeout) without a
  // call.
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;
  boost::asio::awaitable<http::Response> call(http::Request request, bool retryable,
                                              const std::string& trace_id, bool* unheard = nullptr,
                                              bool (*acted_on)(const http::Response&) = nullptr,
                                              Deadline deadline = std::nullopt);

  resilience::CircuitBreaker& breaker() { return *breaker_; }
  // Seconds until the edge may be worth trying again, for a Retry-After: the later of the rest
  // of an OPEN breaker's wait and the rest of the wait the callee itself last asked for (the
  // Retry-After of its last 5xx or 429, in whole seconds), on the shop clock, rounded up; at
  // least 1. An answer under 500 other than 429 ends the callee's wait. Every typed client
  // gets the callee's word this way: payment's 503 said 40 s (its provider breaker's wait) and
  // order told the shopper 1, its own edge being CLOSED (an outside probe).
  int retry_after_seconds() const;
  // For a caller that retries on a schedule of its own (payment's outbox) after a call the
  // breaker refused: how long until the breaker lets a call through again. The rest of an OPEN
  // breaker's wait (0 once it is over), 0 while HALF_OPEN (its trials decide soon), none when
  // only an operator ends the refusals (FORCED_OPEN) or the breaker would not refuse.
  std::optional<std::chrono::milliseconds> refusal_wait_left() const;
  // Whether a call now would be refused at once by the breaker: OPEN with its wait not over
  // (on the shop clock), or FORCED_OPEN. For background work that would only add refusals.
  bool refuses_calls_now() const;
  const std::string& edge() const { return edge_; }
  EdgeSettings settings() const;

  // Applies new settings at run time (the admin plane's runtime config): calls that start
  // from now on use the new timeout and retry policy, the breaker takes the new settings
  // (CircuitBreaker::reconfigure) and the retry jitter restarts from `seed`. Calls in flight
  // finish under the settings they started with. Throws std::invalid_argument for breaker
  // settings out of range.
  void reconfigure(EdgeSettings settings, std::uint64_t seed);

 private:
  ServiceContext& ctx_;
  std::string edge_;
  // Read by every call, replaced by reconfigure(): a copy is taken under settings_mu_.
  mutable std::mutex settings_mu_;
  std::shared_ptr<const EdgeSettings> settings_;
  ServiceCaller caller_;
  std::unique_ptr<resilience::CircuitBreaker> breaker_;
  // When the wait the callee last asked for ends, in nanoseconds of the shop clock since its
  // epoch; 0 for none.
  std::atomic<std::int64_t> callee_wait_until_ns_{0};
  void note_callee_wait(const http::Response& answer);
  std::uint64_t breaker_reader_ = 0;  // ctx_.calls's reader of breaker_ (CallLog::read_breakers)
  std::mutex rng_mu_;
  std::uint64_t rng_;
};

// Adds GET /_admin/circuit-breakers and POST /_admin/circuit-breakers/{name} (body
// {"state": "FORCED_OPEN" | "DISABLED" | "METRICS_ONLY" | "CLOSED"}) to a service's admin plane,
// and breaker gauges to its /metrics.
void expose_breakers(ServiceHost& host, std::vector<ResilientCaller*> callers);

}  // namespace shopctl::platform
