#pragma once
// The simulated payment provider's pure rules: its test cards (in the spirit of Stripe's test
// mode), the event it sends, and its webhook retry schedule. No HTTP, no SQLite.
//
// Test cards:
//
//   4242424242424242  succeeded
//   4000000000000002  failed, card_declined
//   4000000000009995  failed, insufficient_funds
//
// Any other number of exactly 16 digits is refused as `invalid_card` (400): like a mistyped
// number at a real provider, nothing is charged and the intent stays payable. Anything that
// is not 16 digits is refused the same way.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::provider {

struct CardDecision {
  bool succeeded = false;
  std::string failure_reason;  // card_declined or insufficient_funds; empty on success
};

// Returns the outcome of paying with `card_number`, or nullopt for a number that is not one
// of the test cards (the caller answers 400 invalid_card).
std::optional<CardDecision> decide_card(std::string_view card_number);

// Whether `card_number` is exactly 16 ASCII digits.
bool is_sixteen_digits(std::string_view card_number);

// The signed event sent to the shop's webhook: {event_id, type: payment.succeeded |
// payment.failed, payment_id, amount_cents, currency, failure_reason (null on success)}.
nlohmann::json event_body(const std::string& event_id, const CardDecision& decision,
                          const std::string& payment_id, std::int64_t amount_cents,
                          const std::string& currency);

// The webhook retry schedule, on the shop clock (like Stripe's: an event the shop did not take
// is tried again for days, not seconds). Config `provider.webhook_retry`.
struct WebhookRetryPolicy {
  std::chrono::milliseconds initial_backoff{1000};            // the wait after the first attempt
  std::chrono::milliseconds max_backoff{3'600'000};           // no wait is longer than this
  std::chrono::milliseconds give_up_after{72LL * 3'600'000};  // counted from settlement
};

// The wait after `failed_attempts` (>= 1) failed deliveries: initial * 2^(failed_attempts - 1),
// at most max_backoff.
std::chrono::milliseconds webhook_retry_backoff(int failed_attempts,
                                                const WebhookRetryPolicy& policy);

// When to try an event again after its `failed_attempts`-th failed delivery at `now_ms`, for an
// event settled at `settled_at_ms`; nullopt when that time would be more than give_up_after
// past settlement (the event is given up). `up_for`, the time the provider has been running:
// the wait is never longer than that (and at least initial_backoff), so that the failures of
// an earlier run do not push the first tries of this one out by up to an hour while the shop
// it calls is still starting (as payment's outbox does: outbox_retry_wait).
std::optional<std::int64_t> next_webhook_attempt(
    int failed_attempts, std::int64_t settled_at_ms, std::int64_t now_ms,
    const WebhookRetryPolicy& policy,
    std::chrono::milliseconds up_for = std::chrono::milliseconds::max());

}  // namespace shopctl::provider
