// Fuzz target: JWT parsing and verification (HS256 only), as the gateway checks user tokens
// and every service checks service credentials. verify_hs256 is noexcept: any input gives
// claims or a failure. Without the key the fuzzer cannot make a token that verifies, so an
// accepted token whose signature is not the real HMAC of its first two parts is a broken check.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "platform/clock.hpp"
#include "platform/security/hmac.hpp"
#include "platform/security/jwt.hpp"
#include "platform/security/service_credential.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shopctl::platform;
  using namespace shopctl::platform::security;
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view secret = "fuzz-jwt-secret-0123456789abcdef0123456789";
  JwtVerifyOptions options;
  options.secret = secret;
  options.issuer = "shopctl-auth";
  options.audience = "shopctl";
  options.now_unix = 1'760'000'000;
  options.leeway_seconds = 30;

  const JwtVerifyResult result = verify_hs256(token, options);
  if (const auto* failure = std::get_if<JwtFailure>(&result)) {
    (void)to_string(*failure);
  } else {
    // Accepted: the signature part must be what we compute for the same signing input.
    const auto& claims = std::get<JwtClaims>(result);
    if (claims.expires_at == 0) std::abort();
    const auto last_dot = token.rfind('.');
    if (last_dot == std::string_view::npos || token.size() > kMaxJwtLength) std::abort();
    const Sha256Digest mac = hmac_sha256(secret, {token.substr(0, last_dot)});
    const std::string genuine =
        base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
    if (token.substr(last_dot + 1) != genuine) std::abort();
  }
  // The same bytes as a service credential (other issuer and audience, a subject "svc:NAME").
  static SimulatedClock clock;
  static ServiceCredentials credentials(std::string(secret), clock);
  auto verified = credentials.verify(token);
  if (const auto* name = std::get_if<std::string>(&verified); name && name->empty()) std::abort();
  return 0;
}
