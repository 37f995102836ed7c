#pragma once
// The payment provider's webhook signature (contract: "Payment-Signature" header):
//   Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// Several v1 entries may appear (during a secret rotation); one matching is enough.
#include <cstdint>
#include <string>
#include <string_view>

namespace shopctl::platform::security {

inline constexpr std::string_view kWebhookSignatureHeader = "Payment-Signature";
inline constexpr std::int64_t kWebhookToleranceSeconds = 300;

// Returns the header value `t=<t>,v1=<hex signature>` for `body` sent at Unix time `t`.
// Throws std::invalid_argument for an empty secret.
std::string sign_webhook(std::string_view secret, std::int64_t t, std::string_view body);

enum class WebhookCheck {
  ok,
  malformed,      // no t, t not decimal, no v1, a v1 that is not 64 hex digits, an item without '='
  bad_signature,  // no v1 matches (checked before the age, so a forged old event is this)
  stale,          // genuine, but t is more than the tolerance away from now (past or future)
};

// Checks a Payment-Signature header value against the raw request body. Unknown schemes
// (v0, ...) are ignored; items may come in any order. Never throws.
WebhookCheck verify_webhook(std::string_view header, std::string_view body, std::string_view secret,
                            std::int64_t now_unix,
                            std::int64_t tolerance_seconds = kWebhookToleranceSeconds) noexcept;

// Returns a snake_case name for the result, e.g. "stale".
std::string_view to_string(WebhookCheck check) noexcept;

}  // namespace shopctl::platform::security
