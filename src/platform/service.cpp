#include "platform/service.hpp"

#include <sodium.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/background_loop.hpp"
#include "platform/duration.hpp"
#include "platform/error.hpp"
#include "platform/json_body.hpp"
#include "platform/observe/call_outcome.hpp"
#include "platform/security/compare.hpp"
#include "platform/security/password.hpp"

namespace shopctl::platform {

namespace asio = boost::asio;
using http::Request;
using http::Response;

// ---------------------------------------------------------------------------------------------
void PeerDirectory::set(const std::string& service, http::Endpoint endpoint) {
  std::unique_lock lock(mu_);
  peers_[service] = std::move(endpoint);
}

http::Endpoint PeerDirectory::get(const std::string& service) const {
  std::shared_lock lock(mu_);
  auto it = peers_.find(service);
  return it == peers_.end() ? http::Endpoint{"127.0.0.1", 0} : it->second;
}

std::map<std::string, http::Endpoint> PeerDirectory::all() const {
  std::shared_lock lock(mu_);
  return peers_;
}

// ---------------------------------------------------------------------------------------------
bool ServiceContext::running_in_io_thread() const {
  if (io.get_executor().running_in_this_thread()) return true;
  for (auto* other : connection_ios) {
    if (other->get_executor().running_in_this_thread()) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
namespace {
// Trace and span ids only need to be unique, not unpredictable: a per-thread xoshiro256**
// seeded once from the OS (libsodium) instead of a getrandom syscall per id.
class TraceIdGenerator {
 public:
  TraceIdGenerator() {
    security::ensure_sodium();
    std::uint64_t seed[4];
    do {
      randombytes_buf(seed, sizeof seed);
    } while ((seed[0] | seed[1] | seed[2] | seed[3]) == 0);
    for (int i = 0; i < 4; ++i) s_[i] = seed[i];
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// `words` * 16 lowercase hex digits, never all zero (W3C trace context forbids it).
std::string trace_hex(std::size_t words) {
  thread_local TraceIdGenerator generator;
  constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(words * 16, '0');
  bool zero = true;
  while (zero) {
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t v = generator.next();
      zero = zero && v == 0;
      for (int i = 15; i >= 0; --i, v >>= 4) hex[w * 16 + static_cast<std::size_t>(i)] = kDigits[v & 0xF];
    }
  }
  return hex;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

std::string TraceContext::traceparent() const {
  std::string out;
  out.reserve(3 + trace_id.size() + 1 + span_id.size() + 3);
  out.append("00-", 3);
  out.append(trace_id);
  out.push_back('-');
  out.append(span_id);
  out.append("-01", 3);
  return out;
}

TraceContext TraceContext::child() const { return {trace_id, trace_hex(1)}; }

TraceContext TraceContext::fresh() { return {trace_hex(2), trace_hex(1)}; }

std::optional<TraceContext> TraceContext::parse(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  auto version = h.substr(0, 2), trace = h.substr(3, 32), span = h.substr(36, 16);
  if (!is_hex(version) || version == "ff" || !is_hex(trace) || !is_hex(span)) return std::nullopt;
  constexpr std::string_view kZeros = "00000000000000000000000000000000";
  if (trace == kZeros || span == kZeros.substr(0, 16)) return std::nullopt;
  return TraceContext{std::string(trace), std::string(span)};
}

// ---------------------------------------------------------------------------------------------
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
  TraceContext trace{trace_id.empty() ? trace_hex(2) : trace_id, trace_hex(1)};
  request.headers.set("traceparent", trace.traceparent());
  if (credential_.kind == EdgeCredential::Kind::bearer) {
    request.headers.erase(security::kServiceTokenHeader);
    request.headers.set("Authorization", "Bearer " + credential_.token);
  } else if (credential_.kind == EdgeCredential::Kind::service_token) {
    request.headers.set(std::string(security::kServiceTokenHeader),
                        ctx_.credentials.token_for(caller_));
  }
  CallRecord record;
  record.caller = caller_;
  record.callee = callee_;
  record.method = request.method;
  record.route = std::string(request.path());
  record.attempt = attempt;
  record.trace_id = std::move(trace.trace_id);  // the traceparent above holds it
  record.at_ms = ctx_.clock.unix_millis();
  auto started = std::chrono::steady_clock::now();
  try {
    auto response = co_await client_.send(std::move(request), timeout);
    auto took = std::chrono::steady_clock::now() - started;
    record.status = response.status;
    record.outcome = call_outcome(response.status);
    record.duration = took;
    if (metrics_) metrics_->observe_call(callee_, record.outcome, took);
    if (ctx_.log.enabled(LogLevel::info)) {
      ctx_.log.info("call", {{"service", caller_}, {"callee", callee_}, {"route", record.route},
                             {"status", record.status}, {"attempt", attempt},
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
    ctx_.log.warn("call failed", {{"service", caller_}, {"callee", callee_},
                                  {"route", record.route}, {"outcome", record.outcome},
                                  {"attempt", attempt}, {"trace_id", record.trace_id},
                                  {"duration_ms", static_cast<double>(took.count()) / 1e6}});
    ctx_.calls.record(std::move(record));
    throw;
  }
}

void ServiceCaller::record_refused(const Request& request, const std::string& trace_id,
                                   int attempt) {
  CallRecord record;
  record.caller = caller_;
  record.callee = callee_;
  record.method = request.method;
  record.route = std::string(request.path());
  record.attempt = attempt;
  record.trace_id = trace_id;
  record.at_ms = ctx_.clock.unix_millis();
  record.outcome = "not_permitted";
  record.refused_by_breaker = true;
  if (metrics_) metrics_->observe_call(callee_, record.outcome, std::chrono::nanoseconds(0));
  ctx_.calls.record(std::move(record));
}

// ---------------------------------------------------------------------------------------------
Service::Service(ServiceContext& ctx, std::string name, std::uint16_t port)
    : ctx_(ctx), host_(ctx, std::move(name), port) {}

Service::~Service() = default;

void Service::start() {
  if (host_.running()) return;
  open_storage();
  host_.start();
  start_background();
}

void Service::stop() {
  if (!host_.running()) return;
  host_.stop();
  stop_background();
  close_storage();
}

void Service::crash() {
  if (!host_.running()) return;
  host_.crash();
  {
    BackgroundLoop::AbandonScope abandon;
    stop_background();
  }
  close_storage();
}

void Service::shutdown(std::chrono::milliseconds grace) {
  if (!host_.running()) return;
  host_.shutdown(grace);
  stop_background();
  close_storage();
}

// ---------------------------------------------------------------------------------------------
nlohmann::json calls_json(const CallLog& log, std::uint64_t since) {
  nlohmann::json records = nlohmann::json::array();
  for (const auto& r : log.since(since)) records.push_back(r.to_json());
  nlohmann::json transitions = nlohmann::json::array();
  for (const auto& t : log.transitions_since(since)) transitions.push_back(t.to_json());
  return {{"next_seq", log.next_seq()}, {"records", std::move(records)},
          {"transitions", std::move(transitions)}};
}

ServiceHost::ServiceHost(ServiceContext& ctx, std::string service, std::uint16_t port)
    : ctx_(ctx), service_(std::move(service)), metrics_(service_) {
  http::ServerOptions options;
  options.name = service_;
  options.port = port;
  options.connection_ios = ctx_.connection_ios;
  options.limits = ctx_.http_limits;
  server_ = std::make_unique<http::Server>(
      ctx_.io, options, [this](Request& req) { return handle(req); });
  add_common_admin_routes();
}

ServiceHost::~ServiceHost() { server_->stop(); }

void ServiceHost::prepare_caller_gate() {
  if (gate_prepared_) return;
  gate_prepared_ = true;
  bool any_public = routes_.routes().empty();
  for (const auto& route : routes_.routes()) {
    any_public = any_public || route.access.is_public;
    known_callers_.insert(route.access.callers.begin(), route.access.callers.end());
  }
  internal_only_ = !public_door_ && !any_public;
}

void ServiceHost::start() {
  prepare_caller_gate();
  server_->start();
  ctx_.peers.set(service_, http::Endpoint{"127.0.0.1", server_->port()});
}

void ServiceHost::stop() { server_->stop(); }
void ServiceHost::crash() { server_->abandon(); }
void ServiceHost::shutdown(std::chrono::milliseconds grace) { server_->shutdown(grace); }
bool ServiceHost::running() const { return server_->running(); }
std::uint16_t ServiceHost::port() const { return server_->port(); }

Response ServiceHost::error_response(const std::string& trace_id, int status,
                                     const std::string& code, const std::string& message,
                                     const nlohmann::json& details) {
  return Response::json(status, error_body(code, message, details, trace_id));
}

void ServiceHost::record_violation(const Request& req, const std::string& caller,
                                   const std::string& reason, int status) {
  CallRecord r;
  r.caller = caller;
  r.callee = service_;
  r.method = req.method;
  r.route = std::string(req.path().substr(0, 200));  // the path as sent, when nothing matched
  r.status = status;
  r.outcome = "refused";
  r.trace_id = req.trace_id;
  r.at_ms = ctx_.clock.unix_millis();
  r.violation = true;
  r.violation_reason = reason;
  metrics_.count_violation(caller);
  ctx_.log.warn("architecture violation",
                {{"service", service_}, {"caller", caller}, {"route", r.route},
                 {"reason", reason}, {"trace_id", req.trace_id}});
  ctx_.calls.record(std::move(r));
}

asio::awaitable<Response> ServiceHost::handle(Request& req) {
  auto started = std::chrono::steady_clock::now();

  // Trace context: kept from the caller when valid, else a new trace starts here.
  TraceContext trace;
  if (auto tp = req.headers.get("traceparent"); tp) {
    // parsed->child(), keeping the parsed trace id instead of copying it
    if (auto parsed = TraceContext::parse(*tp)) trace = {std::move(parsed->trace_id), trace_hex(1)};
  }
  if (trace.trace_id.empty()) trace = TraceContext::fresh();
  req.trace_id = std::move(trace.trace_id);

  // Who is calling: the service credential, if any.
  std::string credential_problem;
  bool has_credential = false;
  if (auto token = req.headers.get(security::kServiceTokenHeader); token) {
    has_credential = true;
    auto verified = ctx_.credentials.verify(*token);
    if (auto* name = std::get_if<std::string>(&verified)) {
      req.caller = *name;
    } else {
      credential_problem = std::string(security::to_string(std::get<security::JwtFailure>(verified)));
    }
  }
  if (!has_credential && identify_outside_caller_) req.caller = identify_outside_caller_(req);
  std::string fault_caller = req.caller.empty() ? "client" : req.caller;
  std::string_view path = req.path();

  Response res;
  std::string_view route_label;  // literals or a pattern of routes_, which outlive the call
  // The operator endpoints answer GET (and HEAD, which the server sends without the body).
  const bool operator_read = req.method == "GET" || req.method == "HEAD";
  try {
    if (path.starts_with("/_admin/") || path == "/_admin") {
      route_label = "/_admin";
      res = co_await handle_admin(req);
    } else if ((path == "/health/live" || path == "/health/ready" || path == "/metrics") &&
               !operator_read) {
      route_label = path == "/metrics" ? "/metrics" : path == "/health/live" ? "/health/live"
                                                                             : "/health/ready";
      res = error_response(req.trace_id, 405, "method_not_allowed",
                           req.method.substr(0, 32) + " is not allowed here",
                           {{"allowed", "GET, HEAD"}});
      res.headers.set("Allow", "GET, HEAD");
    } else if (path == "/health/live") {
      route_label = "/health/live";
      res = Response::json(200, {{"status", "live"}, {"service", service_}});
    } else if (path == "/health/ready") {
      route_label = "/health/ready";
      res = ready_ ? Response::json(200, {{"status", "ready"}, {"service", service_}})
                   : error_response(req.trace_id, 503, "not_ready", service_ + " is not ready");
    } else if (path == "/metrics") {
      route_label = "/metrics";
      res.status = 200;
      res.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      res.body = metrics_.render();
    } else {
      // The fault point: before the handler, on the real connection.
      std::optional<FaultDecision> fault = ctx_.faults.decide(service_, fault_caller, req.method, path);
      if (fault) {
        metrics_.count_fault(to_string(fault->type));
        ctx_.log.info("fault injected", {{"service", service_}, {"fault", fault->fault_id},
                                          {"type", to_string(fault->type)},
                                          {"caller", fault_caller}, {"trace_id", req.trace_id}});
        if (fault->delay.count() > 0 &&
            (fault->type == FaultType::delay || fault->type == FaultType::slow_body)) {
          asio::steady_timer timer(co_await asio::this_coro::executor);
          timer.expires_after(fault->delay);
          co_await timer.async_wait(asio::use_awaitable);
        }
        switch (fault->type) {
          case FaultType::delay:
          case FaultType::slow_body: break;
          case FaultType::hang: res.action = http::ConnectionAction::hang; co_return res;
          case FaultType::reset: res.action = http::ConnectionAction::reset; co_return res;
          case FaultType::close: res.action = http::ConnectionAction::close; co_return res;
          case FaultType::garbage: res.action = http::ConnectionAction::garbage; co_return res;
          case FaultType::abort: {
            if (fault->body.empty()) {
              res = error_response(req.trace_id, fault->status, "injected_fault",
                                   "fault " + fault->fault_id + " answered " +
                                       std::to_string(fault->status));
            } else {
              res.status = fault->status;
              res.body = fault->body;
              res.headers.set("Content-Type", "application/json; charset=utf-8");
            }
            res.headers.set(std::string(kTraceIdHeader), req.trace_id);
            co_return res;
          }
        }
      }

      // On an internal port the credential and the caller are checked before routing: an
      // outsider or a service that may not call this one learns nothing of its routes, and
      // every such call is a recorded violation, whatever the path.
      bool refused = false;
      if (internal_only_) {
        refused = true;
        route_label = "refused";
        if (!has_credential) {
          record_violation(req, "client", "missing_service_credential", 401);
          res = error_response(req.trace_id, 401, "missing_service_credential",
                               service_ + " is internal: calls need a service credential");
        } else if (!credential_problem.empty()) {
          record_violation(req, "unknown", "invalid_service_credential", 401);
          res = error_response(req.trace_id, 401, "invalid_service_credential",
                               "the service credential was refused: " + credential_problem);
        } else if (known_callers_.find(req.caller) == known_callers_.end()) {
          record_violation(req, req.caller, "caller_not_allowed", 403);
          res = error_response(req.trace_id, 403, "caller_not_allowed",
                               req.caller + " may not call " + service_,
                               {{"caller", req.caller}, {"service", service_}});
        } else {
          refused = false;
        }
      }
      std::map<std::string, std::string, std::less<>> params;
      http::Router::Match match;
      if (!refused) match = routes_.match(req.method, path, params);
      if (refused) {
        // answered above
      } else if (!match.route) {
        route_label = "unmatched";
        if (match.path_known) {
          std::string allowed;
          for (const auto& m : match.allowed_methods) allowed += (allowed.empty() ? "" : ", ") + m;
          res = error_response(req.trace_id, 405, "method_not_allowed",
                               req.method.substr(0, 32) + " is not allowed here",
                               {{"allowed", allowed}});
          res.headers.set("Allow", allowed);
        } else {
          res = error_response(req.trace_id, 404, "route_not_found",
                               "no route for " + req.method.substr(0, 32) + " " +
                                   std::string(path.substr(0, 200)));
        }
      } else {
        const http::Route& route = *match.route;
        route_label = route.pattern;
        req.route = route.pattern;
        req.path_params = std::move(params);
        bool allowed = route.access.is_public || route.access.callers.count(req.caller) > 0;
        if (!route.access.is_public && !has_credential) {
          record_violation(req, "client", "missing_service_credential", 401);
          res = error_response(req.trace_id, 401, "missing_service_credential",
                               service_ + " is internal: calls need a service credential");
        } else if (!route.access.is_public && !credential_problem.empty()) {
          record_violation(req, "unknown", "invalid_service_credential", 401);
          res = error_response(req.trace_id, 401, "invalid_service_credential",
                               "the service credential was refused: " + credential_problem);
        } else if (!allowed) {
          record_violation(req, req.caller, "caller_not_allowed", 403);
          res = error_response(req.trace_id, 403, "caller_not_allowed",
                               req.caller + " may not call " + service_ + " " + route.pattern,
                               {{"caller", req.caller}, {"service", service_},
                                {"route", route.pattern}});
        } else {
          if (req.caller == "gateway") {
            if (auto user = req.headers.get(kUserIdHeader)) req.user_id = std::string(*user);
          }
          res = co_await route.handler(req);
        }
      }
      if (fault && fault->type == FaultType::slow_body) {
        res.action = http::ConnectionAction::slow_body;
        res.bytes_per_second = fault->bytes_per_second;
      }
    }
  } catch (const DomainError& e) {
    // ApiError too: the one mapping to a status, and the one renderer (error_mapping.hpp).
    res = platform::error_response(e, req.trace_id);
  } catch (const std::exception& e) {
    ctx_.log.error("unhandled error", {{"service", service_}, {"route", route_label},
                                       {"error", e.what()}, {"trace_id", req.trace_id}});
    res = error_response(req.trace_id, 500, "internal_error",
                         "the " + service_ + " service failed to answer");
  }
  res.headers.set(std::string(kTraceIdHeader), req.trace_id);
  auto took = std::chrono::steady_clock::now() - started;
  metrics_.observe_request(req.method, route_label, res.status, took);
  if (ctx_.log.enabled(LogLevel::info)) {
    ctx_.log.info("request", {{"service", service_}, {"method", req.method},
                              {"route", route_label}, {"status", res.status},
                              {"caller", fault_caller}, {"trace_id", req.trace_id},
                              {"duration_ms", static_cast<double>(took.count()) / 1e6}});
  }
  co_return res;
}

asio::awaitable<Response> ServiceHost::handle_admin(Request& req) {
  auto token = req.headers.get(kAdminTokenHeader);
  if (!token || !security::secrets_equal(*token, ctx_.admin_token)) {
    co_return error_response(req.trace_id, 401, "admin_token_required",
                             "the admin plane needs the admin token in X-Admin-Token");
  }
  std::map<std::string, std::string, std::less<>> params;
  auto match = admin_routes_.match(req.method, req.path(), params);
  if (!match.route) {
    co_return error_response(req.trace_id, match.path_known ? 405 : 404,
                             match.path_known ? "method_not_allowed" : "route_not_found",
                             "no admin route for " + req.method + " " +
                                 std::string(req.path().substr(0, 200)));
  }
  req.route = match.route->pattern;
  req.path_params = std::move(params);
  co_return co_await match.route->handler(req);
}

void ServiceHost::add_common_admin_routes() {
  auto any = http::Access::anyone();
  admin_routes_.add("GET", "/_admin/info", any, [this](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200, {{"service", service_}, {"port", port()}, {"running", running()}});
  });
  admin_routes_.add("GET", "/_admin/faults", any, [this](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200, {{"items", ctx_.faults.list()}});
  });
  admin_routes_.add("POST", "/_admin/faults", any, [this](Request& req) -> asio::awaitable<Response> {
    auto body = json_object_body(req);
    try {
      auto id = ctx_.faults.add(Fault::from_json(body));
      co_return Response::json(201, {{"id", id}});
    } catch (const std::invalid_argument& e) {
      throw ApiError(400, "invalid_fault", e.what());
    }
  });
  admin_routes_.add("DELETE", "/_admin/faults", any, [this](Request&) -> asio::awaitable<Response> {
    ctx_.faults.clear();
    co_return Response::json(200, {{"cleared", "all"}});
  });
  admin_routes_.add("DELETE", "/_admin/faults/{id}", any,
                    [this](Request& req) -> asio::awaitable<Response> {
                      if (!ctx_.faults.remove(req.param("id"))) {
                        throw ApiError(404, "fault_not_found", "no fault " + req.param("id"));
                      }
                      co_return Response::json(200, {{"cleared", req.param("id")}});
                    });
  admin_routes_.add("GET", "/_admin/clock", any, [this](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200, {{"now_ms", ctx_.clock.unix_millis()},
                                   {"offset_ms", ctx_.clock.offset().count() / 1'000'000}});
  });
  admin_routes_.add("POST", "/_admin/clock/advance", any,
                    [this](Request& req) -> asio::awaitable<Response> {
                      auto body = json_object_body(req);
                      auto by = required_string(body, "by", 64);
                      auto d = parse_duration(by);
                      if (!d || d->count() < 0) {
                        throw ApiError(400, "invalid_duration",
                                       "by must be a duration like 61s or 250ms",
                                       {{"field", "by"}});
                      }
                      ctx_.clock.advance(*d);
                      co_return Response::json(200, {{"now_ms", ctx_.clock.unix_millis()},
                                                     {"offset_ms", ctx_.clock.offset().count() / 1'000'000}});
                    });
  admin_routes_.add("GET", "/_admin/calls", any, [this](Request& req) -> asio::awaitable<Response> {
    std::uint64_t since = 0;
    if (auto s = req.query_param("since")) {
      try {
        since = std::stoull(*s);
      } catch (const std::exception&) {
        throw ApiError(400, "invalid_query", "since must be a sequence number");
      }
    }
    co_return Response::json(200, calls_json(ctx_.calls, since));
  });
  admin_routes_.add("GET", "/_admin/edges", any, [this](Request&) -> asio::awaitable<Response> {
    nlohmann::json edges = nlohmann::json::object();
    for (const auto& [edge, s] : ctx_.calls.edges()) {
      edges[edge] = {{"calls", s.calls}, {"errors", s.errors},
                     {"refused_by_breaker", s.refused_by_breaker},
                     {"violations", s.violations}, {"p99_ms", s.p99_ms()}};
    }
    co_return Response::json(200, {{"edges", edges}, {"violations", ctx_.calls.violations_total()}});
  });
}

}  // namespace shopctl::platform
