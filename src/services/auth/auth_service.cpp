#include "services/auth/auth_service.hpp"

#include <algorithm>

#include "platform/error.hpp"
#include "platform/json_body.hpp"
#include "platform/security/jwt.hpp"
#include "platform/security/random.hpp"

namespace shopctl::auth {

namespace asio = boost::asio;
namespace security = platform::security;
using http::Access;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql";

constexpr std::size_t kMaxPassword = 1024;

// The real Argon2id (t=2, m=19 MiB) hash of the default demo password, computed once offline:
// seeding the demo user then costs nothing at start-up, and logging in verifies it for real.
constexpr std::string_view kDefaultDemoPassword = "demo-password-1";
constexpr std::string_view kDefaultDemoHash =
    "$argon2id$v=19$m=19456,t=2,p=1$OKc4/dAUhc1wCAd5P611Gg$0/0Cpz2Vl5Rtoimk1mNGYqTPaUUBh9fwPyrQV4Z4byI";
constexpr std::size_t kMinPassword = 8;
}  // namespace

std::optional<std::string> normalize_email(std::string_view email) {
  while (!email.empty() && email.front() == ' ') email.remove_prefix(1);
  while (!email.empty() && email.back() == ' ') email.remove_suffix(1);
  if (email.empty() || email.size() > 254) return std::nullopt;
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos)
    return std::nullopt;
  auto domain = email.substr(at + 1);
  auto dot = domain.rfind('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size())
    return std::nullopt;
  std::string out;
  for (char c : email) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == ',')
      return std::nullopt;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

AuthService::AuthService(platform::ServiceContext& ctx, AuthSettings settings)
    : Service(ctx, "auth", settings.port),
      settings_(std::move(settings)),
      token_ttl_seconds_(settings_.token_ttl.count()),
      throttle_(ctx.clock, settings_.login_max_failures, settings_.login_window),
      passwords_(settings_.password_workers, settings_.password_queue) {
  auto from_gateway = Access::only({"gateway"});

  host_.routes().add("POST", "/register", from_gateway, [this](Request& req) -> asio::awaitable<Response> {
    auto body = platform::json_object_body(req);
    auto raw_email = platform::required_string(body, "email", 320);
    auto password = platform::required_string(body, "password", kMaxPassword);
    auto name = platform::required_string(body, "name", 200);
    auto email = normalize_email(raw_email);
    if (!email) throw ApiError(400, "invalid_email", "that is not a valid email address", {{"field", "email"}});
    if (password.size() < kMinPassword)
      throw ApiError(400, "weak_password", "the password needs at least 8 characters", {{"field", "password"}, {"min_length", kMinPassword}});
    if (name.find_first_not_of(" \t") == std::string::npos)
      throw ApiError(400, "invalid_field", "name must not be empty", {{"field", "name"}});
    std::string user_id = security::new_id("usr_");
    bool taken = false;
    co_await db_->run([&](platform::Database& db) {
      auto exists = db.prepare("SELECT 1 FROM users WHERE email = ?1");
      exists.bind(1, *email);
      taken = exists.step();
    });
    if (taken) throw ApiError(409, "email_taken", "an account with that email exists", {{"field", "email"}});
    std::string hash;
    co_await on_password_pool([&] { hash = security::hash_password(password, settings_.hashing); });
    co_await db_->run([&](platform::Database& db) {
      try {
        db.prepare("INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind_all(user_id, *email, name, hash, ctx_.clock.unix_seconds())
            .run();
      } catch (const platform::DatabaseError& e) {
        if (!e.is_constraint()) throw;
        taken = true;
      }
    });
    if (taken) throw ApiError(409, "email_taken", "an account with that email exists", {{"field", "email"}});
    co_return Response::json(201, {{"user_id", user_id}, {"email", *email}, {"name", name}});
  });

  host_.routes().add("POST", "/login", from_gateway, [this](Request& req) -> asio::awaitable<Response> {
    auto body = platform::json_object_body(req);
    auto raw_email = platform::required_string(body, "email", 320);
    auto password = platform::required_string(body, "password", kMaxPassword);
    auto email = normalize_email(raw_email).value_or(raw_email);
    // The attempt is reserved before the password is verified, so attempts in flight count.
    if (auto wait = throttle_.begin_attempt(email); wait > 0) {
      throw ApiError(429, "too_many_attempts",
                     "too many failed logins for this email; try again later",
                     {{"retry_after_seconds", wait}})
          .with_retry_after(static_cast<int>(wait));
    }
    std::optional<std::string> user_id, name;
    bool ok = false;
    try {
      std::string stored_hash;
      co_await db_->run([&](platform::Database& db) {
        auto st = db.prepare("SELECT id, name, password_hash FROM users WHERE email = ?1");
        st.bind(1, email);
        if (st.step()) {
          user_id = st.column_text(0);
          name = st.column_text(1);
          stored_hash = st.column_text(2);
        }
      });
      co_await on_password_pool([&] {
        // Unknown emails cost as much as wrong passwords.
        bool matches = security::verify_password(password, user_id ? stored_hash : dummy_hash());
        ok = matches && user_id.has_value();
      });
    } catch (...) {
      throttle_.end_attempt(email, LoginThrottle::Outcome::abandoned);
      throw;
    }
    if (!ok) {
      throttle_.end_attempt(email, LoginThrottle::Outcome::failure);
      throw ApiError(401, "invalid_credentials", "wrong email or password");
    }
    throttle_.end_attempt(email, LoginThrottle::Outcome::success);
    security::JwtClaims claims;
    claims.subject = *user_id;
    claims.issuer = settings_.issuer;
    claims.audience = settings_.audience;
    const std::int64_t ttl = token_ttl_seconds_.load();
    claims.issued_at = ctx_.clock.unix_seconds();
    claims.expires_at = claims.issued_at + ttl;
    claims.extra = {{"email", email}, {"name", *name}};
    co_return Response::json(200, {{"access_token", security::sign_hs256(claims, settings_.jwt_secret)},
                                   {"token_type", "Bearer"},
                                   {"expires_in", ttl}});
  });
}

AuthService::~AuthService() { stop(); }

void AuthService::set_runtime(std::chrono::seconds token_ttl, int login_max_failures,
                              std::chrono::seconds login_window) {
  token_ttl_seconds_.store(token_ttl.count());
  throttle_.set_limits(login_max_failures, login_window);
}

asio::awaitable<void> AuthService::on_password_pool(std::function<void()> fn) {
  try {
    co_await passwords_.run(std::move(fn));
  } catch (const platform::WorkerPoolFull&) {
    throw ApiError(503, "auth_busy", "too many logins are being checked; try again shortly")
        .with_retry_after(1);
  }
}

const std::string& AuthService::dummy_hash() {
  std::call_once(dummy_once_, [this] {
    dummy_hash_ = security::hash_password("not-a-real-password", settings_.hashing);
  });
  return dummy_hash_;
}

std::filesystem::path AuthService::database_file() const { return ctx_.data_dir / "auth.db"; }

void AuthService::open_storage() {
  if (!db_) {
    db_ = std::make_unique<platform::DatabaseWorker>(database_file(), ctx_.synchronous_for("auth"));
  } else {
    db_->reopen();
  }
  db_->run_sync([&](platform::Database& db) {
    db.migrate({kMigration1});
    if (!settings_.demo_user) return;
    auto email = normalize_email(settings_.demo_user->email).value_or(settings_.demo_user->email);
    auto exists = db.prepare("SELECT 1 FROM users WHERE email = ?1");
    exists.bind(1, email);
    if (exists.step()) return;
    db.prepare("INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind_all(security::new_id("usr_"), email, settings_.demo_user->name,
                  settings_.demo_user->password == kDefaultDemoPassword &&
                          settings_.hashing.ops_limit == security::PasswordHashing::owasp().ops_limit &&
                          settings_.hashing.mem_limit_bytes == security::PasswordHashing::owasp().mem_limit_bytes
                      ? std::string(kDefaultDemoHash)
                      : security::hash_password(settings_.demo_user->password, settings_.hashing),
                  ctx_.clock.unix_seconds())
        .run();
  });
}

void AuthService::close_storage() {
  if (db_) db_->close();
}

}  // namespace shopctl::auth
