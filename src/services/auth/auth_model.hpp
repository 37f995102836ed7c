#pragma once
// Auth's pure rules: what a registration must look like, the email's canonical form, the
// claims of an access token, and the demo user's precomputed hash. No HTTP, no SQLite.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/security/jwt.hpp"
#include "platform/security/password.hpp"

namespace shopctl::auth {

// The longest password accepted (anything longer is refused before it is hashed).
inline constexpr std::size_t kMaxPasswordLength = 1024;
// The shortest password a registration accepts.
inline constexpr std::size_t kMinPasswordLength = 8;
// The longest email and name fields read from a request.
inline constexpr std::size_t kMaxEmailFieldLength = 320;
inline constexpr std::size_t kMaxNameLength = 200;

// Returns the email in canonical form (trimmed, lower case), or nullopt when it is not a
// plausible address (local@domain.tld, at most 254 characters, no spaces).
std::optional<std::string> normalize_email(std::string_view email);
// The same; when it is not an address, `why` (if given) says which rule it breaks.
std::optional<std::string> normalize_email(std::string_view email, std::string* why);

// A registration that passed the rules; the email in canonical form.
struct Registration {
  std::string email;
  std::string password;
  std::string name;
};

// Checks a registration, in this order: the email (DomainError invalid `invalid_email`), the
// password's length (invalid `weak_password`, details {field, min_length}), the name (invalid
// `invalid_field` when it is only blanks).
Registration validate_registration(std::string_view email, std::string password, std::string name);

// The claims of an access token for a user who logged in at `now_millis` (Unix milliseconds):
// sub the user id, iss and aud as configured, iat that second (rounded down), exp `ttl_seconds`
// after that second rounded up (the token lives at least ttl seconds, less than ttl + 1), and
// the user's email and name.
platform::security::JwtClaims access_token_claims(const std::string& user_id,
                                                  const std::string& email, const std::string& name,
                                                  const std::string& issuer,
                                                  const std::string& audience,
                                                  std::int64_t now_millis,
                                                  std::int64_t ttl_seconds);

// The real Argon2id hash of the default demo password under OWASP's settings, computed once
// offline: seeding the demo user then costs nothing at start-up, and logging in verifies it
// for real. Returns it when `password` is that password and `hashing` those settings, else
// nullopt (the caller hashes the password itself).
std::optional<std::string> precomputed_demo_hash(
    std::string_view password, const platform::security::PasswordHashing& hashing);

}  // namespace shopctl::auth
