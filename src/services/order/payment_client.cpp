#include "services/order/payment_client.hpp"
#include "platform/json_text.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace shopctl::order {

namespace asio = boost::asio;

PaymentClient::PaymentClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                             platform::Metrics* metrics, std::uint64_t seed)
    : edge_(ctx, "order", "payment", std::move(settings), metrics, seed) {}

void PaymentClient::unavailable(const std::string& why, bool answered, bool may_have_opened) {
  throw PaymentUnavailable(why, edge_.retry_after_seconds(), answered, may_have_opened);
}

asio::awaitable<PaymentHandle> PaymentClient::create_payment(const std::string& order_id,
                                                             std::int64_t amount_cents,
                                                             const std::string& currency,
                                                             const std::string& idempotency_key,
                                                             const std::string& trace_id) {
  http::Request request;
  request.method = "POST";
  request.target = "/internal/payments";
  request.headers.set("Content-Type", "application/json; charset=utf-8");
  request.headers.set("Idempotency-Key", idempotency_key);
  request.body =
      nlohmann::json{{"order_id", order_id}, {"amount_cents", amount_cents}, {"currency", currency}}
          .dump();
  http::Response response;
  bool unheard = false;
  try {
    response = co_await edge_.call(std::move(request), true, trace_id, &unheard);
  } catch (const http::TransportError& e) {
    unavailable(e.what(), false, unheard);
  }
  if (response.status != 201 && response.status != 200) {
    // Payment's own word that it opened no payment, unless an earlier attempt went unheard.
    unavailable(
        "payment answered " + std::to_string(response.status) + ": " + response.body.substr(0, 200),
        false, unheard);
  }
  auto body = platform::parse_json_or_discarded(response.body);
  auto text = [&](const char* field) -> std::string {
    if (!body.is_object()) return {};
    auto it = body.find(field);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  PaymentHandle handle{text("payment_id"), text("pay_url"), text("status")};
  if (handle.payment_id.empty() || handle.pay_url.empty()) {
    unavailable("payment answered without payment_id or pay_url");
  }
  if (handle.status.empty()) handle.status = "PENDING";
  co_return handle;
}

asio::awaitable<PaymentCancellation> PaymentClient::cancel_payment(const std::string& order_id,
                                                                   const std::string& reason,
                                                                   const std::string& trace_id) {
  http::Request request;
  request.method = "POST";
  request.target = "/internal/payments/cancel";
  request.headers.set("Content-Type", "application/json; charset=utf-8");
  request.body = nlohmann::json{{"order_id", order_id}, {"reason", reason}}.dump();
  http::Response response;
  try {
    response = co_await edge_.call(std::move(request), true, trace_id);
  } catch (const http::TransportError& e) {
    unavailable(e.what());
  }
  if (response.status != 200) {
    unavailable(
        "payment answered " + std::to_string(response.status) + ": " + response.body.substr(0, 200),
        true);
  }
  auto body = platform::parse_json_or_discarded(response.body);
  auto text = [&](const char* field) -> std::string {
    if (!body.is_object()) return {};
    auto it = body.find(field);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto outcome = parse_cancel_outcome(text("status"));
  if (!outcome) unavailable("payment's cancel answer has no known status", true);
  co_return PaymentCancellation{*outcome, text("payment_id"), text("reason")};
}

}  // namespace shopctl::order
