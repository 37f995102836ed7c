#include "services/order/order_model.hpp"

#include <chrono>
#include <cstdio>

#include "platform/domain_error.hpp"
#include "platform/json_body.hpp"

namespace shopctl::order {

using platform::DomainError;
using platform::ErrorKind;

std::string format_timestamp(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds(unix_ms)};
  const auto day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> time{at - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return text;
}

namespace {

nlohmann::json optional_text(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

}  // namespace

nlohmann::json to_json(const Order& order) {
  nlohmann::json history = nlohmann::json::array();
  history.get_ref<nlohmann::json::array_t&>().reserve(order.history.size());
  for (const HistoryEntry& entry : order.history) {
    nlohmann::json& item = history.emplace_back(nlohmann::json::value_t::object);
    item["status"] = to_string(entry.status);
    item["at"] = format_timestamp(entry.at_ms);
    item["reason"] = optional_text(entry.reason);
  }
  nlohmann::json payment = nullptr;
  if (order.payment) {
    payment = nlohmann::json(nlohmann::json::value_t::object);
    payment["payment_id"] = order.payment->payment_id;
    payment["status"] = order.payment->status;
    payment["pay_url"] = optional_text(order.payment->pay_url);
  }
  // Field by field, as items_json() says why.
  nlohmann::json j(nlohmann::json::value_t::object);
  j["order_id"] = order.order_id;
  j["status"] = to_string(order.status);
  j["items"] = items_json(order.items);
  j["total_cents"] = order.total_cents;
  j["currency"] = order.currency;
  j["created_at"] = format_timestamp(order.created_at_ms);
  j["updated_at"] = format_timestamp(order.updated_at_ms);
  j["payment"] = std::move(payment);
  j["history"] = std::move(history);
  return j;
}

nlohmann::json cart_json(const std::vector<CartLine>& lines, const std::string& currency) {
  nlohmann::json cart = order::to_json(price_cart(lines, currency));
  if (lines.empty()) cart["currency"] = nullptr;
  return cart;
}

std::map<std::string, std::int64_t> latest_cart_prices(
    const std::vector<CartLine>& lines, const std::string& currency,
    const std::map<std::string, ProductSnapshot>& products) {
  nlohmann::json unavailable = nlohmann::json::array();
  std::map<std::string, std::int64_t> latest_prices;
  for (const CartLine& line : lines) {
    auto it = products.find(line.product_id);
    if (it == products.end()) {
      unavailable.push_back({{"product_id", line.product_id}, {"reason", "not_found"}});
    } else if (!it->second.available) {
      unavailable.push_back({{"product_id", line.product_id}, {"reason", "unavailable"}});
    } else if (it->second.currency != currency) {
      unavailable.push_back({{"product_id", line.product_id}, {"reason", "currency_changed"}});
    } else {
      latest_prices[line.product_id] = it->second.price_cents;
    }
  }
  if (!unavailable.empty()) {
    throw DomainError(ErrorKind::conflict, "product_unavailable",
                      "some products in the cart cannot be bought now; remove them and try again",
                      {{"products", std::move(unavailable)}});
  }
  return latest_prices;
}

Order new_pending_order(std::string order_id, std::string user_id, const PricedCart& priced,
                        std::int64_t created_ms) {
  Order order;
  order.order_id = std::move(order_id);
  order.user_id = std::move(user_id);
  order.status = OrderStatus::PAYMENT_PENDING;
  order.items = priced.lines;
  order.total_cents = priced.total_cents;
  order.currency = priced.currency;
  order.created_at_ms = created_ms;
  order.updated_at_ms = created_ms;
  order.history.push_back({OrderStatus::PAYMENT_PENDING, created_ms, ""});
  return order;
}

void validate_product_id(std::string_view product_id, std::string_view field) {
  // What is wrong, in details.reason: the details said only `max_length`, for an empty id or a
  // comma too (an outside probe).
  const char* reason = nullptr;
  for (std::size_t i = 0; i < product_id.size() && reason == nullptr; ++i) {
    const auto byte = static_cast<unsigned char>(product_id[i]);
    if (byte < 0x20 || byte == 0x7f) reason = "control_character";
    if (byte == ',') reason = "comma";
    // The C1 controls, U+0080 to U+009F (UTF-8 C2 80 to C2 9F), are control characters too:
    // `\u009b` (a terminal's CSI) passed and was echoed in the error (an outside probe).
    if (byte == 0xc2 && i + 1 < product_id.size() &&
        static_cast<unsigned char>(product_id[i + 1]) <= 0x9f)
      reason = "control_character";
  }
  // Characters, as the message says (51 two-byte characters were refused as over 100); at
  // most 4 bytes each.
  if (platform::utf8_length(product_id) > kMaxProductIdLength ||
      product_id.size() > 4 * kMaxProductIdLength)
    reason = "too_long";
  if (product_id.empty()) reason = "empty";
  if (reason != nullptr) {
    throw DomainError(ErrorKind::invalid, "invalid_field",
                      std::string(field) + " must be a product id of 1 to " +
                          std::to_string(kMaxProductIdLength) +
                          " characters without control characters or commas",
                      {{"field", field}, {"max_length", kMaxProductIdLength}, {"reason", reason}});
  }
}

}  // namespace shopctl::order
