// DNS rebinding: a page whose own name now points at 127.0.0.1 is same-origin with the shop and
// reads its answers; its requests carry that name in Host. A request from outside that names
// something other than an address, localhost, a peer's name, this machine or an allowed name
// is refused on every port (test red before: every such request was served).
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <yaml-cpp/yaml.h>

#include "../support/test_shop.hpp"
#include "platform/security/service_credential.hpp"
#include "shop/config.hpp"
#include "shop/shop.hpp"

namespace {

using namespace std::chrono_literals;
using shopctl::test_support::port_of;
using shopctl::test_support::RawConnection;

// The status and the whole answer of one request with `host` in its Host field.
std::pair<int, std::string> ask(unsigned short port, const std::string& target,
                                const std::string& host, const std::string& extra = "") {
  RawConnection c(port);
  REQUIRE(c.connected());
  REQUIRE(c.send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra +
                 "Connection: close\r\n\r\n"));
  c.read_until_closed(5s);
  int status = c.received.size() > 12 ? std::stoi(c.received.substr(9, 3)) : 0;
  return {status, c.received};
}

}  // namespace

TEST_CASE("a request from outside that names another host is 421 on every port") {
  auto shop = shopctl::test_support::start_shop();
  const auto gateway = port_of(shop->url("gateway"));
  const auto p = std::to_string(gateway);
  for (const std::string path :
       {"/api/catalog/products", "/metrics", "/health/live", "/", "/openapi.json", "/console/"}) {
    CAPTURE(path);
    const auto got = ask(gateway, path, "rebound.example:" + p);
    const std::string& answer = got.second;
    CAPTURE(answer.substr(0, 400));
    CHECK(got.first == 421);
    CHECK(answer.find("\"host_not_allowed\"") != std::string::npos);
    CHECK(answer.find("http.allowed_hosts") != std::string::npos);
  }
  for (const std::string& host : {"127.0.0.1:" + p, "localhost:" + p, std::string("LocalHost"),
                                  std::string("shop.localhost"), "[::1]:" + p}) {
    CAPTURE(host);
    CHECK(ask(gateway, "/health/live", host).first == 200);
  }
  // The provider's pay page is public too.
  CHECK(ask(port_of(shop->url("provider")), "/health/live", "rebound.example").first == 421);
  // A service credential is not something a rebinding page has: a peer's call names any host.
  shopctl::platform::security::ServiceCredentials credentials(shop->config().service_key,
                                                              shop->clock());
  CHECK(ask(port_of(shop->url("catalog")), "/products/p-001", "catalog.internal",
            "X-Service-Token: " + credentials.token_for("order") + "\r\n")
            .first == 200);
  // Without one, an internal port refuses the name before anything else.
  CHECK(ask(port_of(shop->url("catalog")), "/products/p-001", "catalog.internal").first == 421);
  // An empty Host names nothing, so not this shop: it was served on every port (an outside
  // probe), the operator endpoints and the admin plane included.
  for (const std::string& host : {std::string(), std::string(" "), ":" + p}) {
    CAPTURE(host);
    const auto got = ask(gateway, "/metrics", host);
    CHECK(got.first == 421);
    CHECK(got.second.find("an empty Host names no shop") != std::string::npos);
    CHECK(ask(port_of(shop->url("catalog")), "/metrics", host).first == 421);
  }
}

TEST_CASE("http.allowed_hosts and the peers' names let a name in; \"*\" lets every name in") {
  shopctl::shop::ShopConfig config;
  REQUIRE(shopctl::shop::apply_config(YAML::Load("http: {allowed_hosts: [shop.example]}"), config)
              .empty());
  auto shop = shopctl::test_support::start_shop(config);
  const auto gateway = port_of(shop->url("gateway"));
  CHECK(ask(gateway, "/health/live", "Shop.Example:443").first == 200);
  CHECK(ask(gateway, "/health/live", "www.shop.example").first == 421);
  shop.reset();

  shopctl::shop::ShopConfig any;
  REQUIRE(shopctl::shop::apply_config(YAML::Load("http: {allowed_hosts: ['*']}"), any).empty());
  auto open = shopctl::test_support::start_shop(any);
  CHECK(ask(port_of(open->url("gateway")), "/health/live", "rebound.example").first == 200);
}
