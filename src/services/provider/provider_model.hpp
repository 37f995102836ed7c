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

// The wait before retry number `retry` (1-based) of a webhook the gateway did not take:
// 250 ms doubling, at most 4 s.
std::chrono::milliseconds webhook_retry_backoff(int retry);

// How many times the provider tries to deliver an event in the background after the first
// attempt failed.
inline constexpr int kWebhookBackgroundRetries = 5;

}  // namespace shopctl::provider
