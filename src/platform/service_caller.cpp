#include "platform/service_caller.hpp"

#include "platform/observe/call_outcome.hpp"
#include "platform/trace_context.hpp"

namespace shopctl::platform {

namespace asio = boost::asio;
using http::Request;

ServiceCaller::ServiceCaller(ServiceContext& ctx, std::string caller, std::string callee,
                             Metrics* metrics, EdgeCredential credential)
    : ctx_(ctx),
      caller_(std::move(caller)),
      callee_(std::move(callee)),
      metrics_(metrics),
      credential_(std::move(credential)),
      // Let go well before the callee's http.idle_timeout ends it (the services share one
      // config; http::pooled_idle_limit).
      client_(http::ClientOptions{
          .endpoint = [this] { return ctx_.peers.get(callee_); },
          .max_idle_time = http::pooled_idle_limit(ctx.http_limits.idle_timeout)}) {}

asio::awaitable<ServiceCaller::Result> ServiceCaller::call(Request request,
                                                           std::chrono::nanoseconds timeout,
                                                           const std::string& trace_id,
                                                           int attempt) {
  // A fresh trace only when the caller has none; the traceparent names the trace and a new
  // span of this call.
  const std::string fresh_trace = trace_id.empty() ? trace_hex(2) : std::string();
  const std::string& trace = trace_id.empty() ? fresh_trace : trace_id;
  add_edge_headers(request, trace);
  // What the record needs of the request, which send() consumes (short: no allocation).
  const std::string method = request.method;
  // The callee's route pattern (`/products/{id}`) when the caller names it, as call records
  // and log lines promise (architecture.md): the raw path put ids and client-chosen text in
  // the field, and a log pipeline grouping by it met unbounded values (an outside probe).
  const std::string route(request.route.empty() ? request.path() : request.route);
  const std::int64_t at_ms = ctx_.clock.unix_millis();
  auto started = std::chrono::steady_clock::now();
  try {
    Result result{co_await client_.send(std::move(request), timeout), {}};
    result.duration = std::chrono::steady_clock::now() - started;
    report(finished(method, route, trace, attempt, at_ms, result.response.status,
                    call_outcome(result.response.status), result.duration),
           false);
    co_return result;
  } catch (const http::TransportError& e) {
    auto took = std::chrono::steady_clock::now() - started;
    report(finished(method, route, trace, attempt, at_ms, 0, http::to_string(e.kind()), took),
           true);
    throw;
  }
}

// The record of a finished attempt, in a per-thread record whose strings keep their storage
// (nothing suspends between filling and storing it).
CallRecord& ServiceCaller::finished(std::string_view method, std::string_view route,
                                    std::string_view trace, int attempt, std::int64_t at_ms,
                                    int status, std::string_view outcome,
                                    std::chrono::nanoseconds took) const {
  thread_local CallRecord record;
  fill_record(record, method, route, trace, attempt);
  record.at_ms = at_ms;
  record.status = status;
  record.outcome.assign(outcome);
  record.duration = took;
  return record;
}

// The traceparent and the edge's credential.
void ServiceCaller::add_edge_headers(Request& request, std::string_view trace) {
  thread_local std::string traceparent;
  child_traceparent(trace, traceparent);
  request.headers.set("traceparent", traceparent);
  if (credential_.kind == EdgeCredential::Kind::bearer) {
    request.headers.erase(security::kServiceTokenHeader);
    request.headers.set("Authorization", "Bearer " + credential_.token);
  } else if (credential_.kind == EdgeCredential::Kind::service_token) {
    ctx_.credentials.use_token_for(caller_, [&](std::string_view token) {
      request.headers.set(security::kServiceTokenHeader, token);
    });
  }
}

// The metric, the log line and the call record of a finished attempt (a plain function: its
// temporaries stay out of call()'s coroutine frame).
void ServiceCaller::report(const CallRecord& record, bool failed) {
  if (metrics_) metrics_->observe_call(callee_, record.outcome, record.duration);
  const double duration_ms = static_cast<double>(record.duration.count()) / 1e6;
  if (failed) {
    ctx_.log.warn("call failed", {{"service", caller_},
                                  {"callee", callee_},
                                  {"route", record.route},
                                  {"outcome", record.outcome},
                                  {"attempt", record.attempt},
                                  {"trace_id", record.trace_id},
                                  {"duration_ms", duration_ms}});
  } else if (ctx_.log.enabled(LogLevel::info)) {
    ctx_.log.info("call", {{"service", caller_},
                           {"callee", callee_},
                           {"route", record.route},
                           {"status", record.status},
                           {"attempt", record.attempt},
                           {"trace_id", record.trace_id},
                           {"duration_ms", duration_ms}});
  }
  ctx_.calls.record_copy(record);
}

void ServiceCaller::fill_record(CallRecord& record, std::string_view method, std::string_view route,
                                std::string_view trace_id, int attempt) const {
  record.seq = 0;
  record.at_ms = ctx_.clock.unix_millis();
  record.caller.assign(caller_);
  record.callee.assign(callee_);
  record.method.assign(method);
  record.route.assign(route);
  record.status = 0;
  record.outcome.clear();
  record.duration = std::chrono::nanoseconds(0);
  record.attempt = attempt;
  record.trace_id.assign(trace_id);
  record.refused_by_breaker = false;
  record.violation = false;
  record.violation_reason.clear();
}

CallRecord ServiceCaller::new_record(const Request& request, std::string trace_id,
                                     int attempt) const {
  CallRecord record;
  fill_record(record, request.method,
              request.route.empty() ? request.path() : std::string_view(request.route), {},
              attempt);
  record.trace_id = std::move(trace_id);
  return record;
}

void ServiceCaller::record_refused(const Request& request, const std::string& trace_id,
                                   int attempt) {
  CallRecord record = new_record(request, trace_id, attempt);
  record.outcome = "not_permitted";
  record.refused_by_breaker = true;
  if (metrics_) metrics_->observe_call(callee_, record.outcome, std::chrono::nanoseconds(0));
  // Logged as every transition and every failed attempt is (resilience.md: "every refused call
  // is an event: logged, counted"; it was counted and recorded only, an outside probe).
  ctx_.log.warn("call refused by circuit breaker", {{"service", caller_},
                                                    {"callee", callee_},
                                                    {"route", record.route},
                                                    {"outcome", record.outcome},
                                                    {"attempt", record.attempt},
                                                    {"trace_id", record.trace_id}});
  ctx_.calls.record(std::move(record));
}

}  // namespace shopctl::platform
