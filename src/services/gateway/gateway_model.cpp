#include "services/gateway/gateway_model.hpp"

#include <variant>

#include "platform/domain_error.hpp"

namespace shopctl::gateway {

namespace security = platform::security;
using platform::DomainError;
using platform::ErrorKind;

namespace {

constexpr std::string_view kBearer = "Bearer ";

bool starts_with_bearer(std::string_view value) {
  if (value.size() < kBearer.size()) return false;
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(value[i]) != lower(kBearer[i])) return false;
  }
  return true;
}

DomainError unauthenticated(std::string code, std::string message,
                            nlohmann::json details = nlohmann::json::object()) {
  return DomainError(ErrorKind::unauthorized, std::move(code), std::move(message),
                     std::move(details));
}

}  // namespace

std::string authenticated_user(std::optional<std::string_view> authorization,
                               const security::JwtVerifyOptions& options) {
  std::string user;
  authenticated_user(authorization, options, user);
  return user;
}

void authenticated_user(std::optional<std::string_view> authorization,
                        const security::JwtVerifyOptions& options, std::string& user) {
  if (!authorization) {
    throw unauthenticated("unauthenticated", "this route needs Authorization: Bearer <token>");
  }
  if (!starts_with_bearer(*authorization)) {
    // details.reason as for every other refused token (it was `{}`): `Bearer` with no token
    // is `empty`, another scheme (`Basic ...`) `not_bearer`.
    const bool bare = authorization->size() + 1 == kBearer.size() &&
                      starts_with_bearer(std::string(*authorization) + " ");
    throw unauthenticated("invalid_token", "Authorization must be a Bearer token",
                          {{"reason", bare || authorization->empty() ? "empty" : "not_bearer"}});
  }
  // RFC 6750 2.1: "Bearer" 1*SP b64token. Two spaces were refused as a malformed token.
  std::string_view token = authorization->substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (auto failure = security::verify_hs256_subject(token, options, user)) {
    const std::string reason(security::to_string(*failure));
    if (*failure == security::JwtFailure::expired) {
      throw unauthenticated("token_expired", "the access token has expired", {{"reason", reason}});
    }
    throw unauthenticated("invalid_token", "the access token was refused: " + reason,
                          {{"reason", reason}});
  }
}

}  // namespace shopctl::gateway
