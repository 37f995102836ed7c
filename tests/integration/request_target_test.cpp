// A request line whose target is not an absolute path ("POST api/auth HTTP/1.1") is a
// malformed request: 400 in the error shape from every port, never a 500 (the gateway used to
// cut the route prefix off a path shorter than it and answer 500 internal_error).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

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

}  // namespace
