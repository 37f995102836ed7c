// Integration tests of the money contract's expiry side (docs/money.md): one checkout per
// cart, the expiry of unpaid orders, a capture that beats the expiry, and the start-up
// recovery of a checkout cut short. A whole shop on ephemeral loopback ports, driven over real
// HTTP through the gateway, the provider's pay page and the admin plane.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "chaos/invariants.hpp"
#include "chaos/store_reader.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/http/blocking_client.hpp"
#include "shop/shop.hpp"

namespace {

namespace http = shopctl::http;
namespace test_support = shopctl::test_support;
using nlohmann::json;
using shopctl::platform::Fault;
using shopctl::platform::FaultType;
using test_support::Answer;
using test_support::send;
using namespace std::chrono_literals;

// Runs `sql` on a running shop's database through a connection of the test's own (a trigger
// that plays a full disk, say).
void exec_sql(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// A shop with the demo user signed in and short outbox waits. The token outlives the clock
// moves of these tests.
struct Shopper {
  explicit Shopper(shopctl::shop::ShopConfig config = {}) {
    config.outbox_initial_backoff = 50ms;
    config.outbox_max_backoff = 200ms;
    config.token_ttl = 24h;
    shop = test_support::start_shop(std::move(config));
    http::BlockingClient client;
    token = test_support::demo_token(client, *shop);
  }

  Answer api(const std::string& method, const std::string& path,
             const std::optional<json>& body = {}, test_support::HeaderList headers = {}) const {
    headers.emplace_back("Authorization", "Bearer " + token);
    return send(method, shop->url("gateway") + path, body, headers);
  }

  void add_to_cart(const std::string& product_id, int quantity) const {
    REQUIRE(api("POST", "/api/cart/items", json{{"product_id", product_id}, {"quantity", quantity}})
                .status == 200);
  }

  json order(const std::string& order_id) const {
    auto answer = api("GET", "/api/orders/" + order_id);
    REQUIRE(answer.status == 200);
    return answer.body;
  }

  // Polls `check` every 50 ms until it holds or `within` passes.
  static bool eventually(const std::function<bool()>& check,
                         std::chrono::milliseconds within = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      if (check()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return check();
  }

  std::unique_ptr<shopctl::shop::Shop> shop;
  std::string token;
};

Fault fault(std::string target, std::string from, std::string method, std::string path,
            FaultType type) {
  Fault f;
  f.target = std::move(target);
  f.from = std::move(from);
  f.method = std::move(method);
  f.path = std::move(path);
  f.type = type;
  return f;
}

// Sends `count` checkouts at once (each on its own connection and thread); `key(i)` gives the
// i-th request's Idempotency-Key, or "" for none.
std::vector<Answer> parallel_checkouts(const Shopper& t, int count,
                                       const std::function<std::string(int)>& key) {
  std::vector<std::future<Answer>> running;
  std::atomic<int> ready{0};
  for (int i = 0; i < count; ++i) {
    running.push_back(std::async(std::launch::async, [&t, &ready, &key, i, count] {
      test_support::HeaderList headers;
      if (!key(i).empty()) headers.emplace_back("Idempotency-Key", key(i));
      ready.fetch_add(1);
      while (ready.load() < count) std::this_thread::yield();
      return t.api("POST", "/api/orders", std::nullopt, headers);
    }));
  }
  std::vector<Answer> answers;
  for (auto& each : running) answers.push_back(each.get());
  return answers;
}

}  // namespace

TEST_CASE("four parallel checkouts of one cart give one order and three 409 checkout_in_progress") {
  Shopper t;
  // Payment answers a little late, so the first checkout still holds the cart while the
  // others arrive.
  Fault slow = fault("payment", "order", "POST", "/internal/payments", FaultType::delay);
  slow.delay = 300ms;
  t.shop->faults().add(slow);

  t.add_to_cart("p-001", 2);
  auto answers = parallel_checkouts(t, 4, [](int) { return std::string(); });
  int created = 0, in_progress = 0;
  for (const Answer& answer : answers) {
    if (answer.status == 201) ++created;
    if (answer.status == 409 && answer.body["error"]["code"] == "checkout_in_progress") {
      ++in_progress;
      // A conflict that ends by itself says when to try again (RFC 9110 10.2.3).
      CHECK(answer.headers.get("Retry-After") == std::optional<std::string_view>("1"));
    }
  }
  CHECK(created == 1);
  CHECK(in_progress == 3);
  CHECK(t.api("GET", "/api/orders").body["items"].size() == 1);
  CHECK(t.api("GET", "/api/cart").body["items"].empty());

  SUBCASE("with four different Idempotency-Keys, and the losers' keys stay unused") {
    t.add_to_cart("p-002", 1);
    auto keyed = parallel_checkouts(t, 4, [](int i) { return "parallel-" + std::to_string(i); });
    int winner = -1, keyed_in_progress = 0;
    for (int i = 0; i < 4; ++i) {
      if (keyed[i].status == 201) winner = i;
      if (keyed[i].status == 409 && keyed[i].body["error"]["code"] == "checkout_in_progress") {
        ++keyed_in_progress;
        CHECK(keyed[i].headers.get("Retry-After") == std::optional<std::string_view>("1"));
      }
    }
    REQUIRE(winner >= 0);
    CHECK(keyed_in_progress == 3);
    CHECK(t.api("GET", "/api/orders").body["items"].size() == 2);
    // The winner's key replays its answer; a loser's key was never bound to anything.
    auto replay = t.api("POST", "/api/orders", std::nullopt,
                        {{"Idempotency-Key", "parallel-" + std::to_string(winner)}});
    CHECK(replay.status == 201);
    CHECK(replay.raw == keyed[winner].raw);
    auto loser = t.api("POST", "/api/orders", std::nullopt,
                       {{"Idempotency-Key", "parallel-" + std::to_string((winner + 1) % 4)}});
    CHECK(loser.status == 400);
    CHECK(loser.body["error"]["code"] == "cart_empty");
  }

  SUBCASE("the claim is released: the next checkout of the cart succeeds") {
    t.shop->faults().clear();
    t.add_to_cart("p-003", 1);
    CHECK(t.api("POST", "/api/orders").status == 201);
  }
}

TEST_CASE(
    "four parallel checkouts with one Idempotency-Key: one order, three 409 "
    "idempotency_key_in_use that say when to try again") {
  Shopper t;
  Fault slow = fault("payment", "order", "POST", "/internal/payments", FaultType::delay);
  slow.delay = 300ms;
  t.shop->faults().add(slow);
  t.add_to_cart("p-001", 1);
  auto answers = parallel_checkouts(t, 4, [](int) { return std::string("same-key"); });
  int created = 0, in_use = 0;
  for (const Answer& answer : answers) {
    if (answer.status == 201) ++created;
    if (answer.status == 409 && answer.body["error"]["code"] == "idempotency_key_in_use") {
      ++in_use;
      CHECK(answer.headers.get("Retry-After") == std::optional<std::string_view>("1"));
    }
  }
  CHECK(created == 1);
  CHECK(in_use == 3);
  CHECK(t.api("GET", "/api/orders").body["items"].size() == 1);
}

TEST_CASE(
    "an unpaid order expires after the payment timeout: FAILED payment_expired, the cart "
    "restored, the pay link canceled") {
  Shopper t;
  t.add_to_cart("p-003", 2);
  auto checkout = t.api("POST", "/api/orders");
  REQUIRE(checkout.status == 201);
  const auto order_id = checkout.body["order_id"].get<std::string>();
  const auto pay_url = checkout.body["payment"]["pay_url"].get<std::string>();
  CHECK(t.api("GET", "/api/cart").body["items"].empty());

  // Not yet: 29 minutes is within the default 30.
  REQUIRE(t.shop->clock().advance(29min));
  std::this_thread::sleep_for(600ms);
  CHECK(t.order(order_id)["status"] == "PAYMENT_PENDING");

  REQUIRE(t.shop->clock().advance(2min));
  CHECK(Shopper::eventually([&] { return t.order(order_id)["status"] == "FAILED"; }));
  const json order = t.order(order_id);
  REQUIRE(order["history"].size() == 2);
  CHECK(order["history"][1]["status"] == "FAILED");
  CHECK(order["history"][1]["reason"] == "payment_expired");
  CHECK(order["payment"]["status"] == "CANCELED");

  auto cart = t.api("GET", "/api/cart").body;
  REQUIRE(cart["items"].size() == 1);
  CHECK(cart["items"][0]["product_id"] == "p-003");
  CHECK(cart["items"][0]["quantity"] == 2);

  auto pay = send("POST", pay_url, json{{"card_number", "4242424242424242"}});
  CHECK(pay.status == 409);
  CHECK(pay.body["error"]["code"] == "intent_canceled");
  auto page = send("GET", pay_url);
  CHECK(page.status == 200);
  CHECK(page.body["status"] == "canceled");
  CHECK(page.body["event"].is_null());
  CHECK(t.order(order_id)["status"] == "FAILED");

  // The restored cart checks out again, into a new order with a payable link.
  auto again = t.api("POST", "/api/orders");
  REQUIRE(again.status == 201);
  CHECK(again.body["order_id"] != order_id);
  CHECK(send("POST", again.body["payment"]["pay_url"].get<std::string>(),
             json{{"card_number", "4242424242424242"}})
            .status == 200);
}

TEST_CASE("a capture that happened before the expiry wins: the order ends PAID, not FAILED") {
  Shopper t;
  t.add_to_cart("p-005", 1);
  auto checkout = t.api("POST", "/api/orders");
  REQUIRE(checkout.status == 201);
  const auto order_id = checkout.body["order_id"].get<std::string>();

  // The provider captures, but its webhook never reaches the shop.
  Fault lost = fault("gateway", "", "POST", "/api/payments/webhook", FaultType::abort);
  lost.status = 503;
  t.shop->faults().add(lost);
  auto paid = send("POST", checkout.body["payment"]["pay_url"].get<std::string>(),
                   json{{"card_number", "4242424242424242"}});
  REQUIRE(paid.status == 200);
  CHECK(paid.body["status"] == "succeeded");
  CHECK(paid.body["webhook_delivered"] == false);
  CHECK(t.order(order_id)["status"] == "PAYMENT_PENDING");

  // The expiry's cancel finds the intent captured: the capture's truth is recorded instead.
  REQUIRE(t.shop->clock().advance(31min));
  CHECK(Shopper::eventually([&] { return t.order(order_id)["status"] != "PAYMENT_PENDING"; }));
  const json order = t.order(order_id);
  CHECK(order["status"] == "PAID");
  CHECK(order["payment"]["status"] == "SUCCEEDED");
  REQUIRE(order["history"].size() == 2);
  CHECK(order["history"][1]["status"] == "PAID");
  CHECK(t.api("GET", "/api/cart").body["items"].empty());
  // Nothing reverses it later: the payment's own callback is a repeated result.
  std::this_thread::sleep_for(400ms);
  CHECK(t.order(order_id)["history"].size() == 2);
}

TEST_CASE(
    "a checkout cut short between creating the order and recording its payment is failed at "
    "start-up as checkout_interrupted, and its cart restored") {
  shopctl::shop::ShopConfig config;
  // One attempt, so that the cut-short checkout ends on its own within the test.
  config.order_payment_client.timeout = 4s;
  config.order_payment_client.retry.max_attempts = 1;
  Shopper t(config);
  t.add_to_cart("p-004", 3);

  // Payment never answers the checkout; the order exists, without a payment.
  t.shop->faults().add(fault("payment", "order", "POST", "/internal/payments", FaultType::hang));
  auto checkout = std::async(std::launch::async, [&t] {
    return t.api("POST", "/api/orders", std::nullopt, {{"Idempotency-Key", "cut-short"}});
  });
  std::string order_id;
  REQUIRE(Shopper::eventually([&] {
    auto items = t.api("GET", "/api/orders").body["items"];
    if (items.size() != 1) return false;
    order_id = items[0]["order_id"].get<std::string>();
    return true;
  }));
  CHECK(t.order(order_id)["status"] == "PAYMENT_PENDING");
  CHECK(t.order(order_id)["payment"].is_null());

  // The order service stops in the middle of it, and comes back.
  t.shop->stop_service("order");
  t.shop->faults().clear();
  t.shop->start_service("order");

  CHECK(Shopper::eventually([&] { return t.order(order_id)["status"] == "FAILED"; }));
  const json order = t.order(order_id);
  REQUIRE(order["history"].size() == 2);
  CHECK(order["history"][1]["reason"] == "checkout_interrupted");
  auto cart = t.api("GET", "/api/cart").body;
  REQUIRE(cart["items"].size() == 1);
  CHECK(cart["items"][0]["product_id"] == "p-004");
  CHECK(cart["items"][0]["quantity"] == 3);

  // The interrupted checkout's key replays the order as it ended.
  auto replay = t.api("POST", "/api/orders", std::nullopt, {{"Idempotency-Key", "cut-short"}});
  CHECK(replay.status == 201);
  CHECK(replay.headers.get("Idempotent-Replayed").value_or("") == "true");
  CHECK(replay.body["order_id"] == order_id);
  CHECK(replay.body["status"] == "FAILED");

  // Payment keeps a tombstone: a late request to open the order's payment is refused.
  auto credential = send("POST", t.shop->url("gateway") + "/_admin/credentials",
                         json{{"service", "order"}}, {{"X-Admin-Token", t.shop->admin_token()}});
  REQUIRE(credential.status == 200);
  auto late = send("POST", t.shop->url("payment") + "/internal/payments",
                   json{{"order_id", order_id}, {"amount_cents", 1}, {"currency", "EUR"}},
                   {{"X-Service-Token", credential.body["token"].get<std::string>()},
                    {"Idempotency-Key", "order:" + order_id}});
  CHECK(late.status == 409);
  CHECK(late.body["error"]["code"] == "payment_canceled");

  // The cut-short request itself got some error. Its coroutine lives on in the restarted
  // service until its payment call times out; then it finds the order ended and changes
  // nothing (no second restore, the key keeps its answer). Waiting for it also keeps it from
  // running while the shop is torn down.
  CHECK(checkout.get().status >= 500);
  CHECK(Shopper::eventually(
      [&] {
        for (const auto& record : t.shop->calls().since(0)) {
          if (record.caller == "order" && record.callee == "payment" &&
              record.route == "/internal/payments" && record.outcome != "ok") {
            return true;
          }
        }
        return false;
      },
      10s));
  std::this_thread::sleep_for(500ms);
  CHECK(t.order(order_id)["history"].size() == 2);
  CHECK(t.api("GET", "/api/cart").body["items"][0]["quantity"] == 3);
  CHECK(t.api("POST", "/api/orders", std::nullopt, {{"Idempotency-Key", "cut-short"}}).raw ==
        replay.raw);
}

namespace {
// The intent id at the end of a pay link (http://HOST:PORT/pay/{intent_id}).
std::string intent_of(const std::string& pay_url) {
  return pay_url.substr(pay_url.rfind('/') + 1);
}
}  // namespace

// The expiry pass went oldest first and ended at the first cancel payment could not make: one
// such order held back the expiry of every later one for as long as it stayed, and each
// pass's 503 counted against the order -> payment breaker until checkouts were refused (test
// red before: the second order stayed PAYMENT_PENDING).
TEST_CASE("an order whose cancel fails waits alone: later orders still expire, checkouts go on") {
  Shopper t;
  t.add_to_cart("p-001", 1);
  auto first = t.api("POST", "/api/orders");
  REQUIRE(first.status == 201);
  t.add_to_cart("p-002", 1);
  auto second = t.api("POST", "/api/orders");
  REQUIRE(second.status == 201);
  const auto stuck = first.body["order_id"].get<std::string>();
  const auto later = second.body["order_id"].get<std::string>();

  // The provider refuses the first order's cancel, and only that one: a 404 that is not its
  // own intent_not_found (an injected fault's code), so nothing may be canceled on its word.
  // (A provider that answers 5xx is failing: the payment -> provider breaker counts that, as
  // resilience.md asks.)
  Fault refuse =
      fault("provider", "", "POST",
            "/v1/payment_intents/" +
                intent_of(first.body["payment"]["pay_url"].get<std::string>()) + "/cancel",
            FaultType::abort);
  refuse.status = 404;
  refuse.id = "refuse-one-cancel";
  t.shop->faults().add(refuse);

  REQUIRE(t.shop->clock().advance(31min));
  CHECK(Shopper::eventually([&] { return t.order(later)["status"] == "FAILED"; }));
  CHECK(t.order(stuck)["status"] == "PAYMENT_PENDING");
  // The parked order's retries do not open the breaker in front of payment: checkouts go on.
  std::this_thread::sleep_for(1500ms);
  for (int i = 0; i < 3; ++i) {
    t.add_to_cart("p-003", 1);
    auto again = t.api("POST", "/api/orders");
    CAPTURE(again.raw.substr(0, 300));
    REQUIRE(again.status == 201);
    REQUIRE(send("POST", again.body["payment"]["pay_url"].get<std::string>(),
                 json{{"card_number", "4242424242424242"}})
                .status == 200);
  }
  // Once the provider takes the cancel, the parked order ends too (its pause is at most 60 s;
  // here a few seconds).
  t.shop->faults().remove("refuse-one-cancel");
  CHECK(Shopper::eventually([&] { return t.order(stuck)["status"] == "FAILED"; }, 20s));
  CHECK(t.order(stuck)["payment"]["status"] == "CANCELED");
}

// The provider cannot be reached for cancels (its payment -> provider breaker open: forced
// here; a hang or 500s on its /cancel alone open it too): payment answered each cancel 503,
// which the order -> payment breaker counted, and the expiry pass's cancels opened it in front
// of every checkout (an outside probe). Payment itself works: it answers 424, and only those
// orders wait.
TEST_CASE("cancels the provider cannot be reached for do not open the order -> payment breaker") {
  shopctl::shop::ShopConfig config;
  auto& breaker = config.breakers["order->payment"];
  breaker.sliding_window_size = 2;
  breaker.minimum_number_of_calls = 2;
  Shopper t(std::move(config));
  std::vector<std::string> orders;
  for (const char* product : {"p-001", "p-002"}) {
    t.add_to_cart(product, 1);
    auto checkout = t.api("POST", "/api/orders");
    REQUIRE(checkout.status == 201);
    orders.push_back(checkout.body["order_id"].get<std::string>());
  }
  const test_support::HeaderList admin = {{"X-Admin-Token", t.shop->admin_token()}};
  auto force = [&](const char* state) {
    REQUIRE(send("POST", t.shop->url("payment") + "/_admin/circuit-breakers/payment->provider",
                 json{{"state", state}}, admin)
                .status == 200);
  };
  force("FORCED_OPEN");
  REQUIRE(t.shop->clock().advance(31min));
  // Each order's cancel is tried, then again after 1 s and 2 s: six answers at least.
  std::this_thread::sleep_for(3500ms);
  auto breakers =
      send("GET", t.shop->url("order") + "/_admin/circuit-breakers", std::nullopt, admin);
  REQUIRE(breakers.status == 200);
  for (const auto& b : breakers.body["items"]) {
    INFO(b.dump());
    CHECK(b["state"] == "CLOSED");
  }
  for (const auto& id : orders) CHECK(t.order(id)["status"] == "PAYMENT_PENDING");
  force("CLOSED");
  for (const auto& id : orders) {
    CHECK(Shopper::eventually([&] { return t.order(id)["status"] == "FAILED"; }, 20s));
  }
}

// A provider that lost its data (a sandbox reset, another provider behind the same name)
// answers a cancel with its own 404 intent_not_found. Payment answered 503 to that for ever,
// so the order never ended (test red before: it stayed PAYMENT_PENDING).
TEST_CASE("an intent the provider no longer knows is canceled here, and its order ends") {
  Shopper t;
  t.add_to_cart("p-004", 1);
  auto checkout = t.api("POST", "/api/orders");
  REQUIRE(checkout.status == 201);
  const auto order_id = checkout.body["order_id"].get<std::string>();
  const auto pay_url = checkout.body["payment"]["pay_url"].get<std::string>();

  // The provider starts again with an empty database.
  t.shop->stop_service("provider");
  for (const char* suffix : {"", "-wal", "-shm", ".used"})
    std::filesystem::remove(t.shop->data_dir() / (std::string("provider.db") + suffix));
  t.shop->start_service("provider");
  CHECK(send("GET", pay_url).status == 404);

  REQUIRE(t.shop->clock().advance(31min));
  CHECK(Shopper::eventually([&] { return t.order(order_id)["status"] == "FAILED"; }));
  const json order = t.order(order_id);
  CHECK(order["payment"]["status"] == "CANCELED");
  CHECK(order["history"].back()["reason"] == "payment_expired");
  CHECK(t.api("GET", "/api/cart").body["items"].size() == 1);
}

// A checkout that gives up waiting for payment (payment_unavailable: the order FAILED at once,
// its cart restored) while payment goes on to open the payment: the payment and its intent
// stayed PENDING and payable for ever, and an outside probe paid it, money taken for a FAILED
// order. The expiry pass now cancels such a payment in the background (test red before: the
// payment stayed PENDING and its intent requires_payment).
TEST_CASE("a checkout that gave up on payment has the payment payment opened late canceled") {
  shopctl::shop::ShopConfig config;
  config.order_payment_client.timeout = 200ms;
  config.order_payment_client.retry.max_attempts = 1;
  Shopper t(std::move(config));
  t.add_to_cart("p-001", 1);

  // Order's create reaches payment 600 ms late, long after order gave up; order's cancels are
  // refused until then, so that the cancel meets an opened payment, not a tombstone.
  Fault slow = fault("payment", "order", "POST", "/internal/payments", FaultType::delay);
  slow.delay = 600ms;
  slow.id = "slow-create";
  t.shop->faults().add(slow);
  Fault refuse = fault("payment", "order", "POST", "/internal/payments/cancel", FaultType::abort);
  refuse.status = 503;
  refuse.id = "refuse-cancel";
  t.shop->faults().add(refuse);

  auto checkout = t.api("POST", "/api/orders");
  CAPTURE(checkout.raw.substr(0, 300));
  REQUIRE(checkout.status == 503);
  REQUIRE(checkout.body["error"]["code"] == "payment_unavailable");
  const auto order_id = checkout.body["error"]["details"]["order_id"].get<std::string>();
  t.shop->faults().remove("slow-create");
  CHECK(t.order(order_id)["status"] == "FAILED");
  CHECK(t.api("GET", "/api/cart").body["items"].size() == 1);

  const auto files = shopctl::chaos::files_in(t.shop->data_dir());
  const auto world = [&] {
    shopctl::chaos::World w;
    std::vector<std::string> problems;
    shopctl::chaos::load_databases(files, w, problems);
    return w;
  };
  const auto payment_of_order = [&]() -> std::optional<shopctl::chaos::PaymentRow> {
    for (const auto& p : world().payments)
      if (p.order_id == order_id) return p;
    return std::nullopt;
  };
  // Payment opened the payment after all, with a payable intent.
  REQUIRE(Shopper::eventually([&] { return payment_of_order().has_value(); }));
  CHECK(payment_of_order()->status == "PENDING");

  t.shop->faults().remove("refuse-cancel");
  CHECK(Shopper::eventually([&] { return payment_of_order()->status == "CANCELED"; }));
  const auto w = world();
  const auto settled = shopctl::chaos::check_orders_settled(w);
  INFO((settled.evidence.empty() ? std::string() : settled.evidence.front()));
  CHECK(settled.outcome == shopctl::chaos::Outcome::passed);
  for (const auto& i : w.intents)
    if (i.payment_id == payment_of_order()->payment_id) CHECK(i.status == "canceled");
  // The order stays as it failed, and so does the cart.
  CHECK(t.order(order_id)["status"] == "FAILED");
  CHECK(t.api("GET", "/api/cart").body["items"].size() == 1);
  // The order service clears its cancel-due mark after the cancel's answer; on a busy machine
  // that can come a moment after the payment reads CANCELED.
  CHECK(Shopper::eventually([&] { return shopctl::chaos::count_in_flight(files).quiet(); }));
}

// A checkout whose every attempt was refused (payment stopped: nothing listens) reached
// nothing, so it leaves no cancel to do: the background pass would only add calls to an edge
// that is down (two scenarios count those calls).
TEST_CASE(
    "a checkout that never reached payment, or that payment refused, leaves nothing to cancel") {
  Shopper t;
  t.add_to_cart("p-001", 1);
  t.shop->stop_service("payment");
  auto checkout = t.api("POST", "/api/orders");
  CAPTURE(checkout.raw.substr(0, 300));
  REQUIRE(checkout.status == 503);
  const auto files = shopctl::chaos::files_in(t.shop->data_dir());
  CHECK(shopctl::chaos::count_in_flight(files).payments_to_cancel == 0);
  t.shop->start_service("payment");
  // Payment answers every attempt with 503 (the provider is down): its own word that it opened
  // no payable payment, so no cancel either. In a first version the background cancels, each
  // another 503 on order -> payment, opened that breaker in front of the next checkout.
  t.shop->stop_service("provider");
  auto refused = t.api("POST", "/api/orders");
  CAPTURE(refused.raw.substr(0, 300));
  REQUIRE(refused.status == 503);
  CHECK(shopctl::chaos::count_in_flight(files).payments_to_cancel == 0);
  // What it leaves is a payment PENDING that the provider never opened, which payment ends by
  // itself later: money in flight, not quiescence. A folder a shop left so read "quiescent"
  // above a payments-agree failure that read as a loss (an outside probe).
  const auto left = shopctl::chaos::count_in_flight(files);
  CHECK(left.unopened_payments == 1);
  CHECK_FALSE(left.quiet());
  CHECK(shopctl::chaos::describe(left).find(
            "1 payments still to end that the provider never opened") != std::string::npos);
  t.shop->start_service("provider");
}

// The pay page wrote the webhook's delivery after the capture was committed; when that write
// failed (an outside probe filled the disk), the page answered 503 storage_unavailable,
// "nothing was acknowledged, send again", although the card was charged (retrying gave 409
// intent_already_processed). A failure of that bookkeeping no longer changes the answer. Here
// a trigger makes the write fail (a constraint error, which was answered 500).
TEST_CASE("the pay page answers the capture even when the webhook's delivery cannot be written") {
  Shopper t;
  t.add_to_cart("p-002", 1);
  auto checkout = t.api("POST", "/api/orders");
  REQUIRE(checkout.status == 201);
  const auto order_id = checkout.body["order_id"].get<std::string>();
  const auto pay_url = checkout.body["payment"]["pay_url"].get<std::string>();

  const auto exec = [&t](const char* sql) { exec_sql(t.shop->data_dir() / "provider.db", sql); };
  exec(
      "CREATE TRIGGER refuse_delivery BEFORE UPDATE ON events "
      "BEGIN SELECT RAISE(ABORT, 'the disk is full (a test)'); END;");
  auto paid = send("POST", pay_url, json{{"card_number", "4242424242424242"}});
  CAPTURE(paid.raw.substr(0, 300));
  CHECK(paid.status == 200);
  CHECK(paid.body["status"] == "succeeded");
  exec("DROP TRIGGER refuse_delivery");
  CHECK(Shopper::eventually([&] { return t.order(order_id)["status"] == "PAID"; }));
}

// A full disk (a probe): the checkout failed before its order, and the delete that lets its
// Idempotency-Key go failed too; the key then answered 409 "still running" to every retry
// until the shop restarted (only start-up cleared such keys).
TEST_CASE("an Idempotency-Key whose checkout failed before its order is free again at once") {
  Shopper t;
  t.add_to_cart("p-002", 1);
  const auto exec = [&t](const char* sql) { exec_sql(t.shop->data_dir() / "order.db", sql); };
  exec(
      "CREATE TRIGGER full_orders BEFORE INSERT ON orders "
      "BEGIN SELECT RAISE(ABORT, 'the disk is full (a test)'); END;"
      "CREATE TRIGGER full_keys BEFORE DELETE ON idempotency_keys "
      "BEGIN SELECT RAISE(ABORT, 'the disk is full (a test)'); END;");
  const test_support::HeaderList key = {{"Idempotency-Key", "full-disk-key-1"}};
  auto failed = t.api("POST", "/api/orders", std::nullopt, key);
  CAPTURE(failed.raw.substr(0, 300));
  // 5xx: the trigger's RAISE is a constraint error to SQLite (500); a real full disk is 503
  // storage_unavailable (disk_full.sh).
  CHECK(failed.status >= 500);
  exec("DROP TRIGGER full_orders; DROP TRIGGER full_keys;");
  auto retried = t.api("POST", "/api/orders", std::nullopt, key);
  CAPTURE(retried.raw.substr(0, 300));
  CHECK(retried.status == 201);
  auto replayed = t.api("POST", "/api/orders", std::nullopt, key);
  CHECK(replayed.status == 201);
  CHECK(replayed.body["order_id"] == retried.body["order_id"]);
}

// A field the client names in Connection is for the hop to the gateway only (RFC 9110 7.6.1):
// the gateway forwarded it, so `Connection: Idempotency-Key` still bound the key (an outside
// probe). It is dropped now: the second checkout is a new one (the cart is empty), no replay.
TEST_CASE("the gateway drops a field the client names in Connection") {
  Shopper t;
  t.add_to_cart("p-001", 1);
  const test_support::HeaderList headers = {{"Idempotency-Key", "hop-only"},
                                            {"Connection", "keep-alive, idempotency-key"}};
  auto first = t.api("POST", "/api/orders", std::nullopt, headers);
  REQUIRE(first.status == 201);
  auto second = t.api("POST", "/api/orders", std::nullopt, headers);
  CHECK(second.status == 400);
  CHECK(second.body["error"]["code"] == "cart_empty");
  CHECK_FALSE(second.headers.contains("Idempotent-Replayed"));
  // Named in a second Connection field too: the fields make one list (red before: it went on).
  t.add_to_cart("p-002", 1);
  const test_support::HeaderList split = {{"Idempotency-Key", "hop-only-2"},
                                          {"Connection", "keep-alive"},
                                          {"Connection", "Idempotency-Key"}};
  REQUIRE(t.api("POST", "/api/orders", std::nullopt, split).status == 201);
  auto again = t.api("POST", "/api/orders", std::nullopt, split);
  CHECK(again.status == 400);
  CHECK_FALSE(again.headers.contains("Idempotent-Replayed"));
}

// One account that never paid made 14,787 unpaid orders in 150 s, faster than expiry ended
// them (an outside probe). A user's PAYMENT_PENDING orders are bounded (order.max_unpaid_orders):
// past it a checkout is 409 too_many_unpaid_orders, the cart stays and the key stays free; a
// paid order makes room. (Red before: the fourth checkout was 201.)
TEST_CASE("a user's unpaid orders are bounded by order.max_unpaid_orders") {
  shopctl::shop::ShopConfig config;
  config.order_max_unpaid_orders = 3;
  Shopper t(config);
  std::vector<std::string> pay_urls;
  for (int i = 0; i < 3; ++i) {
    t.add_to_cart("p-001", 1);
    auto placed = t.api("POST", "/api/orders");
    REQUIRE(placed.status == 201);
    pay_urls.push_back(placed.body["payment"]["pay_url"].get<std::string>());
  }
  t.add_to_cart("p-002", 1);
  auto refused = t.api("POST", "/api/orders", std::nullopt, {{"Idempotency-Key", "fourth"}});
  CHECK(refused.status == 409);
  CHECK(refused.body["error"]["code"] == "too_many_unpaid_orders");
  CHECK(refused.body["error"]["details"]["max_unpaid_orders"] == 3);
  CHECK(t.api("GET", "/api/cart").body["items"].size() == 1);
  CHECK(t.api("GET", "/api/orders").body["items"].size() == 3);
  // Paying one makes room, and the same key, left free, checks out.
  REQUIRE(send("POST", pay_urls[0], json{{"card_number", "4242424242424242"}}).status == 200);
  CHECK(Shopper::eventually([&] {
    return t.api("POST", "/api/orders", std::nullopt, {{"Idempotency-Key", "fourth"}}).status ==
           201;
  }));
}
