// The load engine against a real shop, where the public API's checks cannot reach: what a
// virtual user does with an error it does not handle.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "../support/test_shop.hpp"
#include "load/engine.hpp"
#include "load/plan.hpp"
#include "platform/fault/fault_table.hpp"
#include "shop/shop.hpp"

// A user (or the open loop's scheduler) ended by an exception was counted as finished: with a
// card that was not UTF-8, every user stopped at its first pay request, and the 3 s run ended
// after 10 ms with nothing measured and every threshold met (an outside probe of the C++ API).
TEST_CASE("a virtual user stopped by an error the engine does not handle ends the run with it") {
  auto shop = shopctl::test_support::start_shop();
  for (const double rate : {0.0, 50.0}) {
    CAPTURE(rate);
    shopctl::load::LoadOptions o;
    o.gateway_url = shop->url("gateway");
    o.users = 2;
    o.rate = rate;
    o.duration = std::chrono::seconds(3);
    o.mix = shopctl::load::parse_mix("checkout=1");
    o.card = "4242\xff";  // check_card refuses it at the doors; the engine must not hide it
    CHECK_THROWS_WITH_AS(shopctl::load::run_load(o), doctest::Contains("a virtual user met"),
                         shopctl::load::SetupError);
  }
}

namespace {
// A one-second run of `users` users on `mix` against `shop`'s gateway.
shopctl::load::LoadOptions one_second_of(shopctl::shop::Shop& shop, unsigned users,
                                         const char* mix) {
  shopctl::load::LoadOptions o;
  o.gateway_url = shop.url("gateway");
  o.users = users;
  o.duration = std::chrono::seconds(1);
  o.mix = shopctl::load::parse_mix(mix);
  return o;
}

// An abort fault answering `status` to `from`'s `method` calls to `path` at `target`.
shopctl::platform::Fault abort_fault(const char* target, const char* from, const char* method,
                                     const char* path, int status) {
  shopctl::platform::Fault f;
  f.target = target;
  f.from = from;
  f.method = method;
  f.path = path;
  f.type = shopctl::platform::FaultType::abort;
  f.status = status;
  return f;
}
}  // namespace

// A checkout answered 503 payment_unavailable created an order, which failed (docs/api.md):
// the report left it out (orders: 21 created, 0 FAILED, while the database held 1,346 more
// FAILED orders; an outside probe). It counts as created and FAILED.
TEST_CASE("a checkout answered 503 payment_unavailable counts as an order created and FAILED") {
  auto shop = shopctl::test_support::start_shop();
  shop->faults().add(abort_fault("payment", "order", "POST", "/internal/payments", 500));
  const auto result = shopctl::load::run_load(one_second_of(*shop, 2, "checkout=1"));
  CHECK(result.orders_created > 0);
  CHECK(result.orders_failed == result.orders_created);
  CHECK(result.orders_paid == 0);
  CHECK(result.orders_unsettled == 0);
}

// The same 503 followed by a retry that got no answer (chaos retries a checkout with its key):
// only the retry's answer was read, and the order the 503 named went uncounted (chaos said 12
// orders fewer than its shoppers were answered; an outside probe). Here every POST /api/orders
// after the first is reset at the door, so the first is the one order of the run.
TEST_CASE("a 503 payment_unavailable whose retry gets no answer still counts its order") {
  auto shop = shopctl::test_support::start_shop();
  shop->faults().add(abort_fault("payment", "order", "POST", "/internal/payments", 500));
  shopctl::platform::Fault reset;
  reset.target = "gateway";
  reset.from = "client";
  reset.method = "POST";
  reset.path = "/api/orders";
  reset.type = shopctl::platform::FaultType::reset;
  reset.select.kind = shopctl::platform::FaultSelect::Kind::after;
  reset.select.n = 1;
  shop->faults().add(reset);
  auto o = one_second_of(*shop, 1, "checkout=1");
  o.checkout_retry_after = std::chrono::milliseconds(50);
  const auto result = shopctl::load::run_load(o);
  CHECK(result.orders_created == 1);
  CHECK(result.orders_failed == 1);
}

// Journeys in flight at the end of --duration still tick once a second while they drain: a
// drain of seconds went silent, and its seconds were one sample (an outside probe). A second in
// which nothing finished has no latency.
TEST_CASE("a load run keeps ticking while its last journeys drain") {
  auto shop = shopctl::test_support::start_shop();
  shopctl::platform::Fault slow;
  slow.target = "catalog";
  slow.type = shopctl::platform::FaultType::delay;
  slow.delay = std::chrono::milliseconds(2600);
  shop->faults().add(slow);
  auto o = one_second_of(*shop, 1, "browse=1");
  std::vector<shopctl::load::Progress> ticks;
  o.on_progress = [&](const shopctl::load::Progress& p) { ticks.push_back(p); };
  const auto result = shopctl::load::run_load(o);
  REQUIRE_FALSE(ticks.empty());
  CHECK(ticks.back().final);
  CHECK(ticks.back().elapsed_s > 2.5);
  int draining = 0, without_latency = 0;
  for (const auto& t : ticks) {
    if (!t.final && t.elapsed_s > 1.5) ++draining;
    if (!t.has_latency) ++without_latency;
  }
  CHECK(draining >= 1);
  CHECK(without_latency >= 1);
  CHECK(result.timeline.size() == ticks.size());
}

// Users whose tokens the shop said had expired never signed in again: after an operator moved
// the shop's clock 16 minutes during a drill, 94 % of the requests were 401 token_expired to
// the end of the run, which passed with no threshold (an outside probe). Each user signs in
// again after the journey that met it, and the report counts it.
TEST_CASE("virtual users sign in again when the shop says their token has expired") {
  auto shop = shopctl::test_support::start_shop();
  auto o = one_second_of(*shop, 2, "browse=1");
  o.duration = std::chrono::seconds(2);
  bool moved = false;
  o.on_progress = [&](const shopctl::load::Progress& p) {
    if (!moved && !p.final) moved = shop->clock().advance(std::chrono::minutes(16));
  };
  const auto result = shopctl::load::run_load(o);
  REQUIRE(moved);
  CHECK(result.tokens_renewed >= 1);
  CHECK(result.tokens_renewed <= 2);
  const auto expired = result.errors_by_code.find("401 token_expired");
  REQUIRE(expired != result.errors_by_code.end());
  CHECK(expired->second <= 2);  // one journey per user, not the rest of the run
  CHECK(result.requests.count > 20 * expired->second);
}

// An open loop behind its schedule went on starting its overdue journeys after the deadline: a
// 1 s run at --rate 1000000 lasted 58 s (an outside probe). Starts still due at the deadline
// are dropped, and counted apart.
TEST_CASE("an open loop behind its schedule stops starting journeys at the deadline") {
  auto shop = shopctl::test_support::start_shop();
  auto o = one_second_of(*shop, 4, "browse=1");
  o.rate = 1'000'000;
  const auto began = std::chrono::steady_clock::now();
  const auto result = shopctl::load::run_load(o);
  const auto took = std::chrono::steady_clock::now() - began;
  CHECK(took < std::chrono::seconds(10));
  CHECK(result.seconds < 3.0);
  CHECK(result.dropped_behind > 0);
  CHECK(result.dropped >= result.dropped_behind);
}

// With more threads than users an open loop dropped half its starts, "every user busy", while
// the users were idle (an outside probe): threads with no user had nobody to start with.
TEST_CASE("an open loop with more threads than users drops no start while users are idle") {
  auto shop = shopctl::test_support::start_shop();
  auto o = one_second_of(*shop, 2, "browse=1");
  o.rate = 20;
  o.threads = 4;
  const auto result = shopctl::load::run_load(o);
  std::uint64_t started = 0;
  for (const auto& [name, t] : result.journeys) started += t.count;
  CHECK(started >= 15);
  // Half were dropped before; a journey that outlasts its user's 100 ms on a busy machine may
  // still drop the next start.
  CHECK(result.dropped * 5 <= started);
}

// A cart journey whose removal failed left its line in the cart, and the next cart journey
// added to it: quantities of 16 to 21 after a run with the removals faulted (an outside probe).
// The line is removed by the uncounted clean-up once the removals work again.
TEST_CASE("a cart journey whose removal failed empties the cart afterwards") {
  auto shop = shopctl::test_support::start_shop();
  auto once = abort_fault("order", "gateway", "DELETE", "/cart/items/*", 503);
  once.select.kind = shopctl::platform::FaultSelect::Kind::first;
  once.select.n = 1;  // the journey's own removal fails; the clean-up's succeeds
  shop->faults().add(once);
  auto o = one_second_of(*shop, 1, "cart=1");
  // A few journeys: the first one's removal fails, the later ones' succeed. (1 ms meant one
  // journey, and none at all when the user's thread started after the deadline on a busy CI
  // machine.)
  o.duration = std::chrono::milliseconds(300);
  const auto result = shopctl::load::run_load(o);
  REQUIRE(result.journeys.count("cart"));
  CHECK(result.journeys.at("cart").errors >= 1);
  // The gateway's removals at order: the journey's, refused; then the clean-up's, done.
  std::vector<int> removals;
  for (const auto& r : shop->calls().since(0)) {
    if (r.caller == "gateway" && r.callee == "order" && r.method == "DELETE")
      removals.push_back(r.status);
  }
  REQUIRE(removals.size() >= 2);
  CHECK(removals.front() == 503);
  CHECK(removals.back() == 200);
}

// With a short http.idle_timeout the services' callers reused pooled connections the callee
// had just closed for idleness, and the gateway answered 503 to ordinary GETs (16 of 5,547
// requests at 5 ms; an outside probe). A caller lets a pooled connection go at half the
// callee's idle timeout. 100 ms, and users idle about as long between journeys: with the pool's
// 20 s (before), 1 to 3 requests of a run met a connection closed under them; 5 ms left no
// margin on a busy CI host.
TEST_CASE("a shop with a short http.idle_timeout answers every browse") {
  shopctl::shop::ShopConfig config;
  config.http_idle_timeout = std::chrono::milliseconds(100);
  auto shop = shopctl::test_support::start_shop(config);
  auto o = one_second_of(*shop, 4, "browse=1,product=1");
  o.duration = std::chrono::seconds(3);
  o.think = std::chrono::milliseconds(100);  // each user's connections idle about the timeout
  o.pooled_idle_time = shopctl::http::pooled_idle_limit(config.http_idle_timeout);  // as the CLI
  const auto result = shopctl::load::run_load(o);
  CHECK(result.requests.count > 60);
  CHECK(result.requests.errors == 0);
  for (const auto& [code, n] : result.errors_by_code) MESSAGE(code << ": " << n);
}
