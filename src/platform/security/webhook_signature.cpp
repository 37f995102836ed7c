#include "platform/security/webhook_signature.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "platform/security/hmac.hpp"
#include "platform/security/random.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::platform::security {
namespace {

// Longest header and most v1 entries looked at; beyond these the header is malformed.
constexpr std::size_t kMaxHeaderLength = 2048;
constexpr std::size_t kMaxSignatures = 8;
// Up to 18 digits always fits an int64.
constexpr std::size_t kMaxTimestampDigits = 18;

struct ParsedHeader {
  std::string_view timestamp_text;
  std::int64_t timestamp = 0;
  std::array<Sha256Digest, kMaxSignatures> signatures{};
  std::size_t signature_count = 0;
};

bool parse_header(std::string_view header, ParsedHeader& parsed) noexcept {
  if (header.size() > kMaxHeaderLength) return false;
  bool has_timestamp = false;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view item = trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) return false;
    const std::string_view scheme = item.substr(0, equals);
    const std::string_view value = item.substr(equals + 1);
    if (scheme == "t") {
      if (has_timestamp || value.empty() || value.size() > kMaxTimestampDigits ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
      }
      std::from_chars(value.data(), value.data() + value.size(), parsed.timestamp);
      parsed.timestamp_text = value;
      has_timestamp = true;
    } else if (scheme == "v1") {
      if (parsed.signature_count == kMaxSignatures) return false;
      Sha256Digest& slot = parsed.signatures[parsed.signature_count];
      if (!hex_decode_exact(value, slot.data(), slot.size())) return false;
      ++parsed.signature_count;
    }
  }
  return has_timestamp && parsed.signature_count > 0;
}

// Whether `a` and `b` are more than `tolerance` apart, without signed overflow.
bool further_apart_than(std::int64_t a, std::int64_t b, std::int64_t tolerance) noexcept {
  const std::uint64_t gap = a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                                   : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
  return gap > static_cast<std::uint64_t>(std::max<std::int64_t>(tolerance, 0));
}

}  // namespace

std::string sign_webhook(std::string_view secret, std::int64_t t, std::string_view body) {
  if (secret.empty()) throw std::invalid_argument("sign_webhook: the secret is empty");
  const std::string timestamp = std::to_string(t);
  const Sha256Digest signature = hmac_sha256(secret, {timestamp, ".", body});
  return "t=" + timestamp + ",v1=" +
         to_hex(
             std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
}

WebhookCheck verify_webhook(std::string_view header, std::string_view body, std::string_view secret,
                            std::int64_t now_unix, std::int64_t tolerance_seconds) noexcept {
  ParsedHeader parsed;
  if (!parse_header(header, parsed)) return WebhookCheck::malformed;
  Sha256Digest expected{};
  if (secret.empty() || !try_hmac_sha256(secret, {parsed.timestamp_text, ".", body}, expected)) {
    return WebhookCheck::bad_signature;
  }
  bool matched = false;
  for (std::size_t i = 0; i < parsed.signature_count; ++i) {
    // Every entry is compared, so the time taken does not reveal which one matched.
    matched = digests_equal(parsed.signatures[i], expected) || matched;
  }
  if (!matched) return WebhookCheck::bad_signature;
  if (further_apart_than(now_unix, parsed.timestamp, tolerance_seconds)) return WebhookCheck::stale;
  return WebhookCheck::ok;
}

std::string_view to_string(WebhookCheck check) noexcept {
  switch (check) {
    case WebhookCheck::ok:
      return "ok";
    case WebhookCheck::malformed:
      return "malformed";
    case WebhookCheck::bad_signature:
      return "bad_signature";
    case WebhookCheck::stale:
      return "stale";
  }
  return "unknown";
}

}  // namespace shopctl::platform::security
