#pragma once
// Comparing secrets (the admin token, API keys) without an early exit: `==` stops at the first
// differing byte, so the answer's timing would tell a prober how much of its guess was right.
#include <string_view>

namespace shopctl::platform::security {

// Returns whether `given` equals `expected`. The time taken depends on the length of `given`
// (the caller's input) only, never on where the two differ or on `expected`'s content. False
// whenever `expected` is empty.
bool secrets_equal(std::string_view given, std::string_view expected) noexcept;

}  // namespace shopctl::platform::security
