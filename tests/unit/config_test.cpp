// Unit tests of src/shop/config: the strict reading of settings (here the order's payment
// timeout).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <yaml-cpp/yaml.h>

#include "shop/config.hpp"

namespace {

using namespace std::chrono_literals;
namespace shop = shopctl::shop;

std::vector<shop::ConfigIssue> apply_yaml(const std::string& yaml, shop::ShopConfig& config) {
  return shop::apply_config(YAML::Load(yaml), config);
}

}  // namespace

TEST_CASE("an unpaid order expires after 30 minutes unless order.payment_timeout says otherwise") {
  shop::ShopConfig config;
  CHECK(config.order_payment_timeout == 30min);
  CHECK(apply_yaml("order: {payment_timeout: 90s}", config).empty());
  CHECK(config.order_payment_timeout == 90s);
  CHECK(shop::describe_config(config).find("\"payment_timeout\": \"90s\"") != std::string::npos);
}

TEST_CASE("order.payment_timeout must be a duration of at least one second") {
  for (const std::string bad : {"0s", "500ms", "soon", "-5m", "[1m]"}) {
    CAPTURE(bad);
    shop::ShopConfig config;
    auto issues = apply_yaml("order:\n  payment_timeout: " + bad + "\n", config);
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].message.find("order.payment_timeout") != std::string::npos);
    CHECK(issues[0].line == 2);
    CHECK(config.order_payment_timeout == 30min);
  }
  shop::ShopConfig config;
  auto issues = apply_yaml("order: {payment_timout: 10m}", config);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].message.find("unknown key 'payment_timout'") != std::string::npos);
}
