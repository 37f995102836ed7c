// Shop::handle_in_process: a request through one service's pipeline without a socket (the
// HTTP fuzz target's seam) answers as the same request on the port does.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/security/service_credential.hpp"
#include "shop/shop.hpp"

namespace {

using nlohmann::json;
namespace http = shopctl::http;

TEST_CASE("a request handled in process gets the pipeline's answers: routing, auth, handler") {
  auto shop = shopctl::test_support::start_shop();

  http::Request no_token;
  no_token.method = "GET";
  no_token.target = "/api/cart";
  auto refused = shop->handle_in_process("gateway", no_token);
  CHECK(refused.status == 401);
  CHECK(json::parse(refused.body).at("error").at("code").is_string());

  http::Request product;
  product.method = "GET";
  product.target = "/products/p-001";
  auto anonymous = shop->handle_in_process("catalog", product);
  CHECK(anonymous.status == 401);  // internal port: a credential is needed

  shopctl::platform::security::ServiceCredentials credentials(shop->config().service_key,
                                                              shop->clock());
  product.headers.set("X-Service-Token", credentials.token_for("order"));
  auto found = shop->handle_in_process("catalog", product);
  REQUIRE(found.status == 200);
  CHECK(json::parse(found.body).at("id") == "p-001");

  CHECK_THROWS_AS(shop->handle_in_process("nowhere", product), std::invalid_argument);

  // A credential lives in real time: one signed just before the shop's clock jumps is still
  // good just after (it was refused as expired, and a payment-result callback with it was lost).
  REQUIRE(shop->clock().advance(std::chrono::minutes(31)));
  auto after_jump = shop->handle_in_process("catalog", product);
  CAPTURE(after_jump.body);
  CHECK(after_jump.status == 200);
}

}  // namespace

// Two shops started at once on a new folder: the second read identity.json before the first
// had written it, wrote its own secrets over the first's, and only then met the first's
// database locks. The running shop came back on the refused one's secrets at its next start
// (an outside probe). The folder is locked before identity.json is read: the second is refused
// before it writes anything. (Red before: identity.json, removed to stand for "not written
// yet", held the refused shop's secrets.)
TEST_CASE("a second shop on a folder in use is refused before it writes identity.json") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("shopctl-folder-lock-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  shopctl::shop::ShopConfig config;
  config.data_dir = dir;
  {
    auto first = shopctl::test_support::start_shop(config);
    const auto identity = first->identity_file();
    REQUIRE(std::filesystem::exists(identity));
    std::filesystem::remove(identity);
    std::string refused;
    try {
      auto second = shopctl::test_support::start_shop(config);
    } catch (const std::exception& e) {
      refused = e.what();
    }
    CHECK(refused.find("is in use by another shop") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(identity));
  }
  // Released with the shop: the folder starts again.
  CHECK_NOTHROW(shopctl::test_support::start_shop(config));
  std::filesystem::remove_all(dir);
}
