// The simulated provider as an outside party: its /v1/* API answers only the shop's API key
// (never the shop's internal service credential), payment calls it with that key, and its
// webhooks survive a provider that stops right after settling a payment.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/server.hpp"
#include "shop/shop.hpp"

namespace {

namespace http = shopctl::http;
using nlohmann::json;
using namespace std::chrono_literals;
using shopctl::test_support::Answer;
using shopctl::test_support::eventually;
using shopctl::test_support::HeaderList;
using shopctl::test_support::send;

struct ProviderShop {
  explicit ProviderShop(shopctl::shop::ShopConfig config = {}) {
    config.outbox_initial_backoff = 50ms;
    config.outbox_max_backoff = 200ms;
    shop = shopctl::test_support::start_shop(std::move(config));
    http::BlockingClient client;
    token = shopctl::test_support::demo_token(client, *shop);
  }

  HeaderList key() const {
    return {{"Authorization", "Bearer " + shop->config().provider_api_key}};
  }
  Answer api(const std::string& method, const std::string& path,
             const std::optional<json>& body = {}) {
    return send(method, shop->url("gateway") + path, body, {{"Authorization", "Bearer " + token}});
  }
  Answer admin(const std::string& service, const std::string& method, const std::string& path,
               const std::optional<json>& body = {}) {
    return send(method, shop->url(service) + path, body, {{"X-Admin-Token", shop->admin_token()}});
  }
  // Puts one product in the cart and checks out: the new order's JSON.
  json checkout(const std::string& product_id) {
    REQUIRE(
        api("POST", "/api/cart/items", json{{"product_id", product_id}, {"quantity", 1}}).status ==
        200);
    auto order = api("POST", "/api/orders");
    REQUIRE(order.status == 201);
    return order.body;
  }

  std::unique_ptr<shopctl::shop::Shop> shop;
  std::string token;
};

std::string intent_id_of(const json& order) {
  const auto pay_url = order["payment"]["pay_url"].get<std::string>();
  return pay_url.substr(pay_url.rfind('/') + 1);
}

}  // namespace

TEST_CASE(
    "the provider's API refuses a missing or wrong API key, and the service credential, with 401") {
  ProviderShop t;
  const auto provider = t.shop->url("provider");
  const json intent = {{"payment_id", "pay_test_1"}, {"amount_cents", 1234}, {"currency", "EUR"}};

  auto none = send("POST", provider + "/v1/payment_intents", intent);
  CHECK(none.status == 401);
  CHECK(none.body["error"]["code"] == "invalid_api_key");

  auto wrong = send("POST", provider + "/v1/payment_intents", intent,
                    {{"Authorization", "Bearer sk_test_" + std::string(48, '0')}});
  CHECK(wrong.status == 401);
  CHECK(wrong.body["error"]["code"] == "invalid_api_key");

  auto not_bearer = send("POST", provider + "/v1/payment_intents", intent,
                         {{"Authorization", t.shop->config().provider_api_key}});
  CHECK(not_bearer.status == 401);

  // The scheme in any letter case (RFC 9110 11.1), as the gateway takes it (red before: 401).
  auto lower = send("POST", provider + "/v1/payment_intents",
                    json{{"payment_id", "pay_lower"}, {"amount_cents", 1}, {"currency", "EUR"}},
                    {{"Authorization", "bearer " + t.shop->config().provider_api_key}});
  CHECK(lower.status == 201);
  // A currency is an ISO 4217 code in capitals; an amount past 2^63 - 1 is refused as too
  // large, not read as negative (red before: "eur" and "EURO" were 201).
  for (const json& bad :
       {json{{"payment_id", "pay_cur_1"}, {"amount_cents", 100}, {"currency", "eur"}},
        json{{"payment_id", "pay_cur_2"}, {"amount_cents", 100}, {"currency", "EURO"}},
        json::parse(
            R"({"payment_id":"pay_big","amount_cents":9223372036854775808,"currency":"EUR"})")}) {
    CAPTURE(bad.dump());
    auto refused = send("POST", provider + "/v1/payment_intents", bad, t.key());
    CHECK(refused.status == 400);
    CHECK(refused.body["error"]["message"].get<std::string>().find("negative") ==
          std::string::npos);
  }

  // The payment service's own internal credential is not the provider's API key.
  auto minted = t.admin("gateway", "POST", "/_admin/credentials", json{{"service", "payment"}});
  REQUIRE(minted.status == 200);
  auto service_token = send("POST", provider + "/v1/payment_intents", intent,
                            {{"X-Service-Token", minted.body["token"].get<std::string>()}});
  CHECK(service_token.status == 401);
  CHECK(service_token.body["error"]["code"] == "invalid_api_key");

  auto created = send("POST", provider + "/v1/payment_intents", intent, t.key());
  REQUIRE(created.status == 201);
  const auto intent_id = created.body["intent_id"].get<std::string>();
  CHECK(created.body["event"].is_null());

  for (const auto& path : {"/v1/payment_intents/" + intent_id,
                           std::string("/v1/payment_intents?payment_id=pay_test_1"),
                           std::string("/v1/events/evt_x/resend")}) {
    const std::string method = path.find("resend") == std::string::npos ? "GET" : "POST";
    auto refused = send(method, provider + path);
    CHECK_MESSAGE(refused.status == 401, path);
    CHECK_MESSAGE(refused.body["error"]["code"] == "invalid_api_key", path);
  }

  auto by_id = send("GET", provider + "/v1/payment_intents/" + intent_id, std::nullopt, t.key());
  REQUIRE(by_id.status == 200);
  CHECK(by_id.body["status"] == "requires_payment");
  CHECK(by_id.body["payment_id"] == "pay_test_1");
  auto by_payment =
      send("GET", provider + "/v1/payment_intents?payment_id=pay_test_1", std::nullopt, t.key());
  REQUIRE(by_payment.status == 200);
  CHECK(by_payment.body["intent_id"] == intent_id);
  auto unknown = send("GET", provider + "/v1/payment_intents/pi_nope", std::nullopt, t.key());
  CHECK(unknown.status == 404);
  CHECK(unknown.body["error"]["code"] == "intent_not_found");
  auto no_query = send("GET", provider + "/v1/payment_intents", std::nullopt, t.key());
  CHECK(no_query.status == 400);

  // The shopper's pay page stays open to anyone.
  CHECK(send("GET", provider + "/pay/" + intent_id).status == 200);
}

TEST_CASE("a decided intent carries its event, as the webhook sent it") {
  ProviderShop t;
  auto order = t.checkout("p-002");
  const auto intent_id = intent_id_of(order);
  auto paid = send("POST", order["payment"]["pay_url"].get<std::string>(),
                   json{{"card_number", "4000000000000002"}});
  REQUIRE(paid.status == 200);
  auto intent = send("GET", t.shop->url("provider") + "/v1/payment_intents/" + intent_id,
                     std::nullopt, t.key());
  REQUIRE(intent.status == 200);
  CHECK(intent.body["status"] == "failed");
  CHECK(intent.body["event"]["event_id"] == paid.body["event_id"]);
  CHECK(intent.body["event"]["type"] == "payment.failed");
  CHECK(intent.body["event"]["payment_id"] == order["payment"]["payment_id"]);
  CHECK(intent.body["event"]["failure_reason"] == "card_declined");
  CHECK(intent.body["event"]["amount_cents"] == order["total_cents"]);
}

TEST_CASE(
    "payment calls the provider with the shop's API key and never with the internal credential") {
  ProviderShop t;
  // A recording stand-in takes the provider's port: it sees exactly what payment sends.
  const auto provider_url = t.shop->url("provider");
  const auto port =
      static_cast<std::uint16_t>(std::stoi(provider_url.substr(provider_url.rfind(':') + 1)));
  t.shop->stop_service("provider");

  std::mutex mu;
  std::vector<http::Headers> seen;
  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  http::ServerOptions options;
  options.name = "recording-provider";
  options.port = port;
  http::Server recorder(
      io, options, [&](http::Request& req) -> boost::asio::awaitable<http::Response> {
        {
          std::lock_guard lock(mu);
          seen.push_back(req.headers);
        }
        co_return http::Response::json(
            201, {{"intent_id", "pi_recorded"}, {"pay_url", "http://127.0.0.1:1/pay/pi_recorded"}});
      });
  recorder.start();
  std::thread runner([&] { io.run(); });
  struct Stop {
    http::Server& server;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type>& work;
    boost::asio::io_context& io;
    std::thread& thread;
    ~Stop() {
      server.stop();
      work.reset();
      io.stop();
      thread.join();
    }
  } stop{recorder, work, io, runner};

  auto order = t.checkout("p-003");
  CHECK(order["payment"]["pay_url"] == "http://127.0.0.1:1/pay/pi_recorded");
  std::lock_guard lock(mu);
  REQUIRE(seen.size() == 1);
  CHECK_FALSE(seen[0].contains("X-Service-Token"));
  REQUIRE(seen[0].get("Authorization"));
  CHECK(*seen[0].get("Authorization") == "Bearer " + t.shop->config().provider_api_key);
  CHECK(t.shop->config().provider_api_key.rfind("sk_test_", 0) == 0);
  CHECK(t.shop->config().provider_api_key.size() == 8 + 48);

  // The edge keeps its call record and breaker.
  auto calls = t.admin("gateway", "GET", "/_admin/calls?since=0");
  REQUIRE(calls.status == 200);
  int to_provider = 0;
  for (const auto& r : calls.body["records"]) {
    if (r.value("edge", "") == "payment->provider") {
      ++to_provider;
      CHECK(r["status"] == 201);
    }
  }
  CHECK(to_provider == 1);
  auto breakers = t.admin("payment", "GET", "/_admin/circuit-breakers");
  REQUIRE(breakers.status == 200);
  bool found = false;
  for (const auto& b : breakers.body["items"]) found = found || b["name"] == "payment->provider";
  CHECK(found);
}

TEST_CASE("an event settled but never delivered is delivered after the provider restarts") {
  shopctl::shop::ShopConfig config;
  config.reconcile_after = 10h;  // only the provider's own retry may make the order PAID here
  ProviderShop t(config);
  auto order = t.checkout("p-004");
  const auto intent_id = intent_id_of(order);
  const auto provider = t.shop->url("provider");

  // The webhook hangs at the gateway: the inline delivery is under way when the provider stops.
  REQUIRE(t.admin("gateway", "POST", "/_admin/faults",
                  json{{"id", "hang-webhook"},
                       {"target", "gateway"},
                       {"match", {{"method", "POST"}, {"path", "/api/payments/webhook"}}},
                       {"type", "hang"}})
              .status == 201);
  auto pay = std::async(std::launch::async, [&] {
    try {
      return send("POST", order["payment"]["pay_url"].get<std::string>(),
                  json{{"card_number", "4242424242424242"}});
    } catch (const std::exception&) {
      return Answer{};  // the provider went down under the request
    }
  });
  REQUIRE(eventually([&] {
    auto intent = send("GET", provider + "/v1/payment_intents/" + intent_id, std::nullopt, t.key());
    return intent.status == 200 && intent.body["status"] == "succeeded";
  }));
  t.shop->stop_service("provider");
  pay.wait();
  // Down for longer than one webhook attempt's time limit (2 s): the abandoned inline delivery
  // ends while provider.db is closed and cannot record anything, as after a crash.
  std::this_thread::sleep_for(2500ms);
  REQUIRE(t.admin("gateway", "DELETE", "/_admin/faults").status == 200);
  CHECK(t.api("GET", "/api/orders/" + order["order_id"].get<std::string>()).body["status"] ==
        "PAYMENT_PENDING");

  t.shop->start_service("provider");
  REQUIRE(t.admin("gateway", "POST", "/_admin/clock/advance", json{{"by", "5s"}}).status == 200);
  CHECK(eventually(
      [&] {
        return t.api("GET", "/api/orders/" + order["order_id"].get<std::string>()).body["status"] ==
               "PAID";
      },
      10s));
}

TEST_CASE("a payment whose webhooks never arrive is reconciled once from the provider") {
  ProviderShop t;
  auto order = t.checkout("p-005");
  const auto order_id = order["order_id"].get<std::string>();
  // Every webhook is refused before it reaches payment.
  REQUIRE(t.admin("gateway", "POST", "/_admin/faults",
                  json{{"target", "payment"},
                       {"from", "gateway"},
                       {"match", {{"method", "POST"}, {"path", "/payments/webhook"}}},
                       {"type", "abort"},
                       {"status", 503}})
              .status == 201);
  auto paid = send("POST", order["payment"]["pay_url"].get<std::string>(),
                   json{{"card_number", "4000000000009995"}});
  REQUIRE(paid.status == 200);
  CHECK(paid.body["webhook_delivered"] == false);

  // Before payment.reconcile.after (60 s) nobody asks.
  REQUIRE(t.admin("gateway", "POST", "/_admin/clock/advance", json{{"by", "30s"}}).status == 200);
  std::this_thread::sleep_for(500ms);
  CHECK(t.api("GET", "/api/orders/" + order_id).body["status"] == "PAYMENT_PENDING");

  REQUIRE(t.admin("gateway", "POST", "/_admin/clock/advance", json{{"by", "31s"}}).status == 200);
  CHECK(eventually([&] {
    auto after = t.api("GET", "/api/orders/" + order_id);
    return after.body["status"] == "FAILED" &&
           after.body["history"][1]["reason"] == "insufficient_funds";
  }));

  // The webhook arriving late after all is a duplicate: one transaction, one callback.
  REQUIRE(t.admin("gateway", "DELETE", "/_admin/faults").status == 200);
  auto resent = send("POST",
                     t.shop->url("provider") + "/v1/events/" +
                         paid.body["event_id"].get<std::string>() + "/resend",
                     std::nullopt, t.key());
  CHECK(resent.body["delivered"] == true);
  auto outbox = t.admin("payment", "GET", "/_admin/outbox");
  REQUIRE(outbox.status == 200);
  CHECK(outbox.body["depth"] == 0);
  CHECK(outbox.body["finished"]["acknowledged"] == 1);
  CHECK(t.api("GET", "/api/orders/" + order_id).body["history"].size() == 2);
}

// `since` is a sequence number in digits: std::stoull read "-5" as 2^64 - 5 (an empty list,
// 200) and took "+5" and " 5".
TEST_CASE("GET /_admin/calls takes since in digits only") {
  ProviderShop t;
  CHECK(t.admin("gateway", "GET", "/_admin/calls?since=0").status == 200);
  CHECK(t.admin("gateway", "GET", "/_admin/calls?since=18446744073709551615").status == 200);
  for (const char* bad : {"-5", "%2B5", "%205", "", "abc", "18446744073709551616"}) {
    CAPTURE(bad);
    auto answer = t.admin("gateway", "GET", std::string("/_admin/calls?since=") + bad);
    CHECK(answer.status == 400);
    CHECK(answer.body["error"]["code"] == "invalid_query");
  }
}

// only=transitions leaves the records out: `shopctl load` asks for the transitions alone at the
// end of a run, and the ring of up to 20,000 records made that answer several MB.
TEST_CASE("GET /_admin/calls?only=transitions answers the transitions without the records") {
  ProviderShop t;
  t.checkout("p-004");
  auto all = t.admin("gateway", "GET", "/_admin/calls?since=0");
  REQUIRE(all.status == 200);
  CHECK_FALSE(all.body["records"].empty());
  auto only = t.admin("gateway", "GET", "/_admin/calls?since=0&only=transitions");
  REQUIRE(only.status == 200);
  CHECK(only.body["records"].empty());
  CHECK(only.body["transitions"].is_array());
  CHECK(only.body["next_seq"] == all.body["next_seq"]);
  for (const char* bad : {"records", "", "transitions,records"}) {
    CAPTURE(bad);
    auto answer = t.admin("gateway", "GET", std::string("/_admin/calls?since=0&only=") + bad);
    CHECK(answer.status == 400);
    CHECK(answer.body["error"]["code"] == "invalid_query");
  }
}
