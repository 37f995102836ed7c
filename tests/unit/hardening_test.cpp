// Unit tests of the hardening's pure logic (issue 11): the bounded LRU table, the login
// throttle's table and its reservations, the config's refusal of short secrets, the secret
// comparison and the call log's bounded text.
#include <doctest/doctest.h>

#include <string>

#include <yaml-cpp/yaml.h>

#include "platform/clock.hpp"
#include "platform/lru_map.hpp"
#include "platform/observe/call_log.hpp"
#include "platform/security/compare.hpp"
#include "services/auth/login_throttle.hpp"
#include "shop/config.hpp"

namespace {
using namespace std::chrono_literals;
using shopctl::auth::LoginThrottle;
using shopctl::platform::ManualClock;
}  // namespace

TEST_CASE("a flood of other emails does not reset the count of an email under attack") {
  ManualClock clock;
  LoginThrottle throttle(clock, 5, 60s);
  for (int i = 0; i < 5; ++i) throttle.record_failure("victim@shop.test");
  REQUIRE(throttle.retry_after("victim@shop.test") > 0);
  // The attacker keeps trying the victim while spraying 100,001 other emails.
  for (int i = 0; i <= 100'000; ++i) {
    throttle.record_failure("spray" + std::to_string(i) + "@shop.test");
    if (i % 1000 == 0) CHECK(throttle.retry_after("victim@shop.test") > 0);
  }
  CHECK(throttle.retry_after("victim@shop.test") > 0);
}

TEST_CASE("secrets shorter than 32 bytes are refused in config, each with its key") {
  for (std::string key :
       {"jwt_secret", "service_key", "webhook_secret", "admin_token", "provider_api_key"}) {
    CAPTURE(key);
    shopctl::shop::ShopConfig config;
    auto issues = shopctl::shop::apply_config(
        YAML::Load("secrets: {" + key + ": short-secret-0123456789}"), config);
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].message.find("secrets." + key) != std::string::npos);
    CHECK(issues[0].message.find("32") != std::string::npos);
    shopctl::shop::ShopConfig long_enough;
    CHECK(shopctl::shop::apply_config(
              YAML::Load("secrets: {" + key + ": a-secret-of-32-bytes-0123456789ab}"), long_enough)
              .empty());
  }
}

TEST_CASE("the call log keeps at most 512 bytes of a route or method, whatever a client sent") {
  shopctl::platform::CallLog log(4);
  shopctl::platform::CallRecord huge;
  huge.caller = "client";
  huge.callee = "catalog";
  huge.method = std::string(10'000, 'M');
  huge.route = "/" + std::string(100'000, 'x');
  log.record(huge);
  auto records = log.since(0);
  REQUIRE(records.size() == 1);
  CHECK(records[0].route.size() <= 512);
  CHECK(records[0].method.size() <= 512);
  CHECK(records[0].route.starts_with("/xxx"));
}

TEST_CASE("an LRU map full of keys forgets only the least recently used one") {
  shopctl::platform::LruMap<int> map(3);
  map.touch("a") = 1;
  map.touch("b") = 2;
  map.touch("c") = 3;
  REQUIRE(map.find("a") != nullptr);  // a is now the most recently used
  map.touch("d") = 4;                 // evicts b
  CHECK(map.size() == 3);
  CHECK(map.find("b") == nullptr);
  CHECK(*map.find("a") == 1);
  CHECK(*map.find("c") == 3);
  CHECK(*map.find("d") == 4);
  CHECK(map.erase("c"));
  CHECK_FALSE(map.erase("c"));
  map.touch("e");
  map.touch("f");  // evicts a (least recently found)
  CHECK(map.find("a") == nullptr);
  CHECK(map.size() == 3);
}

TEST_CASE("attempts in flight count against the throttle; abandoned ones are given back") {
  ManualClock clock;
  LoginThrottle throttle(clock, 5, 60s);
  const std::string email = "victim@shop.test";
  for (int i = 0; i < 5; ++i) CHECK(throttle.begin_attempt(email) == 0);
  CHECK(throttle.begin_attempt(email) > 0);  // five in flight: no sixth verdict
  throttle.end_attempt(email, LoginThrottle::Outcome::abandoned);
  CHECK(throttle.begin_attempt(email) == 0);  // the abandoned one was given back
  for (int i = 0; i < 5; ++i) throttle.end_attempt(email, LoginThrottle::Outcome::failure);
  CHECK(throttle.begin_attempt(email) > 0);
  clock.advance(61s);
  CHECK(throttle.begin_attempt(email) == 0);
  throttle.end_attempt(email, LoginThrottle::Outcome::success);
  CHECK(throttle.retry_after(email) == 0);
}

TEST_CASE("the throttle's limits change at run time and judge the failures already counted") {
  ManualClock clock;
  LoginThrottle throttle(clock, 5, 60s);
  const std::string email = "victim@shop.test";
  for (int i = 0; i < 4; ++i) {
    throttle.record_failure(email);
    clock.advance(10s);
  }
  CHECK(throttle.retry_after(email) == 0);  // 4 of 5, at 0, 10, 20 and 30 s
  throttle.set_limits(2, 10min);
  CHECK(throttle.retry_after(email) == 581);  // until the one at 20 s is 10 min old
  throttle.set_limits(2, 60s);
  // Two failures must leave the window before the email may try again: until the one at
  // 20 s leaves it, at 80 s (now is 40 s), not the oldest one at 0 s.
  CHECK(throttle.retry_after(email) == 41);
  clock.advance(30s);
  CHECK(throttle.retry_after(email) == 11);
  throttle.set_limits(5, 60s);  // the shop's own limits again
  CHECK(throttle.retry_after(email) == 0);
}

TEST_CASE("the throttle table stays bounded: the least recently tried email is forgotten") {
  ManualClock clock;
  LoginThrottle throttle(clock, 1, 60s, 2);
  throttle.record_failure("a@shop.test");
  throttle.record_failure("b@shop.test");
  CHECK(throttle.retry_after("a@shop.test") > 0);  // a is touched, b is now the oldest
  throttle.record_failure("c@shop.test");
  CHECK(throttle.retry_after("a@shop.test") > 0);
  CHECK(throttle.retry_after("b@shop.test") == 0);
  CHECK(throttle.retry_after("c@shop.test") > 0);
}

TEST_CASE("secrets compare equal only when equal, whatever their lengths") {
  using shopctl::platform::security::secrets_equal;
  const std::string secret = "adm_0123456789abcdef0123456789abcdef";
  CHECK(secrets_equal(secret, secret));
  CHECK_FALSE(secrets_equal(secret + "x", secret));
  CHECK_FALSE(secrets_equal(secret.substr(0, secret.size() - 1), secret));
  CHECK_FALSE(secrets_equal("", secret));
  CHECK_FALSE(secrets_equal("", ""));
  std::string last_differs = secret;
  last_differs.back() = 'X';
  CHECK_FALSE(secrets_equal(last_differs, secret));
  // A guess that repeats the secret twice is not the secret.
  CHECK_FALSE(secrets_equal(secret + secret, secret));
}

TEST_CASE("call-log slots give back the storage of an oversized string") {
  shopctl::platform::CallLog log(8);
  for (int i = 0; i < 8; ++i) {
    shopctl::platform::CallRecord r;
    r.caller = "client";
    r.callee = "gateway";
    r.route = "/" + std::string(200'000, 'x');
    r.method = std::string(50'000, 'M');
    log.record(std::move(r));
  }
  for (int i = 0; i < 8; ++i) {
    shopctl::platform::CallRecord r;
    r.caller = "gateway";
    r.callee = "catalog";
    r.route = "/products";
    r.method = "GET";
    log.record(std::move(r));
  }
  CHECK(log.retained_text_bytes() < 8 * 8 * 1100);
}
