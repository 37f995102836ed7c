#include "platform/idempotency_key.hpp"

#include <algorithm>
#include <string>

#include "platform/domain_error.hpp"

namespace shopctl::platform {

void validate_idempotency_key(std::string_view key) {
  const bool printable =
      std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength || !printable) {
    throw DomainError(
        ErrorKind::invalid, "invalid_idempotency_key",
        "Idempotency-Key must be 1 to " + std::to_string(kMaxIdempotencyKeyLength) +
            " printable ASCII characters",
        {{"header", std::string(kIdempotencyKeyHeader)}, {"max_length", kMaxIdempotencyKeyLength}});
  }
}

}  // namespace shopctl::platform
