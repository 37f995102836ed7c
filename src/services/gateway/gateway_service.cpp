#include "services/gateway/gateway_service.hpp"

#include <optional>

#include "platform/error.hpp"
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
constexpr std::string_view kForwardedRequestHeaders[] = {
    "Content-Type", "Accept", "Idempotency-Key", "Payment-Signature", "If-None-Match"};
constexpr std::string_view kForwardedResponseHeaders[] = {
    "Content-Type", "Retry-After", "Location", "ETag", "Allow", "Idempotent-Replayed"};

}  // namespace

GatewayService::GatewayService(platform::ServiceContext& ctx, GatewaySettings settings)
    : Service(ctx, "gateway", settings.port), settings_(std::move(settings)) {
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
  add_openapi_route(host_);
  add_web_routes(host_);
  add_console_routes(ctx, host_);
}

GatewayService::~GatewayService() {
  stop();
}

asio::awaitable<Response> GatewayService::forward(Request& req, const PrefixRoute& route) {
  auto started = std::chrono::steady_clock::now();
  const std::int64_t at_ms = ctx_.clock.unix_millis();
  // Only when someone records the public traffic: a copy of what the client sent.
  std::optional<platform::PublicExchange> exchange;
  if (ctx_.public_traffic) {
    exchange.emplace();
    exchange->method = req.method;
    exchange->target = req.target;
    exchange->request_body = req.body;
    if (auto v = req.headers.get("Content-Type")) exchange->content_type = std::string(*v);
    if (auto v = req.headers.get("Idempotency-Key")) exchange->idempotency_key = std::string(*v);
    exchange->authorized = req.headers.get("Authorization").has_value();
  }
  auto finish = [&](Response& res) {
    if (exchange) {
      exchange->status = res.status;
      exchange->response_body = res.body;
      ctx_.public_traffic(*exchange);
    }
    // The inbound record, filled now (method, route and trace id are still req's) into a
    // per-thread record whose strings keep their storage; nothing suspends until it is stored.
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
  };

  Response res;
  try {
    Request out;
    out.method = req.method;
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
    // `out` starts without fields and the names differ: add() is set() without the search.
    for (auto name : kForwardedRequestHeaders) {
      if (auto v = req.headers.get(name)) out.headers.add(name, *v);
    }
    out.body = std::move(req.body);

    if (route.needs_user) {
      const security::JwtVerifyOptions options{settings_.jwt_secret, settings_.issuer,
                                               settings_.audience, ctx_.clock.unix_seconds(), 0};
      thread_local std::string user;  // used before the next co_await: no other request sees it
      authenticated_user(req.headers.get("Authorization"), options, user);
      out.headers.add(platform::kUserIdHeader, user);
    }

    auto& upstream = *upstreams_.at(route.service);
    try {
      auto result =
          co_await upstream.call(std::move(out), settings_.upstream_timeout, req.trace_id);
      res.status = result.response.status;
      // The forwarded fields go into a per-thread Headers whose storage is the previous
      // upstream answer's: the answer's fields cost no allocation of their own.
      thread_local http::Headers forwarded;
      forwarded.clear();
      for (auto name : kForwardedResponseHeaders) {
        if (auto v = result.response.headers.get(name)) forwarded.add(name, *v);
      }
      res.headers = std::move(forwarded);
      forwarded = std::move(result.response.headers);
      res.body = std::move(result.response.body);
    } catch (const http::TransportError& e) {
      bool timeout = e.kind() == http::TransportErrorKind::timeout;
      throw ApiError(timeout ? 504 : 503, timeout ? "upstream_timeout" : "service_unavailable",
                     "the " + route.service + " service " +
                         (timeout ? "did not answer in time" : "is unavailable") + " (" +
                         std::string(http::to_string(e.kind())) + ")",
                     {{"service", route.service}})
          .with_retry_after(1);
    }
  } catch (const platform::DomainError& e) {
    res = platform::error_response(e, req.trace_id);
    if (e.kind() == platform::ErrorKind::unauthorized) {
      res.headers.set("WWW-Authenticate", "Bearer realm=\"shopctl\"");
    }
  }
  finish(res);
  co_return res;
}

}  // namespace shopctl::gateway
