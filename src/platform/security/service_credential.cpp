#include "platform/security/service_credential.hpp"

#include <mutex>
#include <stdexcept>

namespace shopctl::platform::security {

ServiceCredentials::ServiceCredentials(std::string key, const Clock& clock)
    : key_(std::move(key)), clock_(clock) {
  if (key_.empty()) throw std::invalid_argument("ServiceCredentials: the key is empty");
}

std::string ServiceCredentials::token_for(std::string_view service_name) {
  if (service_name.empty()) throw std::invalid_argument("token_for: the service name is empty");
  const std::int64_t now = clock_.unix_seconds();
  const auto fresh = [now](const CachedToken& cached) {
    return cached.expires_at - now >= kServiceTokenRenewSeconds;
  };
  {
    std::shared_lock lock(mutex_);
    const auto found = cache_.find(service_name);
    if (found != cache_.end() && fresh(found->second)) return found->second.token;
  }
  std::unique_lock lock(mutex_);
  auto found = cache_.find(service_name);
  if (found != cache_.end() && fresh(found->second)) return found->second.token;

  JwtClaims claims;
  claims.subject = std::string(kServiceSubjectPrefix) + std::string(service_name);
  claims.issuer = kServiceIssuer;
  claims.audience = kServiceAudience;
  claims.issued_at = now;
  claims.expires_at = now + kServiceTokenLifetimeSeconds;
  CachedToken issued{sign_hs256(claims, key_), claims.expires_at};
  if (found == cache_.end()) {
    found = cache_.emplace(std::string(service_name), std::move(issued)).first;
  } else {
    found->second = std::move(issued);
  }
  return found->second.token;
}

std::variant<std::string, JwtFailure> ServiceCredentials::verify(
    std::string_view token) const noexcept {
  JwtVerifyOptions options;
  options.secret = key_;
  options.issuer = kServiceIssuer;
  options.audience = kServiceAudience;
  options.now_unix = clock_.unix_seconds();
  // Never further ahead than this shop issues them for (plus the renewal margin, for hosts
  // whose clocks are a little apart): a credential minted with the key for a million seconds
  // was taken, where docs/security.md promises 60 s.
  options.max_lifetime_seconds = kServiceTokenLifetimeSeconds + kServiceTokenRenewSeconds;
  // Only the subject is needed: no copy of the claims (the same checks as verify_hs256).
  thread_local std::string subject;
  if (const auto failure = verify_hs256_subject(token, options, subject)) return *failure;
  const std::string_view prefix = kServiceSubjectPrefix;
  if (subject.size() <= prefix.size() || !subject.starts_with(prefix)) {
    return JwtFailure::malformed;
  }
  try {
    return std::string(std::string_view(subject).substr(prefix.size()));
  } catch (...) {  // std::bad_alloc: refused, as verify_hs256 refuses then
    return JwtFailure::malformed;
  }
}

}  // namespace shopctl::platform::security
