#include "platform/observe/architecture.hpp"

namespace shopctl::platform::architecture {

const std::vector<Component>& components() {
  static const std::vector<Component> all = {
      {"client", ComponentKind::outside, "users, browsers, scenario runners: the outside world"},
      {"gateway", ComponentKind::door,
       "the only public door: checks the user's JWT, routes by prefix, adds its credential"},
      {"auth", ComponentKind::service, "users, passwords (Argon2id), login throttling, JWTs"},
      {"catalog", ComponentKind::service, "products and categories, prices, availability"},
      {"order", ComponentKind::service, "carts, checkout, orders and their state machine"},
      {"payment", ComponentKind::service,
       "payments, the provider's signed webhook, the callback outbox to order"},
      {"provider", ComponentKind::external,
       "the simulated payment provider (stands for Stripe or Adyen): intents, pay page, webhook"},
  };
  return all;
}

const Component* find_component(std::string_view name) {
  for (const auto& c : components()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const std::vector<Edge>& allowed_edges() {
  static const std::vector<Edge> all = {
      {.caller = "client",
       .callee = "gateway",
       .label = "public API",
       .why = "Outsiders reach the shop only through the gateway's public prefixes.",
       .routes = {"* /api/auth", "* /api/catalog", "* /api/cart", "* /api/orders",
                  "* /api/payments/webhook"},
       .credential_checked = false},
      {.caller = "gateway",
       .callee = "auth",
       .label = "register, login",
       .why = "The gateway forwards /api/auth/* to the auth service.",
       .routes = {"POST /register", "POST /login"}},
      {.caller = "gateway",
       .callee = "catalog",
       .label = "browse",
       .why = "The gateway forwards /api/catalog/* to the catalog.",
       .routes = {"GET /products", "GET /products/{id}", "GET /categories"}},
      {.caller = "gateway",
       .callee = "order",
       .label = "cart, orders",
       .why = "The gateway forwards /api/cart and /api/orders to the order service, with the "
              "user id.",
       .routes = {"GET /cart", "POST /cart/items", "PATCH /cart/items/{product_id}",
                  "DELETE /cart/items/{product_id}", "POST /orders", "GET /orders",
                  "GET /orders/{id}"}},
      {.caller = "gateway",
       .callee = "payment",
       .label = "webhook only",
       .why = "The gateway forwards the provider's signed webhook; nothing else of payment is "
              "public.",
       .routes = {"POST /payments/webhook"}},
      {.caller = "order",
       .callee = "catalog",
       .label = "products, prices",
       .why = "Adding to the cart and checkout read products: existence, availability, price.",
       .routes = {"GET /products", "GET /products/{id}"}},
      {.caller = "order",
       .callee = "payment",
       .label = "open payment",
       .why = "Checkout asks the payment service to open a payment for the order's total; an "
              "unpaid order's expiry asks it to cancel that payment.",
       .routes = {"POST /internal/payments", "POST /internal/payments/cancel"}},
      {.caller = "payment",
       .callee = "order",
       .label = "callback only",
       .why = "The payment service reports a payment's result to order (from its outbox, with "
              "retries).",
       .routes = {"POST /internal/orders/{id}/payment-result"}},
      {.caller = "payment",
       .callee = "provider",
       .label = "payment intents",
       .why = "The payment service opens a payment intent at the provider, looks one up when "
              "its webhook is late (reconciliation), and cancels it when the order expires; it "
              "proves itself with the shop's API key, never the internal service credential.",
       .routes = {"POST /v1/payment_intents", "GET /v1/payment_intents",
                  "GET /v1/payment_intents/{intent_id}",
                  "POST /v1/payment_intents/{intent_id}/cancel"},
       .credential_checked = false},
      {.caller = "provider",
       .callee = "gateway",
       .label = "signed webhook",
       .why = "The provider sends its signed payment events to the shop's public door.",
       .routes = {"POST /api/payments/webhook"},
       .credential_checked = false},
      {.caller = "client",
       .callee = "provider",
       .label = "pay page",
       .why = "The user pays on the provider's page (pay_url); an operator holding the shop's "
              "API key may ask it to resend an event.",
       .routes = {"GET /pay/{intent_id}", "POST /pay/{intent_id}", "GET /pay/static/{file}",
                  "HEAD /pay/static/{file}", "GET /pay", "GET /pay/{intent_id}/{*rest}",
                  "POST /v1/events/{event_id}/resend"},
       .credential_checked = false,
       .recorded = false},
  };
  return all;
}

const Edge* find_edge(std::string_view caller, std::string_view callee) {
  for (const auto& e : allowed_edges()) {
    if (e.caller == caller && e.callee == callee) return &e;
  }
  return nullptr;
}

bool is_allowed(std::string_view caller, std::string_view callee) {
  return find_edge(caller, callee) != nullptr;
}

std::string unmatchable_fault_edge(std::string_view caller, std::string_view callee) {
  if (callee != "gateway" || caller == "client") return {};
  return "the gateway sees every caller as `client`, the " + std::string(caller) +
         "'s calls too: a fault on " + std::string(caller) +
         "->gateway would never apply; use from: client with a match on the path (the "
         "provider's webhook: /api/payments/webhook)";
}

}  // namespace shopctl::platform::architecture
