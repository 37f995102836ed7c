#pragma once
// The API gateway: the shop's only public door. It checks the user's JWT (HS256 pinned, exp,
// iss and aud), routes by path prefix to the service that owns the route, adds its own
// service credential and the user's id, and keeps the trace. It holds no business logic and
// no database.
#include <chrono>
#include <map>
#include <memory>

#include "platform/domain_error.hpp"
#include "platform/observe/public_traffic.hpp"
#include "platform/security/jwt.hpp"
#include "platform/service.hpp"

namespace shopctl::gateway {

struct GatewaySettings {
  std::uint16_t port = 8080;
  std::string jwt_secret;
  std::string issuer = "shopctl-auth";
  std::string audience = "shopctl";
  std::chrono::milliseconds upstream_timeout{10'000};
  // Where the provider's pay pages are (provider.public_url, or its peers: URL); empty: the
  // provider runs in this process, found in the peer directory when asked.
  std::string pay_origin;
  // gateway.trusted_proxies: peers whose X-Forwarded-For names the client.
  std::vector<std::string> trusted_proxies;
};

// One public route of the contract: its method and path pattern under the prefix.
struct PublicRoute {
  std::string method;   // "GET"
  std::string pattern;  // "/api/catalog/products/{id}"
};

// One public prefix, where it goes, and the contract's routes under it: only those are
// forwarded; any other path under the prefix is 404 at the gateway (an outsider never reaches
// a service's operator or internal routes through the public door).
struct PrefixRoute {
  std::string public_prefix;  // "/api/catalog"
  std::string service;        // "catalog"
  std::string strip;          // removed from the path before forwarding ("/api/catalog")
  bool needs_user;            // a valid user JWT is required
  std::vector<PublicRoute> routes;
};

// The gateway's routing table (also drawn by `shopctl graph`).
const std::vector<PrefixRoute>& prefix_routes();

class GatewayService : public platform::Service {
 public:
  GatewayService(platform::ServiceContext& ctx, GatewaySettings settings);
  ~GatewayService() override;

 private:
  boost::asio::awaitable<http::Response> forward(http::Request& req, const PrefixRoute& route);
  // forward()'s steps, as plain functions (gateway_service.cpp).
  http::Request outbound(http::Request& req, const PrefixRoute& route) const;
  std::string client_address(const http::Request& req) const;
  platform::security::JwtVerifyOptions user_token_options() const;
  std::string pay_origin() const;
  void take_answer(http::Response& upstream, http::Response& res, const PrefixRoute& route);
  bool refuses_the_gateway(const http::Response& upstream, const PrefixRoute& route);
  [[noreturn]] static void throw_unavailable(const http::TransportError& e,
                                             const PrefixRoute& route);
  static void render_refusal(const platform::DomainError& e, const http::Request& req,
                             http::Response& res);
  void record_inbound(const http::Request& req, const http::Response& res,
                      platform::PublicExchange* exchange, std::int64_t at_ms,
                      std::chrono::steady_clock::time_point started);
  GatewaySettings settings_;
  std::map<std::string, std::unique_ptr<platform::ServiceCaller>> upstreams_;
};

}  // namespace shopctl::gateway
