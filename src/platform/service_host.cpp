#include "platform/service_host.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "platform/admin_fanout.hpp"
#include "platform/error.hpp"
#include "platform/error_mapping.hpp"
#include "platform/json_text.hpp"
#include "platform/observe/architecture.hpp"
#include "platform/security/compare.hpp"
#include "platform/trace_context.hpp"

namespace shopctl::platform {

namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {
// What the gateway adds to a client's head when it forwards it, with room to spare.
constexpr std::size_t kForwardedHeadRoom = 4 * 1024;
}  // namespace

ServiceHost::ServiceHost(ServiceContext& ctx, std::string service, std::uint16_t port)
    : ctx_(ctx), service_(std::move(service)), metrics_(service_) {
  http::ServerOptions options;
  options.name = service_;
  options.host = ctx_.bind_host;
  options.port = port;
  options.connection_ios = ctx_.connection_ios;
  options.limits = ctx_.http_limits;
  // A service behind the door reads what the gateway forwards: the client's head (up to the
  // contract's 16 KiB, which the gateway enforces) plus the fields the gateway adds (the
  // service credential, the user, traceparent). With the same 16 KiB here, a client's head of
  // 16,100 bytes passed the gateway and was 431 from the service behind it.
  for (const auto& component : architecture::components()) {
    if (component.name == service_ && component.kind == architecture::ComponentKind::service)
      options.header_limit += kForwardedHeadRoom;
  }
  options.refuse_at_head = [this](Request& req) { return refuse_at_head(req); };
  options.on_unread_request = [this](const Response& res) { unread_request(res); };
  server_ = std::make_unique<http::Server>(ctx_.io, options,
                                           [this](Request& req) { return handle(req); });
  add_common_admin_routes();
}

ServiceHost::~ServiceHost() {
  server_->stop();
  // Its handler refers to this host (a host without a Service, the process's admin plane, is
  // destroyed without a stop first).
  server_->finish_sessions(std::chrono::milliseconds(1000));
}

void ServiceHost::prepare_caller_gate() {
  if (gate_prepared_) return;
  gate_prepared_ = true;
  bool any_public = routes_.routes().empty();
  for (const auto& route : routes_.routes()) {
    any_public = any_public || route.access.is_public;
    known_callers_.insert(route.access.callers.begin(), route.access.callers.end());
  }
  internal_only_ = !any_public;
  for (const auto& component : architecture::components()) {
    if (component.kind == architecture::ComponentKind::door)
      user_forwarders_.insert(component.name);
  }
}

void ServiceHost::start() {
  prepare_caller_gate();
  server_->start();
  ctx_.peers.set(service_, http::Endpoint{ctx_.local_host(), server_->port()});
}

void ServiceHost::stop() {
  server_->stop();
}
void ServiceHost::crash() {
  server_->abandon();
}
void ServiceHost::shutdown(std::chrono::milliseconds grace) {
  server_->shutdown(grace);
}
void ServiceHost::finish_sessions(std::chrono::milliseconds grace) {
  server_->finish_sessions(grace);
}
bool ServiceHost::running() const {
  return server_->running();
}
std::uint16_t ServiceHost::port() const {
  return server_->port();
}

Response ServiceHost::error_response(const std::string& trace_id, int status,
                                     const std::string& code, const std::string& message,
                                     const nlohmann::json& details) {
  return platform::error_response(status, code, message, details, trace_id);
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
  // Each is recorded and counted; at most 20 a second are also logged, then one line says how
  // many were not. A client with no credential, pipelining refused requests into an internal
  // port, wrote 11-13 MB of warn lines a second (an outside probe: 34 MB in 3 s of a
  // --processes child's serve.log).
  LineBudget::Taken taken;
  if (ctx_.log.enabled(LogLevel::warn)) taken = violation_lines_.take();
  const bool log_it = taken.log;
  const std::uint64_t unlogged = taken.unlogged;
  if (unlogged > 0) {
    ctx_.log.warn("architecture violations not logged",
                  {{"service", service_},
                   {"count", unlogged},
                   {"why",
                    "more than 20 in a second; GET /_admin/calls lists them, and "
                    "shopctl_architecture_violations_total counts them"}});
  }
  if (log_it) {
    ctx_.log.warn("architecture violation", {{"service", service_},
                                             {"caller", caller},
                                             {"route", r.route},
                                             {"reason", reason},
                                             {"trace_id", req.trace_id}});
  }
  ctx_.calls.record(std::move(r));
}

// The pipeline. Each stage below is one step of it; handle() only puts them in order.
asio::awaitable<Response> ServiceHost::handle(Request& req) {
  const auto started = std::chrono::steady_clock::now();
  begin_trace(req);
  const Caller caller = identify_caller(req);
  Response res;
  std::string_view route_label;  // literals or a pattern of routes_, which outlive the call
  try {
    if (misdirected(req, caller)) {
      route_label = "(host not allowed)";
      res = host_refused(req);
    } else if (is_operator_path(req.path())) {
      res = co_await operator_endpoint(req, route_label);
    } else {
      // The fault point: before the handler, on the real connection. (Its parts are plain
      // functions and a helper coroutine: this frame stays small enough for Asio to reuse.)
      const FaultPlan fault = plan_fault(req, caller, res);
      if (fault.ends) {
        // A fault that breaks the connection (reset, hang, close, garbage) is a request that
        // never reached the service, as a network fault's: not counted here (the caller's
        // outbound counters and call record show it). One that answers (abort) is this
        // service's answer, counted, timed and logged under its route as any: its 500s were
        // in no metric of its own, which read as healthy (an outside probe).
        if (res.action != http::ConnectionAction::respond) co_return res;
        std::map<std::string, std::string, std::less<>> params;
        const auto match = routes_.match(req.method, req.path(), params);
        route_label = match.route        ? std::string_view(match.route->pattern)
                      : match.path_route ? std::string_view(match.path_route->pattern)
                                         : "unmatched";
        finish(req, res, route_label, caller, started);
        co_return res;
      }
      if (fault.delay.count() > 0) co_await pause(fault.delay);
      if (const http::Route* route = route_request(req, caller, route_label, res)) {
        res = co_await route->handler(req);
      }
      if (fault.slow_body) {
        res.action = http::ConnectionAction::slow_body;
        res.bytes_per_second = fault.bytes_per_second;
      }
    }
  } catch (...) {
    res = render_exception(req, route_label);
  }
  finish(req, res, route_label, caller, started);
  co_return res;
}

ServiceHost::FaultPlan ServiceHost::plan_fault(Request& req, const Caller& caller, Response& res) {
  FaultPlan plan;
  if (!fault_exempt_.empty() && !ctx_.faults.empty()) {
    const std::string_view path = req.path();
    for (const auto& exempt : fault_exempt_) {
      if (exempt.ends_with('/') ? path.starts_with(exempt) : path == exempt) return plan;
    }
  }
  std::optional<FaultDecision> fault =
      ctx_.faults.decide(service_, caller.fault_label, req.method, req.path());
  if (!fault) return plan;
  metrics_.count_fault(to_string(fault->type));
  ctx_.log.info("fault injected", {{"service", service_},
                                   {"fault", fault->fault_id},
                                   {"type", to_string(fault->type)},
                                   {"caller", caller.fault_label},
                                   {"trace_id", req.trace_id}});
  if (fault->delay.count() > 0 &&
      (fault->type == FaultType::delay || fault->type == FaultType::slow_body)) {
    plan.delay = fault->delay;
  }
  if (auto answer = fault_answer(*fault, req)) {
    res = std::move(*answer);
    plan.ends = true;
  }
  plan.slow_body = fault->type == FaultType::slow_body;
  plan.bytes_per_second = fault->bytes_per_second;
  return plan;
}

asio::awaitable<void> ServiceHost::pause(std::chrono::nanoseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  co_await timer.async_wait(asio::use_awaitable);
}

// Stage 1: the trace context, kept from the caller when valid, else a new trace starts here.
void ServiceHost::begin_trace(Request& req) const {
  // Written into req.trace_id's own storage (a connection reuses its Request).
  if (auto tp = req.headers.get("traceparent"); tp) {
    if (auto trace_id = traceparent_trace_id(*tp)) {
      req.trace_id.assign(trace_id->data(), trace_id->size());
      return;
    }
  }
  trace_hex_into(req.trace_id, 2);
}

// Stage 2: who is calling. A service proves itself with its credential; an outside party
// (the provider's callers) is named by the host's identifier; anyone else is "client".
ServiceHost::Caller ServiceHost::identify_caller(Request& req) const {
  Caller caller;
  if (auto token = req.headers.get(security::kServiceTokenHeader); token) {
    caller.has_credential = true;
    auto verified = ctx_.credentials.verify(*token);
    if (auto* name = std::get_if<std::string>(&verified)) {
      req.caller = *name;
    } else {
      caller.credential_problem =
          std::string(security::to_string(std::get<security::JwtFailure>(verified)));
    }
  }
  if (!caller.has_credential && identify_outside_caller_)
    req.caller = identify_outside_caller_(req);
  caller.fault_label = req.caller.empty() ? "client" : req.caller;
  return caller;
}

// Stage 2b: a request that carries no valid service credential must name this shop in Host: an
// address, localhost, or a name the shop was told about (docs/security.md, "Host names").
bool ServiceHost::misdirected(const Request& req, const Caller& caller) const {
  if (!ctx_.allowed_hosts) return false;
  if (caller.has_credential && caller.credential_problem.empty()) return false;
  auto host = req.headers.get("Host");
  return host && !ctx_.allowed_hosts->allows(*host);
}

Response ServiceHost::host_refused(const Request& req) {
  auto host = std::string(req.headers.get("Host").value_or(""));
  const auto named = http::host_name_part(host).empty()
                         ? std::string("an empty Host names no shop")
                         : "this shop does not answer to the name '" + host.substr(0, 100) + "'";
  return error_response(req.trace_id, 421, "host_not_allowed",
                        named +
                            ": reach it by an IP address or localhost, or add the name to "
                            "http.allowed_hosts in the shop's config (docs/security.md)");
}

// Stage 3: the operator endpoints (admin plane, health, metrics): never faulted, never gated
// by the caller table (the admin plane checks its own token).
// One trailing "/" is allowed, as the router allows it on every route ("/health/live/" was
// 404 on the gateway, and 401 and a recorded violation on an internal port).
namespace {
// The path without one trailing "/" ("/health/live/" -> "/health/live"; "/" stays).
std::string_view without_trailing_slash(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}
}  // namespace

bool ServiceHost::is_operator_path(std::string_view path) {
  if (!path.starts_with("/_admin")) path = without_trailing_slash(path);
  return path.starts_with("/_admin/") || path == "/_admin" || path == "/health/live" ||
         path == "/health/ready" || path == "/metrics";
}

asio::awaitable<Response> ServiceHost::operator_endpoint(Request& req,
                                                         std::string_view& route_label) {
  std::string_view path = req.path();
  if (!http::valid_percent_encoding(req.query())) {
    route_label = "unmatched";
    co_return malformed_query(req);
  }
  if (path.starts_with("/_admin")) {
    route_label = "/_admin";
    co_return co_await handle_admin(req);
  }
  path = without_trailing_slash(path);
  route_label = path == "/metrics"       ? "/metrics"
                : path == "/health/live" ? "/health/live"
                                         : "/health/ready";
  // They answer GET (and HEAD, which the server sends without the body).
  if (req.method != "GET" && req.method != "HEAD") {
    Response res = error_response(req.trace_id, 405, "method_not_allowed",
                                  req.method.substr(0, 32) + " is not allowed here",
                                  {{"allowed", "GET, HEAD"}});
    res.headers.set("Allow", "GET, HEAD");
    co_return res;
  }
  if (path == "/health/live") {
    co_return Response::json(200, {{"status", "live"}, {"service", service_}});
  }
  if (path == "/health/ready") {
    co_return ready_ ? Response::json(200, {{"status", "ready"}, {"service", service_}})
                     : error_response(req.trace_id, 503, "not_ready", service_ + " is not ready");
  }
  Response res;
  res.status = 200;
  res.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  res.body = metrics_.render();
  co_return res;
}

// Stage 4: what an injected fault answers in place of the service, when it ends the request.
std::optional<Response> ServiceHost::fault_answer(const FaultDecision& fault, Request& req) {
  Response res;
  switch (fault.type) {
    case FaultType::delay:
    case FaultType::slow_body:
      return std::nullopt;
    case FaultType::hang:
      res.action = http::ConnectionAction::hang;
      return res;
    case FaultType::reset:
      res.action = http::ConnectionAction::reset;
      return res;
    case FaultType::close:
      res.action = http::ConnectionAction::close;
      return res;
    case FaultType::garbage:
      res.action = http::ConnectionAction::garbage;
      return res;
    case FaultType::abort: {
      if (!fault.body) {
        res =
            error_response(req.trace_id, fault.status, "injected_fault",
                           "fault " + fault.fault_id + " answered " + std::to_string(fault.status));
      } else {
        res.status = fault.status;
        res.body = *fault.body;
        if (!res.body.empty()) res.headers.set("Content-Type", "application/json; charset=utf-8");
      }
      res.headers.set(std::string(kTraceIdHeader), req.trace_id);
      return res;
    }
  }
  return std::nullopt;
}

// Stage 5: the allowed-caller gate. On an internal port it runs before routing (route null):
// an outsider or a service that may not call this one learns nothing of its routes, and every
// such call is a recorded violation, whatever the path. On a port with public routes it runs
// per route, once the route is known.
std::optional<Response> ServiceHost::refuse_caller(const Request& req, const Caller& caller,
                                                   const http::Route* route) {
  if (route && route->access.is_public) return std::nullopt;
  if (!caller.has_credential) {
    record_violation(req, "client", "missing_service_credential", 401);
    return error_response(req.trace_id, 401, "missing_service_credential",
                          service_ + " is internal: calls need a service credential");
  }
  if (!caller.credential_problem.empty()) {
    // A signature that does not verify is a forged call, or a host of a split shop whose
    // secrets.service_key differs from this one's: the log said only "invalid_service_credential",
    // and the operator had no hint of the key (an outside probe).
    record_violation(req, "unknown",
                     caller.credential_problem.find("bad_signature") != std::string::npos
                         ? "invalid_service_credential: bad_signature (a forged call, or a "
                           "process whose secrets.service_key differs from this one's)"
                         : "invalid_service_credential",
                     401);
    return error_response(req.trace_id, 401, "invalid_service_credential",
                          "the service credential was refused: " + caller.credential_problem);
  }
  const bool allowed = route ? route->access.callers.count(req.caller) > 0
                             : known_callers_.find(req.caller) != known_callers_.end();
  if (allowed) return std::nullopt;
  record_violation(req, req.caller, "caller_not_allowed", 403);
  if (!route) {
    return error_response(req.trace_id, 403, "caller_not_allowed",
                          req.caller + " may not call " + service_,
                          {{"caller", req.caller}, {"service", service_}});
  }
  return error_response(req.trace_id, 403, "caller_not_allowed",
                        req.caller + " may not call " + service_ + " " + route->pattern,
                        {{"caller", req.caller}, {"service", service_}, {"route", route->pattern}});
}

// A path with a '%' that starts no escape ("%zz", a final "%2") names nothing: 400, as a query
// with one is, on every port (docs/api.md).
Response ServiceHost::malformed_path(const Request& req) {
  return error_response(req.trace_id, 400, "invalid_path",
                        "the path is not valid percent-encoding (a '%' must be followed by two "
                        "hexadecimal digits)");
}

// A query with a '%' that starts no escape: 400 on every route and operator endpoint, as such
// a path is (a route that reads no parameter answered 200 to what another reads as an error).
Response ServiceHost::malformed_query(const Request& req) {
  return error_response(req.trace_id, 400, "invalid_query",
                        "the query string is not valid percent-encoding (a '%' must be followed "
                        "by two hexadecimal digits)",
                        {{"parameter", "query"}});
}

// Stage 6: no route matched: 405 with Allow when the path exists, else 404.
Response ServiceHost::unmatched(const Request& req, const http::Router::Match& match) {
  if (match.not_utf8) {
    return error_response(req.trace_id, 400, "invalid_path",
                          "the path is not UTF-8 text once percent-decoded (RFC 3986 3.3)");
  }
  if (match.malformed) return malformed_path(req);
  if (match.path_known) {
    std::string allowed;
    for (const auto& m : match.allowed_methods) allowed += (allowed.empty() ? "" : ", ") + m;
    Response res =
        error_response(req.trace_id, 405, "method_not_allowed",
                       req.method.substr(0, 32) + " is not allowed here", {{"allowed", allowed}});
    res.headers.set("Allow", allowed);
    return res;
  }
  return route_not_found(req);
}

Response route_not_found(const Request& req) {
  return error_response(
      404, "route_not_found",
      "no route for " + req.method.substr(0, 32) + " " + std::string(req.path().substr(0, 200)),
      nlohmann::json::object(), req.trace_id);
}

// Stages 5-7: the gate and routing; handle() then runs the route's handler.
const http::Route* ServiceHost::route_request(Request& req, const Caller& caller,
                                              std::string_view& route_label, Response& answer) {
  if (internal_only_) {
    if (auto refused = refuse_caller(req, caller, nullptr)) {
      route_label = "refused";
      answer = std::move(*refused);
      return nullptr;
    }
  }
  std::map<std::string, std::string, std::less<>> params;
  http::Router::Match match = routes_.match(req.method, req.path(), params);
  if (!match.route) {
    // A 405 of a known path is counted under that path's route; "unmatched" is for paths no
    // route has (docs/architecture.md).
    route_label = match.path_route ? std::string_view(match.path_route->pattern) : "unmatched";
    answer = unmatched(req, match);
    return nullptr;
  }
  if (!http::valid_percent_encoding(req.query())) {
    route_label = "unmatched";
    answer = malformed_query(req);
    return nullptr;
  }
  const http::Route& route = *match.route;
  route_label = route.pattern;
  req.route = route.pattern;
  req.path_params = std::move(params);
  if (auto refused = refuse_caller(req, caller, &route)) {
    answer = std::move(*refused);
    return nullptr;
  }
  // The door states the user it authenticated; from anyone else the header means nothing.
  if (user_forwarders_.count(req.caller) > 0) {
    if (auto user = req.headers.get(kUserIdHeader)) req.user_id.assign(user->data(), user->size());
  }
  return &route;
}

// Stage 8: an exception from any stage becomes the contract's error shape. Called inside a
// catch block: rethrows the exception in flight to tell its kind.
Response ServiceHost::render_exception(const Request& req, std::string_view route_label) {
  const auto unhandled = [&](std::string_view what) {
    ctx_.log.error("unhandled error", {{"service", service_},
                                       {"route", route_label},
                                       {"error", what},
                                       {"trace_id", req.trace_id}});
  };
  try {
    throw;
  } catch (const DomainError& e) {
    // ApiError too: the one mapping to a status, and the one renderer (error_mapping.hpp).
    return platform::error_response(e, req.trace_id);
  } catch (const DatabaseError& e) {
    // A full disk, an I/O error, a lock: the machine's condition, which may pass. Nothing was
    // acknowledged (the transaction rolled back), so the client may try again: 503 with
    // Retry-After, as docs/api.md promises for a service that cannot answer now. It was a 500.
    if (e.is_unavailable()) {
      metrics_.count_storage_error();
      ctx_.log.error("storage unavailable", {{"service", service_},
                                             {"route", route_label},
                                             {"error", e.what()},
                                             {"trace_id", req.trace_id}});
      // SQLite's words without the statement ("database or disk is full in: COMMIT").
      std::string what = e.what();
      what = what.substr(0, std::min<std::size_t>(what.find(" in: "), 200));
      auto res = error_response(req.trace_id, 503, "storage_unavailable",
                                "the " + service_ + " service cannot use its database right now (" +
                                    what + "); try again");
      res.headers.set("Retry-After", "1");
      return res;
    }
    unhandled(e.what());
  } catch (const boost::system::system_error& e) {
    // A request the stop cut (its coroutine was cancelled once the drain ran out): the stop's
    // doing, not a failure of the service. It was logged at error level as an unhandled 500.
    if (e.code() == boost::asio::error::operation_aborted && !running()) {
      ctx_.log.info("request cut by the stop",
                    {{"service", service_}, {"route", route_label}, {"trace_id", req.trace_id}});
      auto res = error_response(req.trace_id, 503, "service_stopping",
                                "the " + service_ +
                                    " service stopped before this request "
                                    "finished; try again");
      res.headers.set("Retry-After", "1");
      return res;
    }
    unhandled(e.what());
  } catch (const std::exception& e) {
    unhandled(e.what());
  } catch (...) {
    unhandled("a non-standard exception");
  }
  return error_response(req.trace_id, 500, "internal_error",
                        "the " + service_ + " service failed to answer");
}

// Stage 9: the trace id header, the request metric and the log line.
void ServiceHost::finish(const Request& req, Response& res, std::string_view route_label,
                         const Caller& caller, std::chrono::steady_clock::time_point started) {
  res.headers.set(kTraceIdHeader, req.trace_id);
  if (!internal_only_) {
    // A public port's own answers as its forwarded ones (docs/api.md): no cache keeps one
    // without saying so (the gateway's own 401, 404 and 405 carried no Cache-Control), and a
    // 401 names its scheme (RFC 9110 15.5.2: a failed login's had no WWW-Authenticate).
    if (!res.headers.get("Cache-Control")) res.headers.set("Cache-Control", "no-store");
    if (res.status == 401 && !res.headers.get("WWW-Authenticate") &&
        !req.path().starts_with("/_admin"))
      res.headers.set("WWW-Authenticate", "Bearer realm=\"shopctl\"");
  }
  auto took = std::chrono::steady_clock::now() - started;
  metrics_.observe_request(req.method, route_label, res.status, took);
  if (ctx_.log.enabled(LogLevel::info)) {
    ctx_.log.info("request", {{"service", service_},
                              {"method", req.method},
                              {"route", route_label},
                              {"status", res.status},
                              {"caller", caller.fault_label},
                              {"trace_id", req.trace_id},
                              {"duration_ms", static_cast<double>(took.count()) / 1e6}});
  }
}

// An answer the HTTP layer wrote for a request it could not read whole (no method or route
// to name): counted under the route "(unread request)" and logged as any request is, with
// the error's code, so that a flood of malformed requests shows (an outside probe: they were
// in neither /metrics nor the log).
void ServiceHost::unread_request(const Response& res) {
  metrics_.observe_request("", "(unread request)", res.status, std::chrono::nanoseconds(0));
  if (!ctx_.log.enabled(LogLevel::info)) return;
  const auto body = parse_json_or_discarded(res.body);
  std::string code;
  if (body.is_object() && body.contains("error") && body["error"].is_object())
    code = body["error"].value("code", "");
  const auto trace = res.headers.get(kTraceIdHeader);
  const std::string trace_id = trace ? std::string(*trace) : std::string();
  // The fields of every request line (docs/architecture.md): method `other`, as /metrics counts
  // it; caller `client`, as nothing of it (no credential) was read; no time spent routing it.
  ctx_.log.info("request", {{"service", service_},
                            {"method", "other"},
                            {"route", "(unread request)"},
                            {"status", res.status},
                            {"caller", "client"},
                            {"code", code},
                            {"trace_id", trace_id},
                            {"duration_ms", 0.0}});
}

std::optional<Response> ServiceHost::refuse_admin(const Request& req) {
  auto token = req.headers.get(kAdminTokenHeader);
  if (!token) {
    return error_response(req.trace_id, 401, "admin_token_required",
                          "the admin plane needs the admin token in X-Admin-Token");
  }
  if (!security::secrets_equal(*token, ctx_.admin_token)) {
    // A token given but wrong says so: "required" would send the operator looking for a
    // missing header rather than at the value (serve prints the token; secrets.admin_token).
    return error_response(req.trace_id, 401, "invalid_admin_token",
                          "X-Admin-Token is not this shop's admin token (shopctl serve "
                          "prints it at start; config: secrets.admin_token)");
  }
  // A run's request after another run took the shop's lease: refused, the lease routes aside
  // (they are how a run learns it lost the lease, and takes it again).
  if (const auto holder = req.headers.get(kLeaseHolderHeader);
      holder && ctx_.lease_fence && !req.path().starts_with("/_admin/lease")) {
    if (auto why = ctx_.lease_fence(*holder))
      return error_response(req.trace_id, 409, "lease_lost", *why);
  }
  return std::nullopt;
}

// The head's refusals, in the pipeline's order (handle()), for a request whose body has not
// come with its head. Not here: the fault point (a fault's answer is for requests the
// pipeline reads whole) and anything a handler decides.
std::optional<Response> ServiceHost::refuse_at_head(Request& req) {
  const auto started = std::chrono::steady_clock::now();
  begin_trace(req);
  const Caller caller = identify_caller(req);
  std::optional<Response> res;
  std::string_view route_label = "refused";
  if (misdirected(req, caller)) {
    route_label = "(host not allowed)";
    res = host_refused(req);
  } else if (is_operator_path(req.path())) {
    if (!req.path().starts_with("/_admin")) return std::nullopt;
    route_label = "/_admin";
    res = refuse_admin(req);
  } else if (internal_only_) {
    res = refuse_caller(req, caller, nullptr);
  } else {
    std::map<std::string, std::string, std::less<>> params;
    const http::Router::Match match = routes_.match(req.method, req.path(), params);
    if (!match.route) {
      route_label = match.path_route ? std::string_view(match.path_route->pattern) : "unmatched";
      res = unmatched(req, match);
    } else {
      route_label = match.route->pattern;
      res = refuse_caller(req, caller, match.route);
      if (!res && head_gate_) res = head_gate_(req);
    }
  }
  if (res) finish(req, *res, route_label, caller, started);
  return res;
}

namespace {

// Whose own admin route `path` is, for a 404 elsewhere: an operator of `serve --processes` tried
// the catalog's ADMIN PLANE port for a price first, and was told only "no admin route".
std::string_view owner_of_admin_path(std::string_view path) {
  if (path.starts_with("/_admin/products/")) return "catalog";
  if (path == "/_admin/circuit-breakers" || path.starts_with("/_admin/circuit-breakers/"))
    return "order or payment service";
  if (path == "/_admin/outbox") return "payment service";
  if (path == "/_admin/webhooks") return "provider";
  return {};
}

}  // namespace

asio::awaitable<Response> ServiceHost::handle_admin(Request& req) {
  if (auto refused = refuse_admin(req)) co_return std::move(*refused);
  if (ctx_.admin_fanout && !req.headers.get(kAdminScopeHeader) &&
      AdminFanOut::handles(req.method, req.target)) {
    co_return co_await ctx_.admin_fanout(req);
  }
  std::map<std::string, std::string, std::less<>> params;
  auto match = admin_routes_.match(req.method, req.path(), params);
  if (match.malformed) co_return malformed_path(req);
  // A known admin path with another method: 405 with Allow, as on every route (it had no Allow).
  if (!match.route && match.path_known) co_return unmatched(req, match);
  if (!match.route) {
    std::string where;
    if (const auto owner = owner_of_admin_path(req.path()); !owner.empty())
      where = " here: it is the " + std::string(owner) +
              "'s, on that service's own URL (the URL column of shopctl serve's table; GET "
              "/_admin/services lists each service's url), not on another service's port or a "
              "process's admin plane";
    co_return error_response(req.trace_id, 404, "route_not_found",
                             "no admin route for " + req.method.substr(0, 32) + " " +
                                 std::string(req.path().substr(0, 200)) + where);
  }
  req.route = match.route->pattern;
  req.path_params = std::move(params);
  co_return co_await match.route->handler(req);
}

}  // namespace shopctl::platform
