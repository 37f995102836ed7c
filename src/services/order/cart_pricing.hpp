#pragma once
// The order service's pure cart arithmetic: line totals, quantity rules and the price check
// that checkout runs against the catalog's latest prices. No HTTP, no SQLite.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::order {

inline constexpr int kMinQuantity = 1;
inline constexpr int kMaxQuantity = 99;
// An order's total is below this (2^53 cents): an integer every JSON reader holds exactly.
inline constexpr std::int64_t kMaxTotalCents = std::int64_t{1} << 53;
// The contract's highest price (docs/api.md; the catalog's own limit): a cart holds no line
// priced above it, so every cart the shop keeps adds up under kMaxTotalCents. A catalog
// database of an earlier release may serve higher prices; the cart refuses them.
inline constexpr std::int64_t kMaxUnitPriceCents = 900'000'000'000;

// One line of a cart as the order service stores it: the product's name and unit price are
// the catalog's values when the line was added (or last repriced).
struct CartLine {
  std::string product_id;
  std::string name;
  int quantity = 0;
  std::int64_t unit_price_cents = 0;
};

struct PricedLine {
  std::string product_id;
  std::string name;
  int quantity = 0;
  std::int64_t unit_price_cents = 0;
  std::int64_t line_total_cents = 0;
};

struct PricedCart {
  std::vector<PricedLine> lines;
  std::int64_t total_cents = 0;
  std::string currency;
};

// Prices every line (quantity x unit price) and the total, keeping the lines' order. The
// arithmetic is checked: a total beyond int64 throws DomainError unprocessable `amount_too_large`
// (an operator's absurd price must not wrap into a negative charge). A quantity outside 1..99 or a
// negative unit price is a broken invariant of the caller and throws std::invalid_argument.
PricedCart price_cart(const std::vector<CartLine>& lines, std::string currency);

// Validates a request's `quantity` and returns it. It must be a JSON integer literal in 1..99,
// or 0..99 when `allow_zero` (PATCH, where 0 removes the line). Floats (even 2.0), strings,
// booleans, null (pass null when the field is absent) and out-of-range numbers throw DomainError
// invalid `invalid_quantity` with details {field, min, max}.
int validate_quantity(const nlohmann::json& value, bool allow_zero);

struct PriceChange {
  std::string product_id;
  std::int64_t old_price_cents = 0;
  std::int64_t new_price_cents = 0;
};

// Returns one change for every cart line whose unit price differs from the latest price, in
// the cart's order. Products missing from `latest_prices` are skipped: an absent product is
// `product_unavailable`, which the caller checks separately.
std::vector<PriceChange> detect_price_changes(
    const std::vector<CartLine>& lines, const std::map<std::string, std::int64_t>& latest_prices);

// Returns the lines with every unit price replaced by the latest one (missing products keep
// theirs), so the next checkout after a 409 `price_changed` succeeds.
std::vector<CartLine> apply_latest_prices(std::vector<CartLine> lines,
                                          const std::map<std::string, std::int64_t>& latest_prices);

// The contract's Cart: {items: [{product_id, name, quantity, unit_price_cents,
// line_total_cents}], total_cents, currency}.
nlohmann::json to_json(const PricedCart& cart);

// The contract's `items` of a Cart or an Order for these lines.
nlohmann::json items_json(const std::vector<PricedLine>& lines);

// {product_id, old_price_cents, new_price_cents}
nlohmann::json to_json(const PriceChange& change);

// The details of a 409 `price_changed`: {changes: [PriceChange]}.
nlohmann::json price_changed_details(const std::vector<PriceChange>& changes);

}  // namespace shopctl::order
