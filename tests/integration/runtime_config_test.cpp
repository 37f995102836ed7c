// A running shop's run-time settings (docs/scenarios.md, "`config:` on a running shop"): each
// key POST /_admin/config takes besides the clients, breakers and outbox (auth.token_ttl,
// auth.login_throttle, order.payment_timeout, payment.webhook_tolerance, payment.reconcile,
// provider.webhook_retry) changes what the shop does from then on, and POST /_admin/reset puts
// the shop's own value back. Whole shop on ephemeral ports, real HTTP, the shop clock moved
// through the admin plane as `shopctl run --target` moves it.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/security/webhook_signature.hpp"
#include "shop/shop.hpp"

namespace {

namespace http = shopctl::http;
namespace test_support = shopctl::test_support;
using nlohmann::json;
using test_support::Answer;
using test_support::eventually;
using test_support::HeaderList;
using test_support::send;
using namespace std::chrono_literals;

// A shop driven only through its HTTP doors, as `shopctl run --target` drives one.
struct RunningShop {
  explicit RunningShop(shopctl::shop::ShopConfig config = {}) {
    shop = test_support::start_shop(std::move(config));
  }

  std::string gateway() const { return shop->url("gateway"); }
  HeaderList admin_token() const { return {{"X-Admin-Token", shop->admin_token()}}; }
  Answer admin(const std::string& method, const std::string& path,
               const std::optional<json>& body = {}) const {
    return send(method, gateway() + path, body, admin_token());
  }
  Answer config(const json& settings) const { return admin("POST", "/_admin/config", settings); }
  Answer reset() const { return admin("POST", "/_admin/reset", json::object()); }
  void advance_clock(const std::string& by) const {
    REQUIRE(admin("POST", "/_admin/clock/advance", json{{"by", by}}).status == 200);
  }

  Answer login(const std::string& email, const std::string& password) const {
    return send("POST", gateway() + "/api/auth/login",
                json{{"email", email}, {"password", password}});
  }
  // Signs the demo user in; the token.
  std::string demo_token() const {
    auto answer = login(shop->config().demo_email, shop->config().demo_password);
    REQUIRE(answer.status == 200);
    return answer.body["access_token"].get<std::string>();
  }
  Answer api(const std::string& token, const std::string& method, const std::string& path,
             const std::optional<json>& body = {}) const {
    return send(method, gateway() + path, body, {{"Authorization", "Bearer " + token}});
  }
  // Puts one product in `token`'s cart and checks out: the new order's JSON.
  json checkout(const std::string& token, const std::string& product_id) const {
    REQUIRE(api(token, "POST", "/api/cart/items", json{{"product_id", product_id}, {"quantity", 1}})
                .status == 200);
    auto order = api(token, "POST", "/api/orders");
    REQUIRE(order.status == 201);
    return order.body;
  }
  std::string order_status(const std::string& token, const json& order) const {
    auto answer = api(token, "GET", "/api/orders/" + order["order_id"].get<std::string>());
    REQUIRE(answer.status == 200);
    return answer.body["status"].get<std::string>();
  }
  // Every webhook delivery is refused before it reaches payment (a reset clears it).
  void refuse_webhooks() const {
    REQUIRE(admin("POST", "/_admin/faults",
                  json{{"target", "payment"},
                       {"from", "gateway"},
                       {"match", {{"method", "POST"}, {"path", "/payments/webhook"}}},
                       {"type", "abort"},
                       {"status", 503}})
                .status == 201);
  }
  Answer pay(const json& order) const {
    auto paid = send("POST", order["payment"]["pay_url"].get<std::string>(),
                     json{{"card_number", "4242424242424242"}});
    REQUIRE(paid.status == 200);
    return paid;
  }
  // The provider's webhook deliveries (inline and retries) since call record `seq`.
  int webhook_deliveries_since(std::uint64_t seq) const {
    int n = 0;
    for (const auto& call : shop->calls().since(seq)) {
      if (call.caller == "provider" && call.callee == "gateway") ++n;
    }
    return n;
  }

  std::unique_ptr<shopctl::shop::Shop> shop;
};

// A shop whose tokens outlive the clock moves of a test.
shopctl::shop::ShopConfig long_tokens() {
  shopctl::shop::ShopConfig config;
  config.token_ttl = std::chrono::hours(24);
  return config;
}

}  // namespace

TEST_CASE(
    "auth.token_ttl on a running shop: tokens signed after it expire at the new TTL; a reset "
    "restores the shop's own") {
  RunningShop t;  // 15 minutes
  auto applied = t.config(json{{"auth", {{"token_ttl", "2m"}}}});
  REQUIRE(applied.status == 200);

  auto login = t.login(t.shop->config().demo_email, t.shop->config().demo_password);
  REQUIRE(login.status == 200);
  CHECK(login.body["expires_in"] == 120);
  const auto short_token = login.body["access_token"].get<std::string>();
  CHECK(t.api(short_token, "GET", "/api/cart").status == 200);
  t.advance_clock("121s");
  auto expired = t.api(short_token, "GET", "/api/cart");
  CHECK(expired.status == 401);
  CHECK(expired.body["error"]["code"] == "token_expired");

  REQUIRE(t.reset().status == 200);
  auto again = t.login(t.shop->config().demo_email, t.shop->config().demo_password);
  REQUIRE(again.status == 200);
  CHECK(again.body["expires_in"] == 900);
  t.advance_clock("121s");
  CHECK(t.api(again.body["access_token"].get<std::string>(), "GET", "/api/cart").status == 200);
}

TEST_CASE(
    "auth.login_throttle on a running shop: logins are refused after the new max_failures for the "
    "new window; a reset restores the shop's own") {
  RunningShop t;  // 5 failures in 60 s
  const std::string email = "throttled@shop.test";
  REQUIRE(send("POST", t.gateway() + "/api/auth/register",
               json{{"email", email}, {"password", "correct-horse-battery"}, {"name", "T"}})
              .status == 201);
  REQUIRE(t.config(json{{"auth", {{"login_throttle", {{"max_failures", 2}, {"window", "10m"}}}}}})
              .status == 200);

  CHECK(t.login(email, "wrong-password-1").status == 401);
  CHECK(t.login(email, "wrong-password-2").status == 401);
  auto refused = t.login(email, "correct-horse-battery");
  CHECK(refused.status == 429);
  CHECK(refused.body["error"]["code"] == "too_many_attempts");
  // Until the oldest failure leaves the 10-minute window.
  CHECK(refused.body["error"]["details"]["retry_after_seconds"].get<int>() > 500);

  // The shop's own limits again; the reset forgets the failures counted so far (a run's wrong
  // passwords throttled the email for the scenarios after it): 5 new ones are needed.
  REQUIRE(t.reset().status == 200);
  for (int i = 3; i <= 6; ++i)
    CHECK(t.login(email, "wrong-password-" + std::to_string(i)).status == 401);
  CHECK(t.login(email, "wrong-password-7").status == 401);
  auto after_five = t.login(email, "correct-horse-battery");
  CHECK(after_five.status == 429);
  CHECK(after_five.body["error"]["details"]["retry_after_seconds"].get<int>() <= 61);
}

// A window of years: Retry-After wrapped at 2^31 s (633434608 beside a body that said
// 9223369200) or was left out (an outside probe). The header says what the body says.
TEST_CASE("a login throttle window of years gives a Retry-After equal to the body's wait") {
  RunningShop t;
  const std::string email = "patient@shop.test";
  REQUIRE(send("POST", t.gateway() + "/api/auth/register",
               json{{"email", email}, {"password", "correct-horse-battery"}, {"name", "P"}})
              .status == 201);
  REQUIRE(
      t.config(json{{"auth", {{"login_throttle", {{"max_failures", 1}, {"window", "700000h"}}}}}})
          .status == 200);
  CHECK(t.login(email, "wrong-password-1").status == 401);
  auto refused = t.login(email, "correct-horse-battery");
  REQUIRE(refused.status == 429);
  const auto wait = refused.body["error"]["details"]["retry_after_seconds"].get<std::int64_t>();
  CHECK(wait > std::int64_t{1} << 31);
  CHECK(refused.headers.get("Retry-After") == std::to_string(wait));
  REQUIRE(t.reset().status == 200);
}

TEST_CASE(
    "order.payment_timeout on a running shop: an unpaid order expires after the new timeout; a "
    "reset restores the shop's own") {
  RunningShop t(long_tokens());  // 30 minutes
  const auto token = t.demo_token();
  REQUIRE(t.config(json{{"order", {{"payment_timeout", "2m"}}}}).status == 200);

  auto first = t.checkout(token, "p-003");
  t.advance_clock("121s");
  CHECK(eventually([&] { return t.order_status(token, first) == "FAILED"; }));
  auto expired = t.api(token, "GET", "/api/orders/" + first["order_id"].get<std::string>());
  CHECK(expired.body["history"][1]["reason"] == "payment_expired");

  REQUIRE(t.reset().status == 200);
  auto second = t.checkout(token, "p-004");
  t.advance_clock("121s");
  std::this_thread::sleep_for(800ms);  // three passes of the expiry (every 250 ms)
  CHECK(t.order_status(token, second) == "PAYMENT_PENDING");
  t.advance_clock("30m");
  CHECK(eventually([&] { return t.order_status(token, second) == "FAILED"; }));
}

TEST_CASE(
    "payment.webhook_tolerance on a running shop: an event signed longer ago is stale; a reset "
    "restores the shop's own") {
  RunningShop t;  // 300 s
  REQUIRE(t.config(json{{"payment", {{"webhook_tolerance", "10s"}}}}).status == 200);
  const std::string event = json{{"event_id", "evt_tolerance"}, {"type", "payment.succeeded"},
                                 {"payment_id", "pay_unknown"}, {"amount_cents", 100},
                                 {"currency", "EUR"},           {"failure_reason", nullptr}}
                                .dump();
  const HeaderList signed_20s_ago = {
      {"Payment-Signature",
       shopctl::platform::security::sign_webhook(t.shop->config().webhook_secret,
                                                 t.shop->clock().unix_seconds() - 20, event)}};
  auto stale =
      send("POST", t.gateway() + "/api/payments/webhook", std::nullopt, signed_20s_ago, event);
  CHECK(stale.status == 400);
  CHECK(stale.body["error"]["code"] == "stale_event");
  CHECK(stale.body["error"]["details"]["tolerance_seconds"] == 10);

  REQUIRE(t.reset().status == 200);
  // Within 300 s: the signature holds, and the event is judged on its content.
  auto judged =
      send("POST", t.gateway() + "/api/payments/webhook", std::nullopt, signed_20s_ago, event);
  CHECK(judged.status == 404);
  CHECK(judged.body["error"]["code"] == "payment_not_found");
}

TEST_CASE(
    "payment.reconcile.after on a running shop: a payment whose webhook is lost is reconciled "
    "after the new wait; a reset restores the shop's own") {
  RunningShop t(long_tokens());  // 60 s
  const auto token = t.demo_token();
  REQUIRE(t.config(json{{"payment", {{"reconcile", {{"after", "5s"}}}}}}).status == 200);
  t.refuse_webhooks();
  auto first = t.checkout(token, "p-005");
  CHECK(t.pay(first).body["webhook_delivered"] == false);
  t.advance_clock("6s");
  CHECK(eventually([&] { return t.order_status(token, first) == "PAID"; }));

  REQUIRE(t.reset().status == 200);  // clears the fault too
  t.refuse_webhooks();
  auto second = t.checkout(token, "p-006");
  CHECK(t.pay(second).body["webhook_delivered"] == false);
  t.advance_clock("6s");
  std::this_thread::sleep_for(800ms);  // four passes of reconciliation (every 200 ms)
  CHECK(t.order_status(token, second) == "PAYMENT_PENDING");
  t.advance_clock("60s");
  CHECK(eventually([&] { return t.order_status(token, second) == "PAID"; }));
}

TEST_CASE(
    "provider.webhook_retry on a running shop: failed webhooks are retried and given up by the new "
    "schedule; a reset restores the shop's own") {
  auto config = long_tokens();
  config.reconcile_after = std::chrono::hours(10);  // only the provider's retries act here
  RunningShop t(config);                            // 1 s doubling, at most 1 h, for 72 h
  const auto token = t.demo_token();
  REQUIRE(
      t
          .config(json{
              {"provider",
               {{"webhook_retry",
                 {{"initial_backoff", "30s"}, {"max_backoff", "40s"}, {"give_up_after", "2m"}}}}}})
          .status == 200);
  t.refuse_webhooks();
  auto first = t.checkout(token, "p-007");
  auto seq = t.shop->calls().next_seq();
  CHECK(t.pay(first).body["webhook_delivered"] == false);
  CHECK(t.webhook_deliveries_since(seq) == 1);

  // Not after 1, 2 and 4 s: the first retry waits 30 s.
  t.advance_clock("5s");
  std::this_thread::sleep_for(600ms);  // six passes of the provider's poller (every 100 ms)
  CHECK(t.webhook_deliveries_since(seq) == 1);
  t.advance_clock("26s");  // 31 s after settlement
  CHECK(eventually([&] { return t.webhook_deliveries_since(seq) == 2; }));
  t.advance_clock("41s");  // 72 s: the next wait was 40 s (max_backoff), not 60
  CHECK(eventually([&] { return t.webhook_deliveries_since(seq) == 3; }));
  t.advance_clock("41s");  // 113 s: this attempt fails, and the next would come after 2 m
  CHECK(eventually([&] { return t.webhook_deliveries_since(seq) == 4; }));
  CHECK(eventually([&] {
    auto report =
        send("GET", t.shop->url("provider") + "/_admin/webhooks", std::nullopt, t.admin_token());
    return report.body["given_up"]["count"] == 1 && report.body["retrying"] == 0;
  }));

  REQUIRE(t.reset().status == 200);  // clears the fault too
  t.refuse_webhooks();
  auto second = t.checkout(token, "p-009");
  seq = t.shop->calls().next_seq();
  CHECK(t.pay(second).body["webhook_delivered"] == false);
  t.advance_clock("2s");  // the shop's own first retry comes after 1 s
  CHECK(eventually([&] { return t.webhook_deliveries_since(seq) >= 2; }));
  auto report =
      send("GET", t.shop->url("provider") + "/_admin/webhooks", std::nullopt, t.admin_token());
  CHECK(report.body["retrying"] == 1);
  CHECK(report.body["given_up"]["count"] == 1);
}

TEST_CASE(
    "a running shop still refuses auth.password_hashing, naming it, and then applies nothing of "
    "the request") {
  RunningShop t;
  auto refused = t.config(json{{"auth", {{"token_ttl", "1m"}, {"password_hashing", "fast"}}}});
  CHECK(refused.status == 422);
  CHECK(refused.body["error"]["code"] == "config_not_runtime");
  CHECK(refused.body["error"]["message"].get<std::string>().find("auth.password_hashing") !=
        std::string::npos);
  CHECK(refused.body["error"]["details"]["refused"].size() == 1);
  auto login = t.login(t.shop->config().demo_email, t.shop->config().demo_password);
  REQUIRE(login.status == 200);
  CHECK(login.body["expires_in"] == 900);
}

// order.catalog_client.timeout: 40s was taken at run time: the gateway answered 504 after its
// 10 s while order went on waiting for the catalog, and the item was added to the cart after
// the shopper was told it failed. A client timeout not shorter than the gateway's deadline is
// refused with both values named, and nothing of the request applies.
TEST_CASE("a running shop refuses a client timeout not shorter than the gateway's deadline") {
  RunningShop t;
  auto refused = t.config(json{{"order", {{"catalog_client", {{"timeout", "40s"}}}}}});
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["code"] == "invalid_config");
  const auto message = refused.body["error"]["message"].get<std::string>();
  INFO(message);
  CHECK(message.find("order.catalog_client.timeout (40s, one attempt) must be shorter than the "
                     "gateway's upstream deadline gateway.upstream_timeout (10s)") !=
        std::string::npos);
  CHECK(t.config(json{{"payment", {{"provider_client", {{"timeout", "10s"}}}}}}).status == 400);
  CHECK(t.shop->config().order_catalog_client.timeout == std::chrono::seconds(1));
  CHECK(t.config(json{{"order", {{"catalog_client", {{"timeout", "9s"}}}}}}).status == 200);
}

// payment.webhook_tolerance was cut to whole seconds: 500ms, 1ms and 0s became 0 s, and a
// webhook signed a second before was stale; 1500ms became 1 s (an outside probe). A duration
// past what one holds was "not a duration" (as if misspelled). Both are said as they are.
TEST_CASE("a running shop refuses a webhook tolerance that is not whole seconds, and says so") {
  RunningShop t;
  for (const char* tolerance : {"0s", "1ms", "500ms", "1500ms"}) {
    CAPTURE(tolerance);
    auto refused = t.config(json{{"payment", {{"webhook_tolerance", tolerance}}}});
    CHECK(refused.status == 400);
    CHECK(refused.body["error"]["message"].get<std::string>().find(
              "payment.webhook_tolerance must be whole seconds, at least 1s") != std::string::npos);
  }
  CHECK(t.shop->config().webhook_tolerance == std::chrono::seconds(300));
  CHECK(t.config(json{{"payment", {{"webhook_tolerance", "2000ms"}}}}).status == 200);
  auto too_long = t.config(json{{"auth", {{"token_ttl", "2562048h"}}}});
  CHECK(too_long.status == 400);
  CHECK(too_long.body["error"]["message"].get<std::string>().find("'2562048h' is too long") !=
        std::string::npos);
  auto far = t.admin("POST", "/_admin/clock/advance", json{{"by", "9223372036854775807ms"}});
  CHECK(far.status == 400);
  CHECK(far.body["error"]["message"] == "by is too long: the clock moves at most 100 years ahead");
}
