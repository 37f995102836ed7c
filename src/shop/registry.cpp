#include "shop/registry.hpp"

#include <stdexcept>

#include "platform/observe/architecture.hpp"
#include "services/auth/auth_service.hpp"
#include "services/catalog/catalog_service.hpp"
#include "services/gateway/gateway_service.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/provider/provider_service.hpp"

namespace shopctl::shop {

std::uint16_t configured_port(const ShopConfig& config, const std::string& service) {
  auto it = config.ports.find(service);
  return it == config.ports.end() ? 0 : it->second;
}

namespace {

// Typed glue: `Make` builds a T from (context, config); `Reconfigure` applies to a T.
template <typename T, typename Make>
auto maker(Make make) {
  return [make](platform::ServiceContext& ctx,
                const ShopConfig& c) -> std::unique_ptr<platform::Service> {
    return std::make_unique<T>(ctx, make(c));
  };
}

template <typename T, typename Reconfigure>
auto reconfigurer(Reconfigure reconfigure) {
  return [reconfigure](platform::Service& service, const ShopConfig& c) {
    reconfigure(static_cast<T&>(service), c);
  };
}

void nothing_at_run_time(platform::Service&, const ShopConfig&) {}

ServiceSpec spec(std::string name, decltype(ServiceSpec::make) make,
                 decltype(ServiceSpec::reconfigure) reconfigure) {
  ServiceSpec s{std::move(name), std::move(make), std::move(reconfigure), {}, {}};
  for (const auto& e : platform::architecture::allowed_edges()) {
    if (e.callee == s.name) s.callers.push_back(e.caller);
    if (e.caller == s.name) s.outbound.push_back(e.callee);
  }
  return s;
}

std::vector<ServiceSpec> build_registry() {
  std::vector<ServiceSpec> all;
  all.push_back(
      spec("catalog", maker<catalog::CatalogService>([](const ShopConfig& c) {
             return catalog::CatalogSettings{configured_port(c, "catalog"), c.catalog_file};
           }),
           nothing_at_run_time));
  all.push_back(spec(
      "auth", maker<auth::AuthService>([](const ShopConfig& c) {
        auth::AuthSettings s{configured_port(c, "auth"),
                             c.jwt_secret,
                             c.jwt_issuer,
                             c.jwt_audience,
                             c.token_ttl,
                             c.password_hashing,
                             c.login_max_failures,
                             c.login_window,
                             std::nullopt};
        s.password_workers = c.password_workers;
        s.password_queue = c.password_queue;
        if (c.seed_demo_user) {
          s.demo_user = auth::AuthSettings::DemoUser{c.demo_email, c.demo_password, "Demo User"};
        }
        return s;
      }),
      reconfigurer<auth::AuthService>([](auth::AuthService& s, const ShopConfig& c) {
        s.set_runtime(c.token_ttl, c.login_max_failures, c.login_window);
      })));
  all.push_back(
      spec("provider", maker<provider::ProviderService>([](const ShopConfig& c) {
             provider::ProviderSettings s{configured_port(c, "provider"), c.webhook_secret};
             s.api_key = c.provider_api_key;
             if (!c.provider_public_url.empty())
               s.public_url = c.provider_public_url;
             else if (auto it = c.peers.find("provider"); it != c.peers.end())
               s.public_url = it->second.url;
             s.webhook_retry = {c.webhook_retry_initial_backoff, c.webhook_retry_max_backoff,
                                c.webhook_retry_give_up_after};
             return s;
           }),
           reconfigurer<provider::ProviderService>(
               [](provider::ProviderService& s, const ShopConfig& c) {
                 s.set_webhook_retry({c.webhook_retry_initial_backoff, c.webhook_retry_max_backoff,
                                      c.webhook_retry_give_up_after});
               })));
  all.push_back(spec(
      "payment", maker<payment::PaymentService>([](const ShopConfig& c) {
        payment::PaymentSettings s{configured_port(c, "payment"),
                                   edge_settings(c, "payment->order"),
                                   edge_settings(c, "payment->provider"),
                                   c.webhook_secret,
                                   c.webhook_tolerance,
                                   c.outbox_initial_backoff,
                                   c.outbox_max_backoff,
                                   c.seed};
        s.reconcile_after = c.reconcile_after;
        return s;
      }),
      reconfigurer<payment::PaymentService>([](payment::PaymentService& s, const ShopConfig& c) {
        s.set_outbox_backoff(c.outbox_initial_backoff, c.outbox_max_backoff);
        s.set_webhook_tolerance(c.webhook_tolerance);
        s.set_reconcile_after(c.reconcile_after);
      })));
  all.push_back(
      spec("order", maker<order::OrderService>([](const ShopConfig& c) {
             order::OrderSettings s{configured_port(c, "order"), edge_settings(c, "order->catalog"),
                                    edge_settings(c, "order->payment"), c.seed};
             s.payment_timeout = c.order_payment_timeout;
             s.max_unpaid_orders = c.order_max_unpaid_orders;
             s.answer_within = c.gateway_upstream_timeout;
             return s;
           }),
           reconfigurer<order::OrderService>([](order::OrderService& s, const ShopConfig& c) {
             s.set_payment_timeout(c.order_payment_timeout);
             s.set_max_unpaid_orders(c.order_max_unpaid_orders);
           })));
  all.push_back(spec("gateway", maker<gateway::GatewayService>([](const ShopConfig& c) {
                       gateway::GatewaySettings s{configured_port(c, "gateway"), c.jwt_secret,
                                                  c.jwt_issuer, c.jwt_audience,
                                                  c.gateway_upstream_timeout};
                       // As the provider builds its pay links (above).
                       s.trusted_proxies = c.gateway_trusted_proxies;
                       if (!c.provider_public_url.empty())
                         s.pay_origin = c.provider_public_url;
                       else if (auto it = c.peers.find("provider"); it != c.peers.end())
                         s.pay_origin = it->second.url;
                       return s;
                     }),
                     nothing_at_run_time));
  return all;
}

}  // namespace

const std::vector<ServiceSpec>& service_registry() {
  static const std::vector<ServiceSpec> all = build_registry();
  return all;
}

const ServiceSpec* find_service(std::string_view name) {
  for (const auto& s : service_registry()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

platform::EdgeSettings edge_settings(const ShopConfig& c, const std::string& edge) {
  const ClientSettings* client = nullptr;
  if (edge == "order->catalog")
    client = &c.order_catalog_client;
  else if (edge == "order->payment")
    client = &c.order_payment_client;
  else if (edge == "payment->order")
    client = &c.payment_order_client;
  else if (edge == "payment->provider")
    client = &c.payment_provider_client;
  else
    throw std::invalid_argument("no protected edge " + edge);
  platform::EdgeSettings e;
  e.timeout = client->timeout;
  e.retry = client->retry;
  e.breaker = c.breakers.at(edge);
  // The provider is an outside party: it gets the shop's API key, never the internal
  // service credential.
  if (edge == "payment->provider")
    e.credential = platform::EdgeCredential::bearer(c.provider_api_key);
  return e;
}

}  // namespace shopctl::shop
