#pragma once
// HMAC-SHA256 and the encodings around it, shared by JWTs, webhook signatures and service
// credentials. Keyed OpenSSL MAC contexts are cached per thread, so the hot path (the
// gateway verifying a token per request) does no algorithm fetch and no key schedule.
#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace shopctl::platform::security {

inline constexpr std::size_t kSha256Bytes = 32;
using Sha256Digest = std::array<unsigned char, kSha256Bytes>;

// Returns HMAC-SHA256(key, concatenation of `parts`). Throws std::runtime_error only if
// OpenSSL itself fails (out of memory, no SHA-256 provider).
Sha256Digest hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts);

// Same, but reports an OpenSSL failure by returning false instead of throwing.
bool try_hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts,
                     Sha256Digest& out) noexcept;

// Compares two digests in time independent of where they differ.
bool digests_equal(const Sha256Digest& a, const Sha256Digest& b) noexcept;

// Returns `bytes` as base64url without padding (RFC 4648 section 5, as JWS uses it).
std::string base64url_encode(std::string_view bytes);

// Decodes unpadded base64url into `out` (its capacity is reused). Returns false for any
// character outside the alphabet, padding, an impossible length, or non-zero unused bits
// (so each byte string has exactly one accepted encoding).
bool base64url_decode(std::string_view text, std::string& out);

// Decodes exactly `size` bytes of unpadded base64url into `out`; false on any mismatch.
bool base64url_decode_exact(std::string_view text, unsigned char* out, std::size_t size) noexcept;

// Decodes exactly `size` bytes of hex (either case) into `out`; false on any mismatch.
bool hex_decode_exact(std::string_view text, unsigned char* out, std::size_t size) noexcept;

}  // namespace shopctl::platform::security
