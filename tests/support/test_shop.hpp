#pragma once
// What the integration and architecture tests share: a whole shop on ephemeral ports with test
// settings, and one HTTP request to it with the answer parsed. Header-only; real sockets.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/http/blocking_client.hpp"
#include "platform/security/password.hpp"
#include "shop/shop.hpp"

namespace shopctl::test_support {

struct Answer {
  int status = 0;
  nlohmann::json body;  // discarded when the answer is not JSON
  std::string raw;
  http::Headers headers;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Starts a shop with `config` plus the test settings: fast password hashing, two threads, no
// log lines. Ports are ephemeral and the data folder temporary unless `config` says otherwise.
inline std::unique_ptr<shop::Shop> start_shop(shop::ShopConfig config = {}) {
  config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
  shop::ShopOptions options;
  options.threads = 2;
  options.log_level = platform::LogLevel::off;
  auto s = std::make_unique<shop::Shop>(std::move(config), options);
  s->start();
  return s;
}

// One request to `url` (http://host:port/path...). A JSON `body` (or a `raw_body`) goes with
// Content-Type: application/json unless `headers` set another one.
inline Answer send(http::BlockingClient& client, const std::string& method, const std::string& url,
                   const std::optional<nlohmann::json>& body = {}, const HeaderList& headers = {},
                   const std::optional<std::string>& raw_body = {},
                   std::chrono::nanoseconds timeout = std::chrono::seconds(15)) {
  http::Request request;
  request.method = method;
  if (body || raw_body) {
    request.headers.set("Content-Type", "application/json");
    request.body = raw_body ? *raw_body : body->dump();
  }
  for (const auto& [name, value] : headers) request.headers.set(name, value);
  // The target goes as written (a URL parser would refuse `order->catalog` in a breaker's path).
  const auto path_start = url.find('/', std::string("http://").size());
  const http::Endpoint endpoint = http::parse_base_url(url.substr(0, path_start));
  request.target = path_start == std::string::npos ? "/" : url.substr(path_start);
  auto response = client.send(endpoint, std::move(request), timeout);
  Answer answer;
  answer.status = response.status;
  answer.body = nlohmann::json::parse(response.body, nullptr, false);
  answer.raw = std::move(response.body);
  answer.headers = std::move(response.headers);
  return answer;
}

// Signs the demo user in through the gateway and returns the access token.
inline std::string demo_token(http::BlockingClient& client, shop::Shop& shop) {
  auto login = send(client, "POST", shop.url("gateway") + "/api/auth/login",
                    nlohmann::json{{"email", shop.config().demo_email},
                                   {"password", shop.config().demo_password}});
  REQUIRE(login.status == 200);
  return login.body.at("access_token").get<std::string>();
}

}  // namespace shopctl::test_support
