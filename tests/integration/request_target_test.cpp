// A request line whose target is not an absolute path ("POST api/auth HTTP/1.1") is a
// malformed request: 400 in the error shape from every port, never a 500 (the gateway used to
// cut the route prefix off a path shorter than it and answer 500 internal_error).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "shop/shop.hpp"

namespace {

namespace http = shopctl::http;

TEST_CASE("a request target without the leading slash answers 400 bad_request, not 500") {
  auto shop = shopctl::test_support::start_shop();
  http::BlockingClient client;
  for (const std::string service : {"gateway", "auth", "catalog"}) {
    for (const std::string target : {"api/auth", "api/auth/login", "products", "*"}) {
      CAPTURE(service);
      CAPTURE(target);
      http::Request req;
      req.method = "POST";
      req.target = target;
      req.headers.set("Content-Type", "application/json");
      req.body = R"({"email":"demo@shop.test","password":"demo-password-1"})";
      auto [endpoint, ignored] = http::split_url(shop->url(service) + "/");
      client.reset();  // the server closes the connection after a malformed request
      auto res = client.send(endpoint, req, std::chrono::seconds(10));
      CHECK(res.status == 400);
      auto body = nlohmann::json::parse(res.body, nullptr, false);
      CHECK(body["error"]["code"] == "bad_request");
    }
  }
}

// A well-formed request line of another HTTP version is 505 (RFC 9110 15.6.6), not a
// malformed request (it was 400 "bad version", as was an HTTP/2 client's connection preface);
// a request line whose version is malformed stays 400.
TEST_CASE("a request of another HTTP version is 505, a malformed version 400") {
  auto shop = shopctl::test_support::start_shop();
  auto status_of = [&](const std::string& service, const std::string& head) {
    shopctl::test_support::RawConnection c(shopctl::test_support::port_of(shop->url(service)));
    REQUIRE(c.connected());
    REQUIRE(c.send(head));
    c.read_until_closed(std::chrono::seconds(5));
    return c.received.size() > 12 ? std::stoi(c.received.substr(9, 3)) : 0;
  };
  for (const std::string service : {"gateway", "catalog"}) {
    CAPTURE(service);
    for (const std::string version : {"HTTP/2.0", "HTTP/3.0", "HTTP/0.9"}) {
      CAPTURE(version);
      CHECK(status_of(service, "GET /health/live " + version + "\r\nHost: 127.0.0.1\r\n\r\n") ==
            505);
    }
    CHECK(status_of(service, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505);
    {
      // An answer to HEAD has no body, a refusal too.
      shopctl::test_support::RawConnection c(shopctl::test_support::port_of(shop->url(service)));
      REQUIRE(c.send("HEAD /health/live HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n"));
      c.read_until_closed(std::chrono::seconds(5));
      CHECK(c.received.starts_with("HTTP/1.1 505"));
      CHECK(c.received.ends_with("\r\n\r\n"));
    }
    for (const std::string version : {"HTTX/1.1", "HTTP/1.1x", "HTTP/11", "http/2.0"}) {
      CAPTURE(version);
      CHECK(status_of(service, "GET /health/live " + version + "\r\nHost: 127.0.0.1\r\n\r\n") ==
            400);
    }
    CHECK(status_of(service,
                    "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                    "close\r\n\r\n") == 200);
    // A higher minor version of HTTP/1 is served as HTTP/1.1 (RFC 9112 2.3); it was 505.
    for (const std::string version : {"HTTP/1.2", "HTTP/1.9"}) {
      CAPTURE(version);
      CHECK(status_of(service, "GET /health/live " + version +
                                   "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n") == 200);
    }
    {
      // Kept alive as HTTP/1.1 is, and read the same when the line comes in two pieces.
      shopctl::test_support::RawConnection c(shopctl::test_support::port_of(shop->url(service)));
      REQUIRE(c.send("GET /health/live HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\nGET /health/li"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      REQUIRE(c.send("ve HTTP/1.2\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
      c.read_until_closed(std::chrono::seconds(5));
      CHECK(c.received.starts_with("HTTP/1.1 200"));
      CHECK(c.received.find("HTTP/1.1 200", 12) != std::string::npos);
    }
  }
}

}  // namespace
