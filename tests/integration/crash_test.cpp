// A crash (Server::abandon, BackgroundLoop::abandon, Shop::crash_service) abandons the work in
// flight, where a stop lets it finish: the difference that `crash:` in scenarios and
// `shopctl chaos` rely on to leave half-done work behind, as a process that dies would.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "../support/test_shop.hpp"
#include "platform/background_loop.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/server.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
using shopctl::platform::BackgroundLoop;

namespace {

// An io_context run by one thread for the test's duration.
struct RunningIo {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  ~RunningIo() {
    work.reset();
    io.stop();
    thread.join();
  }
};

template <class Predicate>
bool wait_for(Predicate done, std::chrono::milliseconds limit = 3000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A server whose /slow handler waits 300 ms, then counts itself finished (as a handler that
// writes to its database after a slow call would); /fast answers at once.
struct SlowServer {
  explicit SlowServer(asio::io_context& io)
      : server(io, shopctl::http::ServerOptions{},
               [this](shopctl::http::Request& req) -> asio::awaitable<shopctl::http::Response> {
                 if (req.target == "/slow") {
                   ++started;
                   asio::steady_timer timer(co_await asio::this_coro::executor);
                   timer.expires_after(300ms);
                   co_await timer.async_wait(asio::use_awaitable);
                   ++finished;
                 }
                 co_return shopctl::http::Response::json(200, {{"ok", true}});
               }) {
    server.start();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  shopctl::http::Server server;
};

// Sends GET /slow from a thread of its own; the answer (or the lack of one) is not the point.
std::thread slow_request(const SlowServer& s) {
  return std::thread([url = s.url("/slow")] {
    shopctl::http::BlockingClient client;
    shopctl::http::Request req;
    req.method = "GET";
    try {
      client.send_url(url, req, 2s);
    } catch (const std::exception&) {
    }
  });
}

}  // namespace

TEST_CASE("a stopped server lets the request in flight finish; an abandoned one cuts it off") {
  RunningIo running;
  SlowServer s(running.io);

  SUBCASE("stop") {
    auto client = slow_request(s);
    REQUIRE(wait_for([&] { return s.started == 1; }));
    s.server.stop();
    client.join();
    CHECK(wait_for([&] { return s.finished == 1; }));
  }
  SUBCASE("abandon") {
    auto client = slow_request(s);
    REQUIRE(wait_for([&] { return s.started == 1; }));
    s.server.abandon();
    client.join();
    std::this_thread::sleep_for(500ms);  // well past the handler's 300 ms
    CHECK(s.finished == 0);
    // The abandoned session is gone too, and the server comes back on its port.
    CHECK(wait_for([&] { return s.server.open_connections() == 0; }));
    s.server.start();
    shopctl::http::BlockingClient client2;
    shopctl::http::Request req;
    req.method = "GET";
    CHECK(client2.send_url(s.url("/fast"), req, 2s).status == 200);
  }
}

TEST_CASE("an abandoned background loop stops in the middle of its pass, without waiting") {
  RunningIo running;
  std::atomic<int> started{0}, finished{0};
  BackgroundLoop loop;
  loop.start(running.io, 10ms,
             [&](const std::atomic<bool>&) -> asio::awaitable<void> {
               ++started;
               asio::steady_timer timer(co_await asio::this_coro::executor);
               // Long beside the bound below, so that a loaded machine (a sanitizer, shards
               // side by side) cannot make "did not wait" look like "waited".
               timer.expires_after(1000ms);
               co_await timer.async_wait(asio::use_awaitable);
               ++finished;
             },
             {});
  REQUIRE(wait_for([&] { return started == 1; }));

  SUBCASE("stop waits for the pass") {
    loop.stop(5s);
    CHECK(finished == 1);
  }
  SUBCASE("stop under an AbandonScope abandons it") {
    const auto t0 = std::chrono::steady_clock::now();
    {
      BackgroundLoop::AbandonScope crash;
      loop.stop(5s);
    }
    CHECK(std::chrono::steady_clock::now() - t0 < 600ms);
    CHECK(!loop.running());
    std::this_thread::sleep_for(1200ms);  // past the pass's 1 s
    CHECK(finished == 0);
    CHECK(started == 1);
  }
}

TEST_CASE("the admin plane crashes a service, start brings it back, the gateway refuses") {
  using namespace shopctl::test_support;
  auto shop = start_shop();
  shopctl::http::BlockingClient client;
  const HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  const auto base = shop->url("gateway") + "/_admin/services/";

  auto crashed = send(client, "POST", base + "order/crash", std::nullopt, admin);
  CHECK(crashed.status == 200);
  CHECK(crashed.body.value("action", "") == "crash");
  CHECK(crashed.body.value("running", true) == false);
  // The order service is down: the gateway says so instead of hanging.
  auto token = demo_token(client, *shop);
  auto cart = send(client, "GET", shop->url("gateway") + "/api/cart", std::nullopt,
                   {{"Authorization", "Bearer " + token}});
  CHECK(cart.status >= 500);

  CHECK(send(client, "POST", base + "order/start", std::nullopt, admin).status == 200);
  cart = send(client, "GET", shop->url("gateway") + "/api/cart", std::nullopt,
              {{"Authorization", "Bearer " + token}});
  CHECK(cart.status == 200);

  CHECK(send(client, "POST", base + "gateway/crash", std::nullopt, admin).status == 409);
  CHECK(send(client, "POST", base + "order/explode", std::nullopt, admin).status == 404);
  // An unknown action is one for the gateway too (it was 409 cannot_stop_gateway; an outside
  // probe), and a refused restart says restart, not stop.
  auto bogus = send(client, "POST", base + "gateway/bogus", std::nullopt, admin);
  CHECK(bogus.status == 404);
  CHECK(bogus.body["error"]["message"] == "action must be stop, start, restart or crash");
  auto restart = send(client, "POST", base + "gateway/restart", std::nullopt, admin);
  CHECK(restart.status == 409);
  CHECK(restart.body["error"]["message"].get<std::string>().find("cannot restart itself") !=
        std::string::npos);
  // A crash of a service that is down already does nothing.
  shop->crash_service("payment");
  shop->crash_service("payment");
  shop->start_service("payment");
  CHECK(shop->services().at(3).running);
}

// An operator's typo was taken with 200 and did half of what they meant: {"price_cent": 0}
// beside "available", {"by": "1s", "x": 1}, {"end_of_run": true, "x": 1}; `since` given twice
// read the first (an outside probe). Each is 400 now, and changes nothing.
TEST_CASE("the admin plane refuses unknown keys and repeated parameters, and changes nothing") {
  using namespace shopctl::test_support;
  auto shop = start_shop();
  shopctl::http::BlockingClient client;
  const HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  const auto gw = shop->url("gateway");
  const auto offset = shop->clock().offset();
  auto clock = send(client, "POST", gw + "/_admin/clock/advance",
                    nlohmann::json{{"by", "1s"}, {"x", 1}}, admin);
  CHECK(clock.status == 400);
  CHECK(clock.body["error"]["code"] == "invalid_body");
  CHECK(clock.body["error"]["details"]["field"] == "x");
  CHECK(shop->clock().offset() == offset);

  auto reset = send(client, "POST", gw + "/_admin/reset",
                    nlohmann::json{{"end_of_run", true}, {"x", 1}}, admin);
  CHECK(reset.status == 400);
  CHECK(send(client, "POST", gw + "/_admin/reset", nlohmann::json::object(), admin).status == 200);

  const auto product = shop->url("catalog") + "/_admin/products/p-001";
  auto typo =
      send(client, "POST", product, nlohmann::json{{"price_cent", 0}, {"available", false}}, admin);
  CHECK(typo.status == 400);
  CHECK(typo.body["error"]["details"]["field"] == "price_cent");
  auto token = demo_token(client, *shop);
  auto read = send(client, "GET", gw + "/api/catalog/products/p-001", std::nullopt,
                   {{"Authorization", "Bearer " + token}});
  CHECK(read.body["available"] == true);

  CHECK(send(client, "GET", gw + "/_admin/calls?since=1&since=2", std::nullopt, admin).status ==
        400);
  CHECK(send(client, "GET", gw + "/_admin/calls?since=1", std::nullopt, admin).status == 200);
}

// A request still in flight when its service stopped ran on afterwards: when the shop was then
// destroyed, it ran into the freed service (`shopctl run` segfaulted on a scenario that timed
// out during a hung request; an outside probe). Now a stop lets it finish within 1 s, with
// the service's storage still open, and abandons it after that: once stop returns, none of
// its requests takes another step.
TEST_CASE("once a service's stop returns, its requests in flight have finished or been abandoned") {
  using namespace shopctl::test_support;
  auto shop = start_shop();
  shopctl::http::BlockingClient admin_client;
  const HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  const auto gateway = shop->url("gateway");
  const std::string token = demo_token(admin_client, *shop);
  // The gateway's own requests are held `delay_ms` before they are routed to the catalog.
  auto delayed_catalog_read = [&](int delay_ms) {
    REQUIRE(send(admin_client, "POST", gateway + "/_admin/faults",
                 nlohmann::json{{"target", "gateway"},
                                {"from", "client"},
                                {"match", {{"path", "/api/catalog/*"}}},
                                {"type", "delay"},
                                {"delay_ms", delay_ms}},
                 admin)
                .status == 201);
    return std::thread([url = gateway + "/api/catalog/categories", token] {
      shopctl::http::BlockingClient client;
      shopctl::http::Request req;
      req.method = "GET";
      req.headers.set("Authorization", "Bearer " + token);
      try {
        client.send_url(url, req, 5s);
      } catch (const std::exception&) {
      }
    });
  };
  auto catalog_calls = [&] {
    int n = 0;
    for (const auto& r : shop->calls().since(0))
      n += r.caller == "gateway" && r.callee == "catalog";
    return n;
  };
  SUBCASE("a short one finishes before stop returns") {
    auto client = delayed_catalog_read(300);
    std::this_thread::sleep_for(100ms);  // in the delay
    shop->stop_service("gateway");
    CHECK(catalog_calls() == 1);
    client.join();
  }
  SUBCASE("a long one is abandoned, and takes no step after stop returns") {
    auto client = delayed_catalog_read(1600);
    std::this_thread::sleep_for(100ms);
    const auto before = std::chrono::steady_clock::now();
    shop->stop_service("gateway");
    CHECK(std::chrono::steady_clock::now() - before < 2500ms);
    client.join();
    std::this_thread::sleep_for(1800ms);  // past the end of its delay
    CHECK(catalog_calls() == 0);
  }
}
