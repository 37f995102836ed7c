#include "services/provider/provider_model.hpp"

#include <algorithm>

namespace shopctl::provider {

bool is_sixteen_digits(std::string_view card_number) {
  return card_number.size() == 16 && std::all_of(card_number.begin(), card_number.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<CardDecision> decide_card(std::string_view card_number) {
  if (card_number == "4242424242424242") return CardDecision{true, ""};
  if (card_number == "4000000000000002") return CardDecision{false, "card_declined"};
  if (card_number == "4000000000009995") return CardDecision{false, "insufficient_funds"};
  return std::nullopt;
}

nlohmann::json event_body(const std::string& event_id, const CardDecision& decision,
                          const std::string& payment_id, std::int64_t amount_cents,
                          const std::string& currency) {
  return {{"event_id", event_id},
          {"type", decision.succeeded ? "payment.succeeded" : "payment.failed"},
          {"payment_id", payment_id},
          {"amount_cents", amount_cents},
          {"currency", currency},
          {"failure_reason", decision.failure_reason.empty()
                                 ? nlohmann::json(nullptr)
                                 : nlohmann::json(decision.failure_reason)}};
}

std::chrono::milliseconds webhook_retry_backoff(int failed_attempts,
                                                const WebhookRetryPolicy& policy) {
  const auto max = std::max(policy.max_backoff, std::chrono::milliseconds(1));
  auto wait = std::clamp(policy.initial_backoff, std::chrono::milliseconds(1), max);
  for (int i = 1; i < failed_attempts && wait < max; ++i) wait *= 2;
  return std::min(wait, max);
}

std::optional<std::int64_t> next_webhook_attempt(int failed_attempts, std::int64_t settled_at_ms,
                                                 std::int64_t now_ms,
                                                 const WebhookRetryPolicy& policy,
                                                 std::chrono::milliseconds up_for) {
  const auto wait =
      std::min(webhook_retry_backoff(failed_attempts, policy),
               std::max({policy.initial_backoff, up_for, std::chrono::milliseconds(1)}));
  const std::int64_t next = now_ms + wait.count();
  if (next > settled_at_ms + policy.give_up_after.count()) return std::nullopt;
  return next;
}

}  // namespace shopctl::provider
