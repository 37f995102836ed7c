#include "services/auth/auth_service.hpp"

#include <algorithm>

#include "platform/domain_error.hpp"
#include "platform/json_body.hpp"
#include "platform/security/jwt.hpp"
#include "platform/security/random.hpp"
#include "services/auth/auth_model.hpp"

namespace shopctl::auth {

namespace asio = boost::asio;
namespace security = platform::security;
using http::Access;
using http::Request;
using http::Response;
using platform::DomainError;
using platform::ErrorKind;

AuthService::AuthService(platform::ServiceContext& ctx, AuthSettings settings)
    : Service(ctx, "auth", settings.port),
      settings_(std::move(settings)),
      token_ttl_seconds_(settings_.token_ttl.count()),
      store_(ctx.data_dir / "auth.db", ctx.synchronous_for("auth")),
      throttle_(ctx.clock, settings_.login_max_failures, settings_.login_window),
      taken_throttle_(ctx.clock, settings_.login_max_failures, settings_.login_window),
      passwords_(settings_.password_workers, settings_.password_queue) {
  auto from_gateway = Access::only({"gateway"});
  host_.routes().add("POST", "/register", from_gateway,
                     [this](Request& req) { return register_user(req); });
  host_.routes().add("POST", "/login", from_gateway, [this](Request& req) { return login(req); });
}

asio::awaitable<Response> AuthService::register_user(Request& req) {
  auto body = platform::json_object_body(req);
  auto email = platform::required_string(body, "email", kMaxEmailFieldLength);
  auto password = platform::required_string(body, "password", kMaxPasswordLength);
  auto name = platform::required_string(body, "name", kMaxNameLength);
  Registration registration = validate_registration(email, std::move(password), std::move(name));
  const std::string client(req.headers.get("X-Client-Address").value_or("unknown"));
  if (auto wait = taken_throttle_.retry_after(client); wait > 0) {
    throw DomainError(ErrorKind::too_many, "too_many_attempts",
                      "too many registrations of emails that already have an account from this "
                      "client; try again later",
                      {{"retry_after_seconds", wait}})
        .with_retry_after(wait);
  }
  try {
    co_await store_.require_email_free(registration.email);
  } catch (const DomainError& e) {
    if (e.code() == "email_taken") taken_throttle_.record_failure(client);
    throw;
  }
  User user{security::new_id("usr_"), registration.email, registration.name, ""};
  co_await on_password_pool([&] {
    user.password_hash = security::hash_password(registration.password, settings_.hashing);
  });
  co_await store_.add_user(user, ctx_.clock.unix_seconds());
  co_return Response::json(201, {{"user_id", user.id}, {"email", user.email}, {"name", user.name}});
}

asio::awaitable<Response> AuthService::login(Request& req) {
  auto body = platform::json_object_body(req);
  auto raw_email = platform::required_string(body, "email", kMaxEmailFieldLength);
  auto password = platform::required_string(body, "password", kMaxPasswordLength);
  auto email = normalize_email(raw_email).value_or(raw_email);
  // The attempt is reserved before the password is verified, so attempts in flight count.
  if (auto wait = throttle_.begin_attempt(email); wait > 0) {
    throw DomainError(ErrorKind::too_many, "too_many_attempts",
                      "too many failed logins for this email; try again later",
                      {{"retry_after_seconds", wait}})
        .with_retry_after(wait);
  }
  std::optional<User> user;
  bool ok = false;
  try {
    user = co_await store_.find_by_email(email);
    co_await on_password_pool([&] {
      // Unknown emails cost as much as wrong passwords.
      bool matches = security::verify_password(password, user ? user->password_hash : dummy_hash());
      ok = matches && user.has_value();
    });
  } catch (...) {
    throttle_.end_attempt(email, LoginThrottle::Outcome::abandoned);
    throw;
  }
  if (!ok) {
    throttle_.end_attempt(email, LoginThrottle::Outcome::failure);
    throw DomainError(ErrorKind::unauthorized, "invalid_credentials", "wrong email or password");
  }
  throttle_.end_attempt(email, LoginThrottle::Outcome::success);
  const std::int64_t ttl = token_ttl_seconds_.load();
  const auto claims = access_token_claims(
      user->id, email, user->name, settings_.issuer, settings_.audience,
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.clock.now().time_since_epoch())
          .count(),
      ttl);
  auto answer =
      Response::json(200, {{"access_token", security::sign_hs256(claims, settings_.jwt_secret)},
                           {"token_type", "Bearer"},
                           {"expires_in", ttl}});
  // A token is not to be kept by any cache on the way (RFC 6749 5.1 asks this of every answer
  // that carries one).
  answer.headers.set("Cache-Control", "no-store");
  co_return answer;
}

AuthService::~AuthService() {
  stop();
}

void AuthService::set_runtime(std::chrono::seconds token_ttl, int login_max_failures,
                              std::chrono::seconds login_window) {
  token_ttl_seconds_.store(token_ttl.count());
  throttle_.set_limits(login_max_failures, login_window);
  taken_throttle_.set_limits(login_max_failures, login_window);
}

asio::awaitable<void> AuthService::on_password_pool(std::function<void()> fn) {
  try {
    co_await passwords_.run(std::move(fn));
  } catch (const platform::WorkerPoolFull&) {
    throw DomainError(ErrorKind::unavailable, "auth_busy",
                      "too many logins are being checked; try again shortly")
        .with_retry_after(1);
  }
}

const std::string& AuthService::dummy_hash() {
  std::call_once(dummy_once_, [this] {
    dummy_hash_ = security::hash_password("not-a-real-password", settings_.hashing);
  });
  return dummy_hash_;
}

std::filesystem::path AuthService::database_file() const {
  return store_.file();
}

void AuthService::open_storage() {
  store_.open();
  if (!settings_.demo_user) return;
  const auto& demo = *settings_.demo_user;
  User user{security::new_id("usr_"), normalize_email(demo.email).value_or(demo.email), demo.name,
            ""};
  store_.seed_user(
      std::move(user),
      [&] {
        auto known = precomputed_demo_hash(demo.password, settings_.hashing);
        return known ? *known : security::hash_password(demo.password, settings_.hashing);
      },
      ctx_.clock.unix_seconds());
}

void AuthService::close_storage() {
  store_.close();
}

}  // namespace shopctl::auth
