#include "platform/security/password.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace shopctl::platform::security {
namespace {

constexpr std::string_view kArgon2idPrefix = "$argon2id$";

// Copies a stored hash into a NUL-terminated buffer, as libsodium expects. Returns false if
// it cannot be an Argon2id hash string.
bool terminated_copy(std::string_view stored_hash,
                     std::array<char, crypto_pwhash_STRBYTES>& buffer) noexcept {
  if (stored_hash.size() >= buffer.size() || !stored_hash.starts_with(kArgon2idPrefix) ||
      stored_hash.find('\0') != std::string_view::npos) {
    return false;
  }
  std::copy(stored_hash.begin(), stored_hash.end(), buffer.begin());
  buffer[stored_hash.size()] = '\0';
  return true;
}

}  // namespace

void ensure_sodium() {
  // A function-local static is initialised exactly once, even with concurrent callers.
  static const int status = sodium_init();
  if (status < 0) throw std::runtime_error("libsodium failed to initialise");
}

PasswordHashing PasswordHashing::owasp() {
  return {2, std::size_t{19} * 1024 * 1024};
}

PasswordHashing PasswordHashing::fast_for_tests() {
  return {crypto_pwhash_OPSLIMIT_MIN,
          std::max<std::size_t>(std::size_t{1024} * 1024, crypto_pwhash_MEMLIMIT_MIN)};
}

std::string hash_password(std::string_view password, const PasswordHashing& cost) {
  ensure_sodium();
  std::array<char, crypto_pwhash_STRBYTES> buffer{};
  if (crypto_pwhash_str_alg(buffer.data(), password.data(), password.size(), cost.ops_limit,
                            cost.mem_limit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("Argon2id password hashing failed (out of memory or bad limits)");
  }
  return std::string(buffer.data());
}

bool verify_password(std::string_view password, std::string_view stored_hash) noexcept {
  try {
    ensure_sodium();
  } catch (...) {
    return false;
  }
  std::array<char, crypto_pwhash_STRBYTES> buffer{};
  if (!terminated_copy(stored_hash, buffer)) return false;
  return crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view stored_hash, const PasswordHashing& cost) noexcept {
  try {
    ensure_sodium();
  } catch (...) {
    return true;
  }
  std::array<char, crypto_pwhash_STRBYTES> buffer{};
  if (!terminated_copy(stored_hash, buffer)) return true;
  return crypto_pwhash_str_needs_rehash(buffer.data(), cost.ops_limit, cost.mem_limit_bytes) != 0;
}

}  // namespace shopctl::platform::security
