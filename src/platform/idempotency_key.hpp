#pragma once
// The Idempotency-Key header, one rule for every service that takes it (order's checkout,
// payment's create).
#include <cstddef>
#include <string_view>

namespace shopctl::platform {

inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
// The longest Idempotency-Key accepted.
inline constexpr std::size_t kMaxIdempotencyKeyLength = 200;

// Validates an Idempotency-Key header value: 1..200 printable ASCII characters (0x20-0x7E).
// Throws DomainError invalid `invalid_idempotency_key` with details {header, max_length}.
void validate_idempotency_key(std::string_view key);

}  // namespace shopctl::platform
