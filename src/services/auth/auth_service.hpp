#pragma once
// Auth: registration, login with Argon2id password hashes, HS256 access tokens, and login
// throttling (too many failures for one email within a window answer 429).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "platform/security/password.hpp"
#include "platform/service.hpp"
#include "platform/worker_pool.hpp"
#include "services/auth/auth_store.hpp"
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
  // Argon2id runs on these threads, never on the request threads or the database thread; past
  // password_queue waiting hashes, a login or registration answers 503 auth_busy.
  unsigned password_workers = 2;
  std::size_t password_queue = 64;
};

class AuthService : public platform::Service {
 public:
  AuthService(platform::ServiceContext& ctx, AuthSettings settings);
  ~AuthService() override;
  std::filesystem::path database_file() const override;

  // Changes the settings that apply at run time (Shop::apply_runtime_config; thread-safe):
  // tokens signed from then on live `token_ttl`, and logins are throttled with the new limits
  // at once (failures already counted stay counted). Tokens already issued keep their expiry.
  void set_runtime(std::chrono::seconds token_ttl, int login_max_failures,
                   std::chrono::seconds login_window);
  // Forgets the failed logins counted so far (the shop's reset); returns how many emails had
  // some.
  // The reset forgets both throttles' counts (docs/scenarios.md): returns how many emails and
  // client addresses had some.
  std::size_t forget_failed_logins() {
    return throttle_.forget_failures() + taken_throttle_.forget_failures();
  }

 private:
  void open_storage() override;
  void close_storage() override;

  // POST /register {email, password, name}: 201 {user_id, email, name}.
  boost::asio::awaitable<http::Response> register_user(http::Request& req);
  // POST /login {email, password}: 200 {access_token, token_type, expires_in}.
  boost::asio::awaitable<http::Response> login(http::Request& req);

  AuthSettings settings_;  // token_ttl and the throttle's limits: see the members below
  std::atomic<std::int64_t> token_ttl_seconds_;  // settings_.token_ttl, changed at run time
  AuthStore store_;
  // Hashes and verifies passwords (CPU work of tens of milliseconds each).
  boost::asio::awaitable<void> on_password_pool(std::function<void()> fn);
  const std::string& dummy_hash();

  LoginThrottle throttle_;
  // Registrations refused as email_taken, per client address (what the gateway says in
  // X-Client-Address), with the login throttle's limits: the 409 tells whether an account has
  // an email, and one client asked 2,600 emails a second (an outside probe). Past the limit a
  // registration from that address is 429 until the oldest refusal leaves the window.
  LoginThrottle taken_throttle_;
  platform::BoundedWorkerPool passwords_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // for unknown emails; made once, on first use
};

}  // namespace shopctl::auth
