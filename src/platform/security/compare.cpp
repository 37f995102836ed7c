#include "platform/security/compare.hpp"

namespace shopctl::platform::security {

bool secrets_equal(std::string_view given, std::string_view expected) noexcept {
  if (expected.empty()) return false;
  // Every byte of `given` is compared (against `expected` repeated), and differences are
  // accumulated rather than returned early; the length mismatch is folded in the same way.
  unsigned difference = given.size() == expected.size() ? 0u : 1u;
  std::size_t j = 0;
  for (char c : given) {
    difference |= static_cast<unsigned char>(c) ^ static_cast<unsigned char>(expected[j]);
    j = j + 1 == expected.size() ? 0 : j + 1;
  }
  // Keeps the compiler from turning the loop into an early exit on the accumulated value.
  volatile unsigned settled = difference;
  return settled == 0;
}

}  // namespace shopctl::platform::security
