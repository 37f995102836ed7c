// A database that cannot be written now (a full disk, an I/O error, a lock) is the machine's
// condition, not a bug: the request is answered 503 storage_unavailable with Retry-After, and
// nothing was acknowledged. An outside probe filled a tmpfs under a running shop: checkout,
// the cart and the provider's pay page answered 500 internal_error (test red before).
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <filesystem>
#include <future>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "platform/clock.hpp"
#include "platform/service_host.hpp"
#include "platform/store/database.hpp"

namespace {

namespace asio = boost::asio;
namespace platform = shopctl::platform;
namespace http = shopctl::http;

struct Host {
  Host()
      : credentials(std::string(64, 'k'), clock),
        log(platform::LogLevel::off),
        ctx{io,    clock,         faults,
            calls, credentials,   peers,
            log,   "admin-token", std::filesystem::temp_directory_path()},
        host(ctx, "order", 0) {}

  http::Response ask(const std::string& path) {
    http::Request req;
    req.method = "POST";
    req.target = path;
    auto answer = asio::co_spawn(io, host.serve(req), asio::use_future);
    io.restart();
    io.run();
    return answer.get();
  }

  asio::io_context io;
  platform::SimulatedClock clock;
  platform::FaultTable faults;
  platform::CallLog calls;
  platform::security::ServiceCredentials credentials;
  platform::PeerDirectory peers;
  platform::Logger log;
  platform::ServiceContext ctx;
  platform::ServiceHost host;
};

}  // namespace

TEST_CASE("a full disk, an I/O error or a lock is 503 storage_unavailable; a bug stays 500") {
  Host h;
  auto throwing = [](int code, std::string what) {
    return [code, what](http::Request&) -> asio::awaitable<http::Response> {
      throw platform::DatabaseError(code, what);
      co_return http::Response{};
    };
  };
  const auto any = http::Access::anyone();
  h.host.routes().add("POST", "/full", any,
                      throwing(SQLITE_FULL, "database or disk is full in: COMMIT"));
  h.host.routes().add("POST", "/io", any, throwing(SQLITE_IOERR_FSYNC, "disk I/O error"));
  h.host.routes().add("POST", "/busy", any, throwing(SQLITE_BUSY, "database is locked"));
  h.host.routes().add("POST", "/closed", any, throwing(SQLITE_MISUSE, "database is closed"));
  h.host.routes().add("POST", "/corrupt", any,
                      throwing(SQLITE_CORRUPT, "database disk image is malformed"));
  h.host.routes().add("POST", "/bug", any, throwing(SQLITE_ERROR, "no such column: x"));

  for (const std::string path : {"/full", "/io", "/busy", "/closed"}) {
    CAPTURE(path);
    auto res = h.ask(path);
    CAPTURE(res.body);
    CHECK(res.status == 503);
    CHECK(res.headers.get("Retry-After").value_or("") == "1");
    auto body = nlohmann::json::parse(res.body);
    CHECK(body["error"]["code"] == "storage_unavailable");
    // SQLite's words, without the statement they came from.
    CHECK(res.body.find(" in: ") == std::string::npos);
  }
  CHECK(h.ask("/full").body.find("database or disk is full") != std::string::npos);
  for (const std::string path : {"/corrupt", "/bug"}) {
    CAPTURE(path);
    CHECK(h.ask(path).status == 500);
  }
}
