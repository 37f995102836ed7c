#pragma once
// The gateway's pure rule: who the caller is, from the Authorization header of a request to a
// route that needs a signed-in user. No HTTP, no sockets.
#include <optional>
#include <string>
#include <string_view>

#include "platform/security/jwt.hpp"

namespace shopctl::gateway {

// The user an Authorization header vouches for: the subject of a valid HS256 access token sent
// as `Bearer <token>` (the scheme in any case). Throws DomainError unauthorized:
// `unauthenticated` when there is no header, `invalid_token` when it is not a Bearer token or
// the token is refused (details {reason}), `token_expired` when it has expired (details
// {reason: "expired"}).
std::string authenticated_user(std::optional<std::string_view> authorization,
                               const platform::security::JwtVerifyOptions& options);
// The same, into `user` (its storage reused); `user` is left alone when it throws.
void authenticated_user(std::optional<std::string_view> authorization,
                        const platform::security::JwtVerifyOptions& options, std::string& user);

}  // namespace shopctl::gateway
