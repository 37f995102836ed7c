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
      client_(http::ClientOptions{[this] { return ctx_.peers.get(callee_); }}) {}

asio::awaitable<ServiceCaller::Result> ServiceCaller::call(Request request,
                                                           std::chrono::nanoseconds timeout,
                                                           const std::string& trace_id,
                                                           int attempt) {
  // The record keeps the trace id; the traceparent names it and a new span of this call.
  CallRecord record = new_record(request, trace_id.empty() ? trace_hex(2) : trace_id, attempt);
  {
    thread_local std::string traceparent;
    child_traceparent(record.trace_id, traceparent);
    request.headers.set("traceparent", traceparent);
  }
  if (credential_.kind == EdgeCredential::Kind::bearer) {
    request.headers.erase(security::kServiceTokenHeader);
    request.headers.set("Authorization", "Bearer " + credential_.token);
  } else if (credential_.kind == EdgeCredential::Kind::service_token) {
    ctx_.credentials.use_token_for(caller_, [&](std::string_view token) {
      request.headers.set(security::kServiceTokenHeader, token);
    });
  }
  auto started = std::chrono::steady_clock::now();
  try {
    auto response = co_await client_.send(std::move(request), timeout);
    auto took = std::chrono::steady_clock::now() - started;
    record.status = response.status;
    record.outcome = call_outcome(response.status);
    record.duration = took;
    if (metrics_) metrics_->observe_call(callee_, record.outcome, took);
    if (ctx_.log.enabled(LogLevel::info)) {
      ctx_.log.info("call", {{"service", caller_},
                             {"callee", callee_},
                             {"route", record.route},
                             {"status", record.status},
                             {"attempt", attempt},
                             {"trace_id", record.trace_id},
                             {"duration_ms", static_cast<double>(took.count()) / 1e6}});
    }
    ctx_.calls.record(std::move(record));
    co_return Result{std::move(response), took};
  } catch (const http::TransportError& e) {
    auto took = std::chrono::steady_clock::now() - started;
    record.outcome = std::string(http::to_string(e.kind()));
    record.duration = took;
    if (metrics_) metrics_->observe_call(callee_, record.outcome, took);
    ctx_.log.warn("call failed", {{"service", caller_},
                                  {"callee", callee_},
                                  {"route", record.route},
                                  {"outcome", record.outcome},
                                  {"attempt", attempt},
                                  {"trace_id", record.trace_id},
                                  {"duration_ms", static_cast<double>(took.count()) / 1e6}});
    ctx_.calls.record(std::move(record));
    throw;
  }
}

CallRecord ServiceCaller::new_record(const Request& request, std::string trace_id,
                                     int attempt) const {
  CallRecord record;
  record.caller = caller_;
  record.callee = callee_;
  record.method = request.method;
  record.route = std::string(request.path());
  record.attempt = attempt;
  record.trace_id = std::move(trace_id);
  record.at_ms = ctx_.clock.unix_millis();
  return record;
}

void ServiceCaller::record_refused(const Request& request, const std::string& trace_id,
                                   int attempt) {
  CallRecord record = new_record(request, trace_id, attempt);
  record.outcome = "not_permitted";
  record.refused_by_breaker = true;
  if (metrics_) metrics_->observe_call(callee_, record.outcome, std::chrono::nanoseconds(0));
  ctx_.calls.record(std::move(record));
}

}  // namespace shopctl::platform
