#pragma once
// The HTTP layer's spelling of a domain error: an ApiError is a DomainError named by its HTTP
// status, for code that speaks HTTP anyway (request parsing, routes, the admin plane). Stores
// and models throw DomainError (platform/domain_error.hpp) and know no status; both are
// rendered by platform/error_mapping.
#include <string>

#include <nlohmann/json.hpp>

#include "platform/domain_error.hpp"
#include "platform/error_mapping.hpp"

namespace shopctl::platform {

class ApiError : public DomainError {
 public:
  // `status` must be one that error_mapping maps back to a kind (every 4xx and 5xx the shop
  // answers with); another is treated as 500.
  ApiError(int status, std::string code, std::string message,
           nlohmann::json details = nlohmann::json::object())
      : DomainError(kind_for_status(status), std::move(code), std::move(message),
                    std::move(details)) {}

  int status() const { return http_status(kind()); }
  ApiError& with_retry_after(std::int64_t seconds) {
    DomainError::with_retry_after(seconds);
    return *this;
  }
};

}  // namespace shopctl::platform
