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
      {"client", "gateway", "public API",
       "Outsiders reach the shop only through the gateway's public prefixes.",
       {"* /api/auth", "* /api/catalog", "* /api/cart", "* /api/orders", "* /api/payments/webhook"},
       false, true},
      {"gateway", "auth", "register, login",
       "The gateway forwards /api/auth/* to the auth service.",
       {"POST /register", "POST /login"}},
      {"gateway", "catalog", "browse",
       "The gateway forwards /api/catalog/* to the catalog.",
       {"GET /products", "GET /products/{id}", "GET /categories"}},
      {"gateway", "order", "cart, orders",
       "The gateway forwards /api/cart and /api/orders to the order service, with the user id.",
       {"GET /cart", "POST /cart/items", "PATCH /cart/items/{product_id}",
        "DELETE /cart/items/{product_id}", "POST /orders", "GET /orders", "GET /orders/{id}"}},
      {"gateway", "payment", "webhook only",
       "The gateway forwards the provider's signed webhook; nothing else of payment is public.",
       {"POST /payments/webhook"}},
      {"order", "catalog", "prices at checkout",
       "Checkout reads the latest price and availability of every product in the cart.",
       {"GET /products", "GET /products/{id}"}},
      {"order", "payment", "open payment",
       "Checkout asks the payment service to open a payment for the order's total.",
       {"POST /internal/payments"}},
      {"payment", "order", "callback only",
       "The payment service reports a payment's result to order (from its outbox, with retries).",
       {"POST /internal/orders/{id}/payment-result"}},
      {"payment", "provider", "payment intents",
       "The payment service opens a payment intent at the provider.",
       {"POST /v1/payment_intents"}},
      {"provider", "gateway", "signed webhook",
       "The provider sends its signed payment events to the shop's public door.",
       {"POST /api/payments/webhook"}, false, true},
      {"client", "provider", "pay page",
       "The user pays on the provider's page (pay_url); an operator may ask it to resend an event.",
       {"GET /pay/{intent_id}", "POST /pay/{intent_id}", "POST /v1/events/{event_id}/resend"},
       false, false},
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

}  // namespace shopctl::platform::architecture
