#include "services/payment/payment_model.hpp"

#include <algorithm>

#include "platform/domain_error.hpp"
#include "platform/json_body.hpp"

namespace shopctl::payment {

using platform::DomainError;
using platform::ErrorKind;

ProviderEvent parse_provider_event(const nlohmann::json& body) {
  ProviderEvent event;
  event.event_id = platform::required_string(body, "event_id", kMaxIdLength);
  event.type = platform::required_string(body, "type", 64);
  event.payment_id = platform::required_string(body, "payment_id", kMaxIdLength);
  event.amount_cents = platform::required_integer(body, "amount_cents");
  event.currency = platform::required_string(body, "currency", 16);
  event.failure_reason =
      platform::optional_string(body, "failure_reason", kMaxReasonLength).value_or("");
  if (event.event_id.empty()) {
    throw DomainError(ErrorKind::invalid, "invalid_field", "event_id must not be empty",
                      {{"field", "event_id"}});
  }
  if (event.payment_id.empty()) {
    throw DomainError(ErrorKind::invalid, "invalid_field", "payment_id must not be empty",
                      {{"field", "payment_id"}});
  }
  if (event.type != "payment.succeeded" && event.type != "payment.failed") {
    throw DomainError(ErrorKind::invalid, "unknown_event_type",
                      "type must be payment.succeeded or payment.failed",
                      {{"field", "type"}, {"allowed", {"payment.succeeded", "payment.failed"}}});
  }
  return event;
}

CancelRequest parse_cancel_request(const nlohmann::json& body) {
  CancelRequest request;
  request.order_id = platform::required_string(body, "order_id", kMaxIdLength);
  request.reason = platform::required_string(body, "reason", kMaxReasonLength);
  if (request.order_id.empty()) {
    throw DomainError(ErrorKind::invalid, "invalid_field", "order_id must not be empty",
                      {{"field", "order_id"}});
  }
  if (request.reason.empty()) {
    throw DomainError(ErrorKind::invalid, "invalid_field", "reason must not be empty",
                      {{"field", "reason"}});
  }
  return request;
}

ProviderEvent event_of_decided_intent(const nlohmann::json& error_body) {
  const nlohmann::json* event = nullptr;
  if (error_body.is_object()) {
    auto error = error_body.find("error");
    if (error != error_body.end() && error->is_object()) {
      auto details = error->find("details");
      if (details != error->end() && details->is_object()) {
        auto intent = details->find("intent");
        if (intent != details->end() && intent->is_object()) {
          auto found = intent->find("event");
          if (found != intent->end() && found->is_object()) event = &*found;
        }
      }
    }
  }
  if (!event) {
    throw DomainError(ErrorKind::invalid, "missing_field",
                      "the provider's answer carries no decided event",
                      {{"field", "error.details.intent.event"}});
  }
  return parse_provider_event(*event);
}

nlohmann::json payment_result_body(const ProviderEvent& event) {
  // A failed payment always says why: an event that named no reason (the contract's always
  // does; a signed one without it was taken) ended its order FAILED with a reason of null.
  nlohmann::json reason = nullptr;
  if (!event.failure_reason.empty())
    reason = event.failure_reason;
  else if (std::string_view(event.result()) == "FAILED")
    reason = "unspecified";
  return {{"payment_id", event.payment_id},
          {"status", std::string(event.result())},
          {"reason", std::move(reason)}};
}

ProviderEvent as_decided(ProviderEvent event, std::string_view payment_status,
                         std::string_view payment_reason) {
  if (payment_status == kSucceeded && !event.succeeded()) {
    event.type = "payment.succeeded";
    event.failure_reason.clear();
  } else if ((payment_status == kFailed || payment_status == kCanceled) && event.succeeded()) {
    // A canceled payment's intent was canceled at the provider, which then takes no payment:
    // its order is told it failed, for the cancel's reason (an outside probe made one PAID).
    event.type = "payment.failed";
    event.failure_reason = std::string(payment_reason);
  } else if (payment_status == kCanceled && !payment_reason.empty()) {
    event.failure_reason = std::string(payment_reason);
  }
  return event;
}

std::chrono::milliseconds outbox_backoff(int failed_attempts, std::chrono::milliseconds initial,
                                         std::chrono::milliseconds max) {
  if (max < initial) max = initial;
  auto wait = std::max(initial, std::chrono::milliseconds(1));
  for (int i = 1; i < failed_attempts && wait < max; ++i) wait *= 2;
  return std::min(wait, max);
}

std::chrono::milliseconds outbox_retry_wait(int failed_attempts, std::chrono::milliseconds initial,
                                            std::chrono::milliseconds max,
                                            std::chrono::milliseconds up_for,
                                            std::optional<std::chrono::milliseconds> breaker_wait) {
  const auto backoff = outbox_backoff(failed_attempts, initial, max);
  auto wait = std::min(backoff, std::max({initial, up_for, std::chrono::milliseconds(1)}));
  if (breaker_wait)
    wait = std::min(wait, std::max({initial, *breaker_wait, std::chrono::milliseconds(1)}));
  return wait;
}

CallbackVerdict judge_callback_answer(int status) {
  if (status >= 200 && status < 300) return CallbackVerdict::acknowledged;
  if (status == 409) return CallbackVerdict::conflict;
  // 401 and 403 refuse the caller, not the result: our own credential or clock was wrong (a
  // key being rotated, a clock jump), which an operator fixes. Giving up would leave a paid
  // order PAYMENT_PENDING until its expiry; retried, the result arrives once the shop is fixed.
  // 404 too: the order that opened this payment is not known where the callback went. Every
  // payment is opened by an order service for an order it holds, so the callback reached
  // another order service (payment's `peers.order` names another process than the gateway's,
  // or order.db was restored from an older copy): given up, the money stayed captured with no
  // PAID order (an outside probe across hosts); retried, it arrives once the shop is fixed.
  if (status == 408 || status == 429 || status == 401 || status == 403 || status == 404 ||
      status >= 500 || status < 200) {
    return CallbackVerdict::retry;
  }
  return CallbackVerdict::rejected;
}

std::string_view to_string(CallbackVerdict verdict) {
  switch (verdict) {
    case CallbackVerdict::acknowledged:
      return "acknowledged";
    case CallbackVerdict::conflict:
      return "conflict";
    case CallbackVerdict::rejected:
      return "rejected";
    case CallbackVerdict::retry:
      return "retry";
  }
  return "retry";
}

void validate_currency(std::string_view currency, std::string_view field) {
  const bool letters =
      std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (currency.size() != 3 || !letters) {
    throw DomainError(ErrorKind::invalid, "invalid_field",
                      std::string(field) + " must be three capital letters", {{"field", field}});
  }
}

}  // namespace shopctl::payment
