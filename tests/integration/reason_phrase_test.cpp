// Every status line names its status: an abort fault's 418, 299 or 522 went out as
// "HTTP/1.1 418 <unknown-status>" (Beast's placeholder) from both writers of a status line, the
// server's own head and Beast's (an outside probe). A status without a name in RFC 9110 gets its
// class's.
#include <doctest/doctest.h>

#include <string>

#include "../support/running_server.hpp"
#include "../support/test_shop.hpp"

namespace {

namespace asio = boost::asio;
namespace http = shopctl::http;
using namespace std::chrono_literals;

// The status line of the answer to `method` /STATUS.
std::string status_line(std::uint16_t port, const std::string& method, int status) {
  shopctl::test_support::RawConnection c(port);
  REQUIRE(c.connected());
  REQUIRE(c.send(method + " /" + std::to_string(status) +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  c.read_until_closed(5s);
  return c.received.substr(0, c.received.find("\r\n"));
}

}  // namespace

TEST_CASE("a status line names every status, one RFC 9110 has no name for by its class") {
  shopctl::test_support::RunningServer server(
      [](http::Request& request) -> asio::awaitable<http::Response> {
        http::Response r;
        r.status = std::stoi(request.target.substr(1));
        r.headers.set("Content-Type", "application/json");
        r.body = "{}";
        co_return r;
      });
  const auto port = server.server.port();
  for (const std::string method : {"GET", "HEAD"}) {
    INFO(method);
    CHECK(status_line(port, method, 200) == "HTTP/1.1 200 OK");
    CHECK(status_line(port, method, 404) == "HTTP/1.1 404 Not Found");
    CHECK(status_line(port, method, 418) == "HTTP/1.1 418 Client Error");
    CHECK(status_line(port, method, 299) == "HTTP/1.1 299 Successful");
    CHECK(status_line(port, method, 522) == "HTTP/1.1 522 Server Error");
  }
}
