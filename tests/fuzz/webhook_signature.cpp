// Fuzz target: the webhook `Payment-Signature` header. Input: the header value, a newline,
// then the raw body. verify_webhook must not crash or throw (it is noexcept), must accept
// only a header with the body's real HMAC, and must accept the header sign_webhook makes for
// the same body.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "platform/security/webhook_signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shopctl::platform::security;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view header = input.substr(0, nl);
  const std::string_view body =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  constexpr std::string_view secret = "whsec_fuzz_0123456789abcdef0123456789abcdef";
  constexpr std::int64_t now = 1'760'000'000;

  const WebhookCheck check = verify_webhook(header, body, secret, now);
  (void)to_string(check);
  // Only a header that carries the right HMAC of "<t>.<body>" is ever accepted; the fuzzer
  // cannot forge one (the seeds carry real ones), so an `ok` without it is a broken check.
  if (check == WebhookCheck::ok) {
    std::int64_t t = -1;
    for (std::string_view rest = header; t < 0 && !rest.empty();) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      // As the verifier reads it: spaces and tabs around an item do not count.
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.starts_with("t=")) {
        t = 0;
        for (char c : item.substr(2)) t = t * 10 + (c - '0');  // verified: decimal, short
      }
    }
    if (t < 0) std::abort();
    const std::string genuine = sign_webhook(secret, t, body);
    std::string lower(header);  // hex digits may come in either case
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find(genuine.substr(genuine.find(",v1=") + 4)) == std::string::npos) std::abort();
  }
  // What we sign verifies, at any time within the tolerance.
  if (verify_webhook(sign_webhook(secret, now - 60, body), body, secret, now) != WebhookCheck::ok) {
    std::abort();
  }
  (void)verify_webhook(header, body, "", now);
  (void)verify_webhook(header, body, secret, INT64_MIN, INT64_MAX);
  return 0;
}
