#pragma once
// For unit tests of pure rules: the code of the domain error a call throws.
#include <string>

#include "platform/domain_error.hpp"

namespace shopctl::testing {

// Runs `fn` and returns the code of the DomainError it throws, or "no error".
std::string error_code_of(auto&& fn) {
  try {
    fn();
  } catch (const platform::DomainError& e) {
    return e.code();
  }
  return "no error";
}

}  // namespace shopctl::testing
