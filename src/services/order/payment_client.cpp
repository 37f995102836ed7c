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

namespace {

// False only when a 5xx of payment says outright that the provider holds no intent for the
// payment (`error.details.intent_may_exist: false`: every create was refused or answered 4xx).
bool intent_may_exist(const http::Response& response) {
  const auto answer = platform::parse_json_or_discarded(response.body);
  if (!answer.is_object()) return true;
  const auto error = answer.find("error");
  if (error == answer.end() || !error->is_object()) return true;
  const auto details = error->find("details");
  if (details == error->end() || !details->is_object()) return true;
  const auto flag = details->find("intent_may_exist");
  return flag == details->end() || !flag->is_boolean() || flag->get<bool>();
}

}  // namespace

asio::awaitable<PaymentHandle> PaymentClient::create_payment(
    const std::string& order_id, std::int64_t amount_cents, const std::string& currency,
    const std::string& idempotency_key, const std::string& trace_id,
    platform::ResilientCaller::Deadline deadline) {
  http::Request request;
  request.method = "POST";
  request.target = "/internal/payments";
  request.headers.set("Content-Type", "application/json; charset=utf-8");
  request.headers.set("Idempotency-Key", idempotency_key);
  request.body =
      nlohmann::json{{"order_id", order_id}, {"amount_cents", amount_cents}, {"currency", currency}}
          .dump();
  http::Response response;
  // Whether any attempt may have opened a payment: unheard, or a 5xx that does not rule out an
  // intent. Judged of the last attempt only, a first 503 "intent may exist" followed by a
  // retry the breaker refused (or a payment that had gone down) failed the order with no cancel
  // mark, and the intent stayed payable (an outside probe's chaos run: money taken for a
  // FAILED order).
  bool unheard = false;
  try {
    response = co_await edge_.call(std::move(request), true, trace_id, &unheard, intent_may_exist,
                                   deadline);
  } catch (const http::TransportError& e) {
    unavailable(e.what(), false, unheard);
  }
  if (response.status != 201 && response.status != 200) {
    // A 4xx is payment's own word that it opened no payment, unless an earlier attempt went
    // unheard. A 5xx is not, unless it says so: payment may have stored the payment and the
    // provider its intent before the failure it answers. Its 503 provider_unavailable says
    // whether the provider may hold an intent (`details.intent_may_exist`: the provider's
    // answer to the create was lost after it saved the intent); another 5xx (a store error
    // after the intent was opened) may have left one. That intent was payable for an order
    // that failed, and nothing canceled it (an outside probe): the order is marked for a
    // cancel, which finds the intent by the payment id.
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
