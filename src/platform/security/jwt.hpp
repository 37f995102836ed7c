#pragma once
// HS256 JSON Web Tokens (JWS compact serialisation), and nothing else: one key, one pinned
// algorithm. A verifier that accepts several algorithms for one key invites algorithm
// confusion (cpp-jwt issue #102), so the header must say HS256 and the check never looks at
// any other algorithm.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace shopctl::platform::security {

// The registered claims shopctl uses, plus any others in `extra`. A zero time means absent.
struct JwtClaims {
  std::string subject;          // sub
  std::string issuer;           // iss
  std::string audience;         // aud (on verify: the expected audience the token named)
  std::int64_t issued_at = 0;   // iat, Unix seconds
  std::int64_t not_before = 0;  // nbf, Unix seconds
  std::int64_t expires_at = 0;  // exp, Unix seconds; required
  nlohmann::json extra = nlohmann::json::object();  // unregistered claims, e.g. "role"
};

// Longest token verify_hs256 looks at; anything longer is malformed.
inline constexpr std::size_t kMaxJwtLength = 8 * 1024;

// Returns the compact token `header.payload.signature` with header {"alg":"HS256","typ":"JWT"}.
// Empty strings and zero times are left out, except exp, which is always written. Throws
// std::invalid_argument for an empty secret, an `extra` that is not an object, or an `extra`
// naming a registered claim held in a field (sub, iss, aud, iat, nbf, exp). Throws
// nlohmann::json::type_error for a claim string that is not UTF-8.
std::string sign_hs256(const JwtClaims& claims, std::string_view secret);

enum class JwtFailure {
  malformed,  // not three base64url parts of JSON objects, bad claim types, typ not JWT, crit,
              // longer than kMaxJwtLength, no sub or an empty one (asked last)
  unsupported_algorithm,  // header alg is anything but HS256 (none, HS384, RS256, missing)
  bad_signature,          // signature does not match the secret (checked before the payload)
  expired,                // now >= exp + leeway
  missing_expiry,         // no exp claim
  not_yet_valid,          // now < nbf - leeway
  wrong_issuer,           // iss absent or not the expected issuer
  wrong_audience,  // aud absent, or neither equal to nor an array containing the expected one
  too_long_lived,  // exp further ahead than max_lifetime_seconds (+ leeway), when that is set
};

struct JwtVerifyOptions {
  std::string_view secret;
  std::string_view issuer;    // required; a token must carry exactly this iss
  std::string_view audience;  // required; a token's aud must be or contain this
  std::int64_t now_unix = 0;
  std::int64_t leeway_seconds = 0;  // clock skew allowed on exp and nbf; negative means 0
  // > 0: a token whose exp is further than this (+ leeway) from now is refused, whatever its
  // signer chose: the shop's own tokens of this kind never live longer (service credentials,
  // 60 s). 0: exp is taken as it is.
  std::int64_t max_lifetime_seconds = 0;
};

using JwtVerifyResult = std::variant<JwtClaims, JwtFailure>;

// Returns the token's claims, or the first reason it is refused: header (malformed,
// unsupported_algorithm), then signature, then payload (malformed, missing_expiry, expired,
// not_yet_valid, wrong_issuer, wrong_audience, too_long_lived, malformed for no subject).
// Never throws, whatever the input.
JwtVerifyResult verify_hs256(std::string_view token, const JwtVerifyOptions& options) noexcept;

// verify_hs256() for a caller that needs only the subject: on success assigns the token's sub
// to `subject` (reusing its storage) and returns nullopt, without copying the other claims;
// else returns the failure verify_hs256() would (and leaves `subject` alone).
std::optional<JwtFailure> verify_hs256_subject(std::string_view token,
                                               const JwtVerifyOptions& options,
                                               std::string& subject) noexcept;

// Returns a snake_case name for the failure, e.g. "bad_signature".
std::string_view to_string(JwtFailure failure) noexcept;

}  // namespace shopctl::platform::security
