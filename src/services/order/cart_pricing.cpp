#include "services/order/cart_pricing.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

#include "platform/domain_error.hpp"

namespace shopctl::order {
namespace {

using platform::DomainError;
using platform::ErrorKind;

[[noreturn]] void amount_too_large() {
  throw DomainError(ErrorKind::unprocessable, "amount_too_large",
                    "the cart's total is too large to charge",
                    {{"max_total_cents", std::numeric_limits<std::int64_t>::max()}});
}

}  // namespace

PricedCart price_cart(const std::vector<CartLine>& lines, std::string currency) {
  PricedCart cart;
  cart.currency = std::move(currency);
  cart.lines.reserve(lines.size());
  for (const CartLine& line : lines) {
    if (line.quantity < kMinQuantity || line.quantity > kMaxQuantity) {
      throw std::invalid_argument("price_cart: quantity of " + line.product_id +
                                  " is outside 1..99");
    }
    if (line.unit_price_cents < 0) {
      throw std::invalid_argument("price_cart: negative unit price for " + line.product_id);
    }
    std::int64_t line_total = 0;
    if (__builtin_mul_overflow(line.unit_price_cents, static_cast<std::int64_t>(line.quantity),
                               &line_total)) {
      amount_too_large();
    }
    if (__builtin_add_overflow(cart.total_cents, line_total, &cart.total_cents)) {
      amount_too_large();
    }
    cart.lines.push_back(
        {line.product_id, line.name, line.quantity, line.unit_price_cents, line_total});
  }
  return cart;
}

int validate_quantity(const nlohmann::json& value, bool allow_zero) {
  const int min = allow_zero ? 0 : kMinQuantity;
  // is_number_integer() is false for floats such as 1.5 or 2.0 and for numbers beyond uint64,
  // which nlohmann parses as floats.
  if (value.is_number_integer()) {
    if (value.is_number_unsigned()) {
      const auto number = value.get<std::uint64_t>();
      if (number >= static_cast<std::uint64_t>(min) &&
          number <= static_cast<std::uint64_t>(kMaxQuantity)) {
        return static_cast<int>(number);
      }
    } else {
      const auto number = value.get<std::int64_t>();
      if (number >= min && number <= kMaxQuantity) return static_cast<int>(number);
    }
  }
  throw DomainError(ErrorKind::invalid, "invalid_quantity",
                    "quantity must be an integer from " + std::to_string(min) + " to " +
                        std::to_string(kMaxQuantity),
                    {{"field", "quantity"}, {"min", min}, {"max", kMaxQuantity}});
}

std::vector<PriceChange> detect_price_changes(
    const std::vector<CartLine>& lines, const std::map<std::string, std::int64_t>& latest_prices) {
  std::vector<PriceChange> changes;
  for (const CartLine& line : lines) {
    const auto latest = latest_prices.find(line.product_id);
    if (latest == latest_prices.end()) continue;
    if (latest->second != line.unit_price_cents) {
      changes.push_back({line.product_id, line.unit_price_cents, latest->second});
    }
  }
  return changes;
}

std::vector<CartLine> apply_latest_prices(
    std::vector<CartLine> lines, const std::map<std::string, std::int64_t>& latest_prices) {
  for (CartLine& line : lines) {
    const auto latest = latest_prices.find(line.product_id);
    if (latest != latest_prices.end()) line.unit_price_cents = latest->second;
  }
  return lines;
}

// Objects are filled field by field: nlohmann's brace form ({{"key", value}, ...}) builds a
// two-element array for every pair before it turns them into members, two heap allocations
// per field more; these run for every cart and order answer (docs/performance.md).
nlohmann::json items_json(const std::vector<PricedLine>& lines) {
  nlohmann::json items = nlohmann::json::array();
  items.get_ref<nlohmann::json::array_t&>().reserve(lines.size());
  for (const PricedLine& line : lines) {
    nlohmann::json& item = items.emplace_back(nlohmann::json::value_t::object);
    item["product_id"] = line.product_id;
    item["name"] = line.name;
    item["quantity"] = line.quantity;
    item["unit_price_cents"] = line.unit_price_cents;
    item["line_total_cents"] = line.line_total_cents;
  }
  return items;
}

nlohmann::json to_json(const PricedCart& cart) {
  nlohmann::json j(nlohmann::json::value_t::object);
  j["items"] = items_json(cart.lines);
  j["total_cents"] = cart.total_cents;
  j["currency"] = cart.currency;
  return j;
}

nlohmann::json to_json(const PriceChange& change) {
  return {{"product_id", change.product_id},
          {"old_price_cents", change.old_price_cents},
          {"new_price_cents", change.new_price_cents}};
}

nlohmann::json price_changed_details(const std::vector<PriceChange>& changes) {
  nlohmann::json list = nlohmann::json::array();
  for (const PriceChange& change : changes) list.push_back(to_json(change));
  return {{"changes", std::move(list)}};
}

}  // namespace shopctl::order
