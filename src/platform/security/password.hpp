#pragma once
// Password hashing with Argon2id (libsodium), in the PHC string format
// `$argon2id$v=19$m=...,t=...,p=1$salt$hash`, so the parameters travel with each hash.
#include <cstddef>
#include <string>
#include <string_view>

namespace shopctl::platform::security {

// Initialises libsodium once per process; safe to call from any thread, any number of times.
// Throws std::runtime_error if libsodium cannot initialise.
void ensure_sodium();

// Argon2id cost parameters.
struct PasswordHashing {
  unsigned long long ops_limit;  // passes over memory (Argon2 t)
  std::size_t mem_limit_bytes;   // memory per hash (Argon2 m)

  // OWASP's minimum for Argon2id: t=2, m=19 MiB.
  static PasswordHashing owasp();
  // As cheap as libsodium allows (t=1, m=1 MiB); for tests only.
  static PasswordHashing fast_for_tests();
};

// Returns an Argon2id hash of `password` with a fresh random salt. Throws std::runtime_error
// if hashing fails (out of memory, parameters outside libsodium's limits).
std::string hash_password(std::string_view password, const PasswordHashing& cost);

// Returns whether `password` matches `stored_hash`. False for anything that is not an
// Argon2id hash string (empty, truncated, another algorithm). Never throws.
bool verify_password(std::string_view password, std::string_view stored_hash) noexcept;

// Returns whether `stored_hash` was made with parameters other than `cost` (or is not an
// Argon2id hash at all), so a successful login should store a new hash.
bool password_needs_rehash(std::string_view stored_hash, const PasswordHashing& cost) noexcept;

}  // namespace shopctl::platform::security
