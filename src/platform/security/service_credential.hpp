#pragma once
// Service credentials: every call between services carries the caller's credential in
// X-Service-Token, an HS256 JWT signed with a key only the services hold:
//   sub "svc:<name>", iss "shopctl-internal", aud "shopctl-services", exp = now + 60 s.
// Its iss/aud differ from user tokens, so a user JWT is never accepted as a service and the
// other way round, even if an operator configured one key for both.
#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <variant>

#include "platform/clock.hpp"
#include "platform/security/jwt.hpp"

namespace shopctl::platform::security {

inline constexpr std::string_view kServiceTokenHeader = "X-Service-Token";
inline constexpr std::string_view kServiceIssuer = "shopctl-internal";
inline constexpr std::string_view kServiceAudience = "shopctl-services";
inline constexpr std::string_view kServiceSubjectPrefix = "svc:";
inline constexpr std::int64_t kServiceTokenLifetimeSeconds = 60;
// A cached token with less life left than this is replaced, so it never expires in flight.
inline constexpr std::int64_t kServiceTokenRenewSeconds = 15;

class ServiceCredentials {
 public:
  // `key` signs and verifies every credential; `clock` must outlive this object. Throws
  // std::invalid_argument for an empty key.
  ServiceCredentials(std::string key, const Clock& clock);

  // Returns a credential naming `service_name` (e.g. "order"), cached per name and
  // re-issued when less than kServiceTokenRenewSeconds of its life remain. Thread-safe.
  // Throws std::invalid_argument for an empty name.
  std::string token_for(std::string_view service_name);
  // Calls `use` with the credential token_for() returns, without copying it when the cached one
  // is fresh (then under the cache's shared lock: `use` must be quick and must not call back
  // into this object).
  template <class F>
  void use_token_for(std::string_view service_name, F&& use) {
    {
      std::shared_lock lock(mutex_);
      const auto found = cache_.find(service_name);
      if (found != cache_.end() &&
          found->second.expires_at - clock_.unix_seconds() >= kServiceTokenRenewSeconds) {
        use(std::string_view(found->second.token));
        return;
      }
    }
    const std::string issued = token_for(service_name);
    use(std::string_view(issued));
  }

  // Returns the caller's service name (without "svc:"), or why the credential is refused.
  // A token whose subject is not "svc:<name>" is malformed. Thread-safe; never throws.
  std::variant<std::string, JwtFailure> verify(std::string_view token) const noexcept;

 private:
  struct CachedToken {
    std::string token;
    std::int64_t expires_at = 0;
  };

  std::string key_;
  const Clock& clock_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, CachedToken, std::less<>> cache_;
};

}  // namespace shopctl::platform::security
