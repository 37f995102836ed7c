#pragma once
// The DomainError a call throws, for the unit tests of the services' models.
#include <optional>
#include <utility>

#include "platform/domain_error.hpp"

namespace shopctl::test_support {

// The error `call()` throws, or nullopt when it returns.
template <typename Call>
std::optional<platform::DomainError> api_error_of(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const platform::DomainError& error) {
    return error;
  }
  return std::nullopt;
}

}  // namespace shopctl::test_support
