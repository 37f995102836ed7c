#include "services/order/order_model.hpp"

#include <chrono>
#include <cstdio>

#include "platform/error.hpp"

namespace shopctl::order {

using platform::ApiError;

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
  PricedCart priced;
  priced.lines = order.items;
  priced.total_cents = order.total_cents;
  priced.currency = order.currency;
  nlohmann::json items = order::to_json(priced)["items"];

  nlohmann::json history = nlohmann::json::array();
  for (const HistoryEntry& entry : order.history) {
    history.push_back({{"status", to_string(entry.status)},
                       {"at", format_timestamp(entry.at_ms)},
                       {"reason", optional_text(entry.reason)}});
  }
  nlohmann::json payment = nullptr;
  if (order.payment) {
    payment = {{"payment_id", order.payment->payment_id},
               {"status", order.payment->status},
               {"pay_url", optional_text(order.payment->pay_url)}};
  }
  return {{"order_id", order.order_id},
          {"status", to_string(order.status)},
          {"items", std::move(items)},
          {"total_cents", order.total_cents},
          {"currency", order.currency},
          {"created_at", format_timestamp(order.created_at_ms)},
          {"updated_at", format_timestamp(order.updated_at_ms)},
          {"payment", std::move(payment)},
          {"history", std::move(history)}};
}

nlohmann::json cart_json(const std::vector<CartLine>& lines, const std::string& currency) {
  nlohmann::json cart = order::to_json(price_cart(lines, currency));
  if (lines.empty()) cart["currency"] = nullptr;
  return cart;
}

void validate_idempotency_key(std::string_view key) {
  bool printable = true;
  for (char c : key) {
    if (c < 0x20 || c > 0x7e) printable = false;
  }
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength || !printable) {
    throw ApiError(400, "invalid_idempotency_key",
                   "Idempotency-Key must be 1 to " + std::to_string(kMaxIdempotencyKeyLength) +
                       " printable ASCII characters",
                   {{"header", "Idempotency-Key"}, {"max_length", kMaxIdempotencyKeyLength}});
  }
}

void validate_product_id(std::string_view product_id, std::string_view field) {
  bool clean = true;
  for (char c : product_id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == ',') clean = false;
  }
  if (product_id.empty() || product_id.size() > kMaxProductIdLength || !clean) {
    throw ApiError(400, "invalid_field",
                   std::string(field) + " must be a product id of 1 to " +
                       std::to_string(kMaxProductIdLength) +
                       " characters without control characters or commas",
                   {{"field", field}, {"max_length", kMaxProductIdLength}});
  }
}

}  // namespace shopctl::order
