#pragma once
// The order service's records as it stores and shows them, and the small pure rules of its
// public API: the contract's Order JSON, timestamps, Idempotency-Key and product id checks.
// No HTTP, no SQLite.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/order/cart_pricing.hpp"
#include "services/order/order_state.hpp"

namespace shopctl::order {

// The longest product id accepted in a cart request.
inline constexpr std::size_t kMaxProductIdLength = 100;
// A cart holds at most this many distinct products, so that one catalog call
// (`GET /products?ids=...&page_size=100`) prices the whole cart at checkout.
inline constexpr std::size_t kMaxCartLines = 100;
// A full cart at the highest price a cart takes adds up under the highest total.
static_assert(kMaxUnitPriceCents * kMaxQuantity * static_cast<std::int64_t>(kMaxCartLines) <
              kMaxTotalCents);
// GET /orders lists at most this many of the caller's newest orders.
inline constexpr std::size_t kMaxOrdersListed = 100;

// What the order service needs of a catalog Product.
struct ProductSnapshot {
  std::string id;
  std::string sku;
  std::string name;
  std::int64_t price_cents = 0;
  std::string currency;
  bool available = false;
};

// One step of an order's life: {status, at, reason}.
struct HistoryEntry {
  OrderStatus status = OrderStatus::PAYMENT_PENDING;
  std::int64_t at_ms = 0;  // shop clock, Unix milliseconds
  std::string reason;      // empty: none
};

// The payment opened for an order, as the payment service reported it.
struct OrderPayment {
  std::string payment_id;
  std::string status;  // PENDING, SUCCEEDED or FAILED
  std::string pay_url;
};

struct Order {
  std::string order_id;
  std::string user_id;
  OrderStatus status = OrderStatus::PAYMENT_PENDING;
  std::vector<PricedLine> items;
  std::int64_t total_cents = 0;
  std::string currency;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<OrderPayment> payment;  // nullopt until the payment service opened one
  std::vector<HistoryEntry> history;    // oldest first
};

// Returns `unix_ms` as ISO-8601 UTC with milliseconds: "2024-05-01T12:30:00.250Z".
std::string format_timestamp(std::int64_t unix_ms);

// The contract's Order: {order_id, status, items, total_cents, currency, created_at,
// updated_at, payment: {payment_id, status, pay_url} or null, history: [{status, at, reason}]}.
// An empty reason is null.
nlohmann::json to_json(const Order& order);

// The contract's Cart for these lines. An empty cart has `currency: null` (the order service
// learns the shop's currency only from the catalog's products).
nlohmann::json cart_json(const std::vector<CartLine>& lines, const std::string& currency);

// The latest price of each of a cart's products, as the catalog has them at checkout (product id
// -> unit price). Throws DomainError conflict `product_unavailable` with details {products:
// [{product_id, reason}]} when any product cannot be bought now: `not_found` (not in
// `products`), `unavailable`, or `currency_changed` (no longer in the cart's `currency`).
std::map<std::string, std::int64_t> latest_cart_prices(
    const std::vector<CartLine>& lines, const std::string& currency,
    const std::map<std::string, ProductSnapshot>& products);

// A new order of `user_id` for the priced cart, PAYMENT_PENDING since `created_ms` (its first
// history entry), without a payment yet.
Order new_pending_order(std::string order_id, std::string user_id, const PricedCart& priced,
                        std::int64_t created_ms);

// Validates a product id from a request (body field or path): 1..100 characters, no control
// characters, no comma (a comma cannot travel in the catalog's `ids=` list). Throws DomainError
// invalid `invalid_field` naming `field`.
void validate_product_id(std::string_view product_id, std::string_view field);

}  // namespace shopctl::order
