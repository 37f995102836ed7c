#include "platform/security/random.hpp"

#include <sodium.h>

#include "platform/security/password.hpp"

namespace shopctl::platform::security {

std::string random_hex(std::size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex = to_hex(raw);
  sodium_memzero(raw.data(), raw.size());
  return hex;
}

std::string new_id(std::string_view prefix) {
  constexpr std::size_t kIdBytes = 12;
  std::string id(prefix);
  id += random_hex(kIdBytes);
  return id;
}

std::string to_hex(std::string_view bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    hex[2 * i] = kDigits[byte >> 4];
    hex[2 * i + 1] = kDigits[byte & 0x0F];
  }
  return hex;
}

}  // namespace shopctl::platform::security
