// A callee's own Retry-After reaches the caller's refusal through every typed client, not only
// order's client of payment: ResilientCaller keeps the wait the callee last asked for, and
// retry_after_seconds() gives the later of it and the breaker's. Order's catalog client said 1
// to a catalog that had answered "Retry-After: 30" (the last session's review).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "../support/running_server.hpp"
#include "platform/clock.hpp"
#include "platform/service_context.hpp"
#include "services/order/catalog_client.hpp"

namespace {

namespace asio = boost::asio;
namespace platform = shopctl::platform;
namespace http = shopctl::http;

// What the catalog's one attempt ended as: its Retry-After for the shopper, or -1 for a product.
// Run on the io_context of the client's service context (its pooled connections live there).
int retry_after_of_one_read(asio::io_context& io, shopctl::order::CatalogClient& client) {
  io.restart();
  // Named: product() keeps references to its arguments until it ends, after this statement
  // (temporaries here were a stack-use-after-scope under ASan).
  const std::string product = "p-001";
  const std::string trace = "trace-1";
  auto read = asio::co_spawn(io, client.product(product, trace), asio::use_future);
  io.run();
  try {
    (void)read.get();
    return -1;
  } catch (const shopctl::order::CatalogUnavailable& e) {
    return e.retry_after_seconds();
  }
}

}  // namespace

TEST_CASE("a callee's Retry-After is the typed client's, until the callee answers again") {
  std::atomic<int> mode{0};  // 0: 503 with Retry-After: 30; 1: a product; 2: 503 without one
  shopctl::test_support::RunningServer catalog(
      [&](http::Request&) -> asio::awaitable<http::Response> {
        http::Response r;
        r.headers.set("Content-Type", "application/json");
        if (mode.load() == 1) {
          r.status = 200;
          r.body = R"({"id":"p-001","name":"Mug","currency":"EUR","price_cents":900,)"
                   R"("available":true})";
        } else {
          r.status = 503;
          if (mode.load() == 0) r.headers.set("Retry-After", "30");
          r.body = R"({"error":{"code":"busy","message":"busy"}})";
        }
        co_return r;
      });
  asio::io_context io;
  platform::SimulatedClock clock;
  platform::FaultTable faults;
  platform::CallLog calls;
  platform::security::ServiceCredentials credentials(std::string(64, 'k'), clock);
  platform::PeerDirectory peers;
  peers.set("catalog", {"127.0.0.1", catalog.server.port()});
  platform::Logger log(platform::LogLevel::error, platform::LogFormat::text, stderr);
  platform::ServiceContext ctx{io,    clock,         faults,
                               calls, credentials,   peers,
                               log,   "admin-token", std::filesystem::temp_directory_path()};
  platform::EdgeSettings settings;
  settings.retry.max_attempts = 1;
  settings.breaker.minimum_number_of_calls = 100;  // the breaker stays CLOSED throughout
  shopctl::order::CatalogClient client(ctx, settings, nullptr, 7);

  // Before: 1, the CLOSED breaker's word, whatever the catalog said.
  const int first = retry_after_of_one_read(io, client);
  CHECK(first >= 29);
  CHECK(first <= 30);
  // The shop clock moves the wait on: 10 s later, 20 are left (rounded up).
  REQUIRE(clock.advance(std::chrono::seconds(10)));
  const int later = client.edge().retry_after_seconds();
  CHECK(later >= 19);
  CHECK(later <= 20);
  mode = 1;
  CHECK(retry_after_of_one_read(io, client) == -1);
  // An answer under 500 ended the catalog's wait: a 503 without Retry-After is the breaker's 1.
  mode = 2;
  CHECK(retry_after_of_one_read(io, client) == 1);
}
