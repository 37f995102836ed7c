// The gateway's pure rule: who a request's Authorization header says the caller is.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "domain_error_code.hpp"
#include "platform/domain_error.hpp"
#include "platform/security/jwt.hpp"
#include "services/gateway/gateway_model.hpp"

namespace gateway = shopctl::gateway;
namespace security = shopctl::platform::security;
using shopctl::platform::DomainError;
using shopctl::platform::ErrorKind;
using shopctl::testing::error_code_of;

namespace {

constexpr std::int64_t kGatewayNow = 1'700'000'000;
constexpr std::string_view kGatewaySecret = "a-secret-of-at-least-thirty-two-bytes!!";

security::JwtVerifyOptions options() {
  return {kGatewaySecret, "shopctl-auth", "shopctl", kGatewayNow, 0};
}

std::string token(std::int64_t expires_at, std::string_view secret = kGatewaySecret) {
  security::JwtClaims claims;
  claims.subject = "usr_1";
  claims.issuer = "shopctl-auth";
  claims.audience = "shopctl";
  claims.issued_at = kGatewayNow - 60;
  claims.expires_at = expires_at;
  return security::sign_hs256(claims, secret);
}

DomainError error_of(std::optional<std::string_view> authorization) {
  try {
    gateway::authenticated_user(authorization, options());
  } catch (const DomainError& e) {
    return e;
  }
  FAIL("no error");
  return DomainError(ErrorKind::internal, "", "");
}

}  // namespace

TEST_CASE("a valid Bearer token names its user, whatever the scheme's case") {
  const auto valid = token(kGatewayNow + 900);
  CHECK(gateway::authenticated_user("Bearer " + valid, options()) == "usr_1");
  CHECK(gateway::authenticated_user("bearer " + valid, options()) == "usr_1");
  // RFC 6750 2.1: one or more spaces after the scheme (two were refused as malformed).
  CHECK(gateway::authenticated_user("Bearer   " + valid, options()) == "usr_1");
  CHECK(error_code_of([&] { gateway::authenticated_user("Bearer\t" + valid, options()); }) ==
        "invalid_token");
}

// A user id with a control character goes nowhere: the gateway passes it on as X-User-Id,
// where CR, LF or NUL cannot stand. Only a holder of the key can sign one; it is refused.
TEST_CASE("a signed token whose user id holds a control character is refused as malformed") {
  for (const std::string& subject :
       {std::string("usr_x\r\nX-Admin: 1"), std::string("usr_\0x", 6), std::string("usr_\x7f")}) {
    security::JwtClaims claims;
    claims.subject = subject;
    claims.issuer = "shopctl-auth";
    claims.audience = "shopctl";
    claims.issued_at = kGatewayNow - 60;
    claims.expires_at = kGatewayNow + 900;
    auto refused = error_of("Bearer " + security::sign_hs256(claims, kGatewaySecret));
    CHECK(refused.code() == "invalid_token");
    CHECK(refused.details() == nlohmann::json{{"reason", "malformed"}});
  }
}

TEST_CASE("no header, another scheme, a refused or an expired token are each unauthorized") {
  CHECK(error_code_of([] { gateway::authenticated_user(std::nullopt, options()); }) ==
        "unauthenticated");
  CHECK(error_code_of([] { gateway::authenticated_user("Basic dXNyOnB3", options()); }) ==
        "invalid_token");
  CHECK(error_code_of([] { gateway::authenticated_user("Bearer", options()); }) == "invalid_token");
  // With a reason, as every other refused token (they were `{}`; an outside probe).
  CHECK(error_of("Basic dXNyOnB3").details() == nlohmann::json{{"reason", "not_bearer"}});
  CHECK(error_of("Bearer").details() == nlohmann::json{{"reason", "empty"}});
  CHECK(error_of("bearer").details() == nlohmann::json{{"reason", "empty"}});
  CHECK(error_of("").details() == nlohmann::json{{"reason", "empty"}});

  auto expired = error_of("Bearer " + token(kGatewayNow - 1));
  CHECK(expired.kind() == ErrorKind::unauthorized);
  CHECK(expired.code() == "token_expired");
  CHECK(expired.details() == nlohmann::json{{"reason", "expired"}});

  auto forged =
      error_of("Bearer " + token(kGatewayNow + 900, "another-secret-of-thirty-two-bytes!!!"));
  CHECK(forged.code() == "invalid_token");
  CHECK(std::string(forged.what()) == "the access token was refused: bad_signature");
  CHECK(forged.details() == nlohmann::json{{"reason", "bad_signature"}});

  auto missing = error_of(std::nullopt);
  CHECK(missing.kind() == ErrorKind::unauthorized);
  CHECK(missing.details() == nlohmann::json::object());
}
