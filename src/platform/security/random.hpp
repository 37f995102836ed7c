#pragma once
// Unpredictable identifiers and secrets from the operating system's CSPRNG (libsodium).
#include <cstddef>
#include <string>
#include <string_view>

namespace shopctl::platform::security {

// Returns `bytes` random bytes as 2 * bytes lowercase hex characters.
std::string random_hex(std::size_t bytes);

// Returns `prefix` followed by 24 random hex characters (96 bits), e.g. "ord_3f9a...".
std::string new_id(std::string_view prefix);

// Returns `bytes` as lowercase hex.
std::string to_hex(std::string_view bytes);

}  // namespace shopctl::platform::security
