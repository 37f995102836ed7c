#include "services/gateway/gateway_service.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "platform/error.hpp"
#include "platform/json_text.hpp"
#include "platform/observe/call_outcome.hpp"
#include "platform/security/jwt.hpp"
#include "services/gateway/gateway_model.hpp"
#include "services/gateway/openapi_description.hpp"
#include "services/gateway/web_routes.hpp"

namespace shopctl::gateway {

namespace asio = boost::asio;
namespace security = platform::security;
using http::Access;
using http::Request;
using http::Response;
using platform::ApiError;

const std::vector<PrefixRoute>& prefix_routes() {
  static const std::vector<PrefixRoute> routes = {
      // The public contract (shared/spec/api.md, docs/api.md), route by route.
      {"/api/auth",
       "auth",
       "/api/auth",
       false,
       {{"POST", "/api/auth/register"}, {"POST", "/api/auth/login"}}},
      {"/api/catalog",
       "catalog",
       "/api/catalog",
       true,
       {{"GET", "/api/catalog/categories"},
        {"GET", "/api/catalog/products"},
        {"GET", "/api/catalog/products/{id}"}}},
      {"/api/cart",
       "order",
       "/api",
       true,
       {{"GET", "/api/cart"},
        {"POST", "/api/cart/items"},
        {"PATCH", "/api/cart/items/{product_id}"},
        {"DELETE", "/api/cart/items/{product_id}"}}},
      {"/api/orders",
       "order",
       "/api",
       true,
       {{"POST", "/api/orders"}, {"GET", "/api/orders"}, {"GET", "/api/orders/{id}"}}},
      // Signed by the provider; no JWT.
      {"/api/payments/webhook", "payment", "/api", false, {{"POST", "/api/payments/webhook"}}},
  };
  return routes;
}

namespace {

// Headers a client may send through; everything else (credentials, user ids) is dropped.
// Content-Encoding goes through so that the service refuses an encoded body (415) rather
// than read it as plain JSON, which it did when the gateway dropped the label.
constexpr std::string_view kForwardedRequestHeaders[] = {
    "Content-Type",    "Content-Encoding",  "Accept",
    "Idempotency-Key", "Payment-Signature", "If-None-Match"};
constexpr std::string_view kForwardedResponseHeaders[] = {
    "Content-Type", "Retry-After",         "Location",     "ETag",
    "Allow",        "Idempotent-Replayed", "Cache-Control"};

}  // namespace

GatewayService::GatewayService(platform::ServiceContext& ctx, GatewaySettings settings)
    : Service(ctx, "gateway", settings.port), settings_(std::move(settings)) {
  // The public door reads only paths whose segments are UTF-8 text (docs/api.md).
  host_.routes().refuse_text_that_is_not_utf8();
  for (const auto& route : prefix_routes()) {
    if (!upstreams_.count(route.service)) {
      upstreams_[route.service] = std::make_unique<platform::ServiceCaller>(
          ctx, "gateway", route.service, &host_.metrics());
    }
    const PrefixRoute* r = &route;
    auto handler = [this, r](Request& req) { return forward(req, *r); };
    for (const auto& contract : route.routes) {
      host_.routes().add(contract.method, contract.pattern, Access::anyone(), handler);
    }
  }
  // A route that needs a user, asked with no valid JWT while its body is still to come, is
  // refused at its head (ServiceHost::refuse_at_head): heads with no token and no body held
  // the door's connections for the body timeout, and the shop answered 503 to everyone.
  host_.set_head_gate([this](Request& req) -> std::optional<Response> {
    const std::string_view path = req.path();
    for (const auto& route : prefix_routes()) {
      const std::string_view prefix = route.public_prefix;
      if (!path.starts_with(prefix) || (path.size() > prefix.size() && path[prefix.size()] != '/'))
        continue;
      if (!route.needs_user) return std::nullopt;
      try {
        thread_local std::string user;
        authenticated_user(req.headers.get("Authorization"), user_token_options(), user);
      } catch (const platform::DomainError& e) {
        Response res;
        render_refusal(e, req, res);
        return res;
      }
      return std::nullopt;
    }
    return std::nullopt;
  });
  add_openapi_route(host_);
  add_web_routes(host_);
  // Where the web shop may send a shopper to pay: the provider's origin. The page followed any
  // pay_url an answer held, and a pasted fault that forged an order's answer sent shoppers to
  // another site's card form (an outside probe). No fault reaches this route: one could forge
  // the origin as well.
  host_.exempt_from_faults("/pay-origin.json");
  host_.routes().add("GET", "/pay-origin.json", http::Access::anyone(),
                     [this](Request&) -> asio::awaitable<Response> {
                       auto res = Response::json(200, {{"pay_origin", pay_origin()}});
                       res.headers.set("Cache-Control", "no-store");
                       co_return res;
                     });
  add_console_routes(ctx, host_);
}

GatewayService::~GatewayService() {
  stop();
}

// The provider's origin (scheme, host, port) as its pay links name it.
std::string GatewayService::pay_origin() const {
  std::string origin = settings_.pay_origin;
  if (origin.empty()) {
    const auto provider = ctx_.peers.get("provider");
    if (provider.port == 0) return {};
    origin = ctx_.local_url(provider.port);
  }
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  return origin;
}

// The client a request comes from: its TCP peer, or, when the peer is a proxy the config
// trusts (gateway.trusted_proxies), the address that proxy says it forwarded for: the
// X-Forwarded-For list (every field, in order) read from the right past every trusted proxy,
// as nginx's real_ip_recursive does. Behind a proxy that is not trusted, every client is the
// proxy, and the limits per client (registrations of a taken email) are shared by all.
std::string GatewayService::client_address(const Request& req) const {
  const auto& trusted = settings_.trusted_proxies;
  const auto is_trusted = [&trusted](std::string_view address) {
    return std::find(trusted.begin(), trusted.end(), address) != trusted.end();
  };
  if (trusted.empty() || !is_trusted(req.peer_address)) return req.peer_address;
  std::vector<std::string_view> hops;
  for (const auto field : req.headers) {
    if (!http::iequals(field.name, "X-Forwarded-For")) continue;
    std::string_view list = field.value;
    while (!list.empty()) {
      const auto comma = list.find(',');
      auto hop = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t')) hop.remove_prefix(1);
      while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t')) hop.remove_suffix(1);
      if (!hop.empty()) hops.push_back(hop);
    }
  }
  // Each hop in the form the OS writes an address (a port, brackets, case or zeros made one
  // client several keys; an outside probe). A hop that is no address ends the walk: the client
  // is then the last proxy that named it, as nginx ignores what it cannot read.
  std::string client = req.peer_address;
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    auto address = http::canonical_ip_address(*hop);
    if (!address) break;
    client = std::move(*address);
    if (!is_trusted(client)) break;
  }
  return client;
}

// What a shopper's JWT is checked against, now: forward() and the head gate alike.
security::JwtVerifyOptions GatewayService::user_token_options() const {
  return {settings_.jwt_secret, settings_.issuer, settings_.audience, ctx_.clock.unix_seconds(), 0};
}

// The request forward() sends upstream: the raw path minus the prefix, the query, the
// fields a client may send through, the body, and the user the JWT names (when the route
// needs one). Throws DomainError (404 for a path that does not spell the prefix, 401).
Request GatewayService::outbound(Request& req, const PrefixRoute& route) const {
  Request out;
  // HEAD took the GET route (router.hpp): upstream is asked for the GET, and this server
  // sends its answer's head only. Services are never asked for HEAD.
  if (req.method == "HEAD") {
    out.method = "GET";
  } else {
    out.method = req.method;
  }
  std::string_view path = req.path();
  // The router matched decoded segments; what is forwarded is the raw path minus the prefix,
  // so the raw path must spell the prefix itself (not "//api/..." or "/%61pi/...").
  if (!path.starts_with(route.strip) ||
      (path.size() > route.strip.size() && path[route.strip.size()] != '/')) {
    throw ApiError(404, "route_not_found", "no route for this path");
  }
  std::string_view rest = path.substr(route.strip.size());
  std::string_view q = req.query();
  out.target.reserve(rest.size() + q.size() + 2);
  if (rest.empty()) {
    out.target.push_back('/');
  } else {
    out.target.append(rest);
  }
  if (!q.empty()) {
    out.target.push_back('?');
    out.target.append(q);
  }
  // The service's route pattern, for the call record: the public one less the prefix.
  if (req.route.size() > route.strip.size() && req.route.starts_with(route.strip))
    out.route.assign(req.route, route.strip.size());
  // `out` starts without fields and the names differ: add() is set() without the search.
  // A field the client names in Connection is for this hop only (RFC 9110 7.6.1): a proxy
  // removes it. It went on to the service (an outside probe).
  // Every Connection field counts: they make one list (RFC 9110 5.3), and a field named in a
  // second one went through (an outside probe).
  const bool has_connection = req.headers.contains("Connection");
  for (auto name : kForwardedRequestHeaders) {
    if (has_connection && http::connection_names(req.headers, name)) continue;
    if (auto v = req.headers.get(name)) out.headers.add(name, *v);
  }
  out.body = std::move(req.body);
  // Who is asking, for the auth service's limits per client (registrations of an email that
  // has an account). Only the gateway says it: a client's own field is not forwarded (above).
  if (route.service == "auth") {
    const auto client = client_address(req);
    if (!client.empty()) out.headers.add("X-Client-Address", client);
  }

  if (route.needs_user) {
    thread_local std::string user;  // used at once: no other request sees it
    authenticated_user(req.headers.get("Authorization"), user_token_options(), user);
    out.headers.add(platform::kUserIdHeader, user);
  }
  return out;
}

// The upstream's answer as the client gets it: its status, the fields that go through, its
// body. The forwarded fields go into a per-thread Headers whose storage is the previous
// upstream answer's, so the answer's fields cost no allocation of their own.
void GatewayService::take_answer(Response& upstream, Response& res, const PrefixRoute& route) {
  if ((upstream.status == 401 || upstream.status == 403) && refuses_the_gateway(upstream, route))
    throw ApiError(503, "service_unavailable",
                   "the " + route.service + " service is unavailable (it refused the gateway)",
                   {{"service", route.service}})
        .with_retry_after(1);
  res.status = upstream.status;
  thread_local http::Headers forwarded;
  forwarded.clear();
  for (auto name : kForwardedResponseHeaders) {
    if (auto v = upstream.headers.get(name)) {
      if (name == "Location" && v->starts_with('/') && !v->starts_with("//")) {
        // A service names its own path (order's 201: /orders/ord_...); the client knows the
        // public one. The prefix the request lost on the way in is put back, as a reverse
        // proxy maps a redirect (nginx's proxy_redirect default).
        forwarded.add(name, route.strip + std::string(*v));
        continue;
      }
      forwarded.add(name, *v);
    }
  }
  // The API's answers are one user's data at one moment: a browser must not keep them (Back
  // from the pay page drew the cart from the disk cache, as it was before the checkout).
  if (!forwarded.get("Cache-Control")) forwarded.add("Cache-Control", "no-store");
  res.headers = std::move(forwarded);
  forwarded = std::move(upstream.headers);
  res.body = std::move(upstream.body);
}

// Whether an upstream's 401 or 403 refuses the gateway itself, not the client: its service
// credential (secrets.service_key differs between the processes) or its place in the call
// graph. It reached the shopper as their own 401 `invalid_service_credential` (an outside probe
// of a split shop): the shop's fault is a 503 to the client, and an error in the log that names
// the cause.
bool GatewayService::refuses_the_gateway(const Response& upstream, const PrefixRoute& route) {
  const auto body = platform::parse_json_or_discarded(upstream.body);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return false;
  const auto code = body["error"].value("code", std::string());
  if (code != "invalid_service_credential" && code != "missing_service_credential" &&
      code != "caller_not_allowed")
    return false;
  ctx_.log.error("a service refused the gateway's own call; the client is told 503",
                 {{"service", "gateway"},
                  {"callee", route.service},
                  {"status", upstream.status},
                  {"code", code},
                  {"message", body["error"].value("message", std::string()).substr(0, 200)},
                  {"hint", code == "caller_not_allowed"
                               ? "the callee does not take calls from the gateway"
                               : "secrets.service_key must be the same in every process of "
                                 "the shop"}});
  return true;
}

// What the client gets when the call upstream failed, or the request was refused here.
[[noreturn]] void GatewayService::throw_unavailable(const http::TransportError& e,
                                                    const PrefixRoute& route) {
  bool timeout = e.kind() == http::TransportErrorKind::timeout;
  // A peer named by a host name that cannot be found says so ("no address for catalog.x
  // (...)"): it read "connection_refused", as if the host had answered (an outside probe).
  const std::string_view what = e.what();
  const std::string why = what.starts_with("no address for ")
                              ? std::string(what.substr(0, 200))
                              : std::string(http::to_string(e.kind()));
  throw ApiError(timeout ? 504 : 503, timeout ? "upstream_timeout" : "service_unavailable",
                 "the " + route.service + " service " +
                     (timeout ? "did not answer in time" : "is unavailable") + " (" + why + ")",
                 {{"service", route.service}})
      .with_retry_after(1);
}

void GatewayService::render_refusal(const platform::DomainError& e, const Request& req,
                                    Response& res) {
  res = platform::error_response(e, req.trace_id);
  if (e.kind() == platform::ErrorKind::unauthorized) {
    res.headers.set("WWW-Authenticate", "Bearer realm=\"shopctl\"");
  }
}

// The public exchange (when someone records the public traffic) and the inbound call record.
void GatewayService::record_inbound(const Request& req, const Response& res,
                                    platform::PublicExchange* exchange, std::int64_t at_ms,
                                    std::chrono::steady_clock::time_point started) {
  if (exchange) {
    exchange->status = res.status;
    exchange->response_body = res.body;
    // Whoever watches the traffic (serve --record) cannot fail the request it watches: a
    // recorder that threw on a body that was not UTF-8 made a 400 a 500.
    try {
      ctx_.public_traffic(*exchange);
    } catch (const std::exception& e) {
      ctx_.log.warn("the public traffic observer failed", {{"error", e.what()}});
    }
  }
  // Filled now (method, route and trace id are still req's) into a per-thread record whose
  // strings keep their storage.
  thread_local platform::CallRecord inbound;
  inbound.seq = 0;
  inbound.at_ms = at_ms;
  inbound.caller.assign("client");
  inbound.callee.assign("gateway");
  inbound.method.assign(req.method);
  inbound.route.assign(req.route);
  inbound.status = res.status;
  inbound.outcome.assign(platform::call_outcome(res.status));
  inbound.duration = std::chrono::steady_clock::now() - started;
  inbound.attempt = 1;
  inbound.trace_id.assign(req.trace_id);
  inbound.refused_by_breaker = false;
  inbound.violation = false;
  inbound.violation_reason.clear();
  ctx_.calls.record_copy(inbound);
}

// The coroutine itself only sequences the steps above (plain functions), so that its frame
// stays small.
asio::awaitable<Response> GatewayService::forward(Request& req, const PrefixRoute& route) {
  auto started = std::chrono::steady_clock::now();
  const std::int64_t at_ms = ctx_.clock.unix_millis();
  // Only when someone records the public traffic: a copy of what the client sent.
  std::unique_ptr<platform::PublicExchange> exchange;
  if (ctx_.public_traffic) {
    exchange = std::make_unique<platform::PublicExchange>();
    exchange->method = req.method;
    exchange->target = req.target;
    exchange->request_body = req.body;
    if (auto v = req.headers.get("Content-Type")) exchange->content_type = std::string(*v);
    if (auto v = req.headers.get("Content-Encoding")) exchange->content_encoding = std::string(*v);
    if (auto v = req.headers.get("Idempotency-Key")) exchange->idempotency_key = std::string(*v);
    if (auto v = req.headers.get("Authorization")) {
      exchange->authorized = true;
      exchange->authorization = std::string(*v);
    }
  }

  Response res;
  try {
    auto& upstream = *upstreams_.at(route.service);
    try {
      auto result =
          co_await upstream.call(outbound(req, route), settings_.upstream_timeout, req.trace_id);
      take_answer(result.response, res, route);
    } catch (const http::TransportError& e) {
      throw_unavailable(e, route);
    }
  } catch (const platform::DomainError& e) {
    render_refusal(e, req, res);
  }
  record_inbound(req, res, exchange.get(), at_ms, started);
  co_return res;
}

}  // namespace shopctl::gateway
