#pragma once
// Auth: registration, login with Argon2id password hashes, HS256 access tokens, and login
// throttling (too many failures for one email within a window answer 429).
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "platform/security/password.hpp"
#include "platform/service.hpp"
#include "platform/store/database.hpp"
#include "services/auth/login_throttle.hpp"

namespace shopctl::auth {

struct AuthSettings {
  std::uint16_t port = 0;
  std::string jwt_secret;
  std::string issuer = "shopctl-auth";
  std::string audience = "shopctl";
  std::chrono::seconds token_ttl{900};
  platform::security::PasswordHashing hashing = platform::security::PasswordHashing::owasp();
  int login_max_failures = 5;
  std::chrono::seconds login_window{60};
  struct DemoUser {
    std::string email, password, name;
  };
  std::optional<DemoUser> demo_user;
};

class AuthService : public platform::Service {
 public:
  AuthService(platform::ServiceContext& ctx, AuthSettings settings);
  ~AuthService() override;
  std::filesystem::path database_file() const override;

 private:
  void open_storage() override;
  void close_storage() override;

  AuthSettings settings_;
  std::unique_ptr<platform::DatabaseWorker> db_;
  LoginThrottle throttle_;
  std::string dummy_hash_;  // touched only on the database thread; for unknown emails
};

// Returns the email in canonical form (trimmed, lower case), or nullopt when it is not a
// plausible address (local@domain.tld, at most 254 characters, no spaces).
std::optional<std::string> normalize_email(std::string_view email);

}  // namespace shopctl::auth
