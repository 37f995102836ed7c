#pragma once
// The payment service's pure rules: the provider's webhook event as it arrives, the callback
// the order service gets, and the outbox's retry schedule. No HTTP, no SQLite.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::payment {

inline constexpr std::size_t kMaxIdLength = 100;
inline constexpr std::size_t kMaxReasonLength = 200;

// A payment's status: PENDING until the provider's event arrives, then SUCCEEDED or FAILED;
// CANCELED when the order service canceled it first (POST /internal/payments/cancel).
inline constexpr std::string_view kPending = "PENDING";
inline constexpr std::string_view kSucceeded = "SUCCEEDED";
inline constexpr std::string_view kFailed = "FAILED";
inline constexpr std::string_view kCanceled = "CANCELED";

// The provider's signed event: {event_id, type, payment_id, amount_cents, currency,
// failure_reason}.
struct ProviderEvent {
  std::string event_id;
  std::string type;  // payment.succeeded or payment.failed
  std::string payment_id;
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string failure_reason;  // empty: none

  bool succeeded() const { return type == "payment.succeeded"; }
  // SUCCEEDED or FAILED, the callback's status.
  std::string_view result() const { return succeeded() ? kSucceeded : kFailed; }
};

// Reads the event from the webhook's JSON body. Throws DomainError invalid (`missing_field`,
// `invalid_field`, or `unknown_event_type` for a type other than payment.succeeded and
// payment.failed).
ProviderEvent parse_provider_event(const nlohmann::json& body);

// The body of POST /internal/payments/cancel: {order_id, reason}.
struct CancelRequest {
  std::string order_id;
  std::string reason;  // why the order gives up its payment: payment_expired, ...
};
// Reads it. Throws DomainError invalid (`missing_field`, `invalid_field`: an empty or too long
// order_id or reason).
CancelRequest parse_cancel_request(const nlohmann::json& body);

// The provider's event inside its 409 `intent_already_processed` answer to a cancel
// (`details.intent.event`): the decision that came first. Throws DomainError invalid like
// parse_provider_event when it is missing or malformed.
ProviderEvent event_of_decided_intent(const nlohmann::json& error_body);

// The body of POST /internal/orders/{order_id}/payment-result:
// {payment_id, status: SUCCEEDED | FAILED, reason} (reason null when there is none).
nlohmann::json payment_result_body(const ProviderEvent& event);

// The result an event's callback carries once its payment is `payment_status` (with
// `payment_reason`): a payment's first event decides it, and every later event's callback says
// that first result, even when the event itself says the other one (a provider that changed
// its mind, or a sender holding the signing secret). Each callback said what its own event
// said: two contradicting events sent at once had their callbacks race, and whichever reached
// the order first decided it, leaving a PAID order behind a FAILED payment (an outside probe).
// A CANCELED payment's events say it failed, for the cancel's reason: its intent was canceled
// at the provider, which takes no payment after that, so an event that says otherwise is not
// the provider's (a PAID order behind a CANCELED payment, an outside probe). A PENDING one
// leaves the event as it is.
ProviderEvent as_decided(ProviderEvent event, std::string_view payment_status,
                         std::string_view payment_reason);

// The wait before the next delivery of an outbox row that has failed `failed_attempts` times
// (>= 1): initial * 2^(failed_attempts - 1), at most `max`.
std::chrono::milliseconds outbox_backoff(int failed_attempts, std::chrono::milliseconds initial,
                                         std::chrono::milliseconds max);

// The wait after a failed delivery of an outbox row in a payment process that has been up for
// `up_for`: the row's backoff, but no longer than the time the process has been up (and at
// least `initial`). A restarted process tries the rows it kept at once (their stored waits are
// cut at start) and, while a sibling is still starting, again after initial, 2 * initial, ...
// as if their backoff had begun with the process: what they failed before the restart does
// not push them out to `max` when the order service is back a moment later.
//
// `breaker_wait`, given when the try was refused by payment's own breaker to order (nothing was
// sent): the rest of that breaker's OPEN wait (0 while HALF_OPEN). The row then waits no longer
// than that, and at least `initial`: the backoff went on doubling while the breaker refused, and
// after an order outage of a second, paid orders stayed PAYMENT_PENDING 20 s past the end of the
// breaker's 30 s (an outside probe).
std::chrono::milliseconds outbox_retry_wait(
    int failed_attempts, std::chrono::milliseconds initial, std::chrono::milliseconds max,
    std::chrono::milliseconds up_for,
    std::optional<std::chrono::milliseconds> breaker_wait = std::nullopt);

// What an answer of the order service means for an outbox row.
enum class CallbackVerdict {
  acknowledged,  // 2xx: done
  conflict,      // 409: the order refuses a contradicting result; final, logged
  rejected,      // another 4xx (unknown order, bad request): final, logged as an error
  retry,         // 5xx, 408, 429, 401, 403 or no answer: try again later
};
CallbackVerdict judge_callback_answer(int status);
std::string_view to_string(CallbackVerdict verdict);

// Validates a currency code: three capital letters. Throws DomainError invalid `invalid_field`.
void validate_currency(std::string_view currency, std::string_view field);

}  // namespace shopctl::payment
