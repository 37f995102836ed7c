// Unit tests of src/services/order/order_model: the Order JSON, timestamps and request checks.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "domain_error_code.hpp"
#include "platform/domain_error.hpp"
#include "services/order/order_model.hpp"

namespace order = shopctl::order;
using shopctl::platform::DomainError;
using shopctl::testing::error_code_of;

TEST_CASE("timestamps are ISO-8601 UTC with milliseconds") {
  CHECK(order::format_timestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(order::format_timestamp(1'700'000'000'250) == "2023-11-14T22:13:20.250Z");
  CHECK(order::format_timestamp(951'782'400'000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("an order renders in the contract's shape with null for missing reasons and payment") {
  order::Order o;
  o.order_id = "ord_1";
  o.user_id = "usr_1";
  o.status = order::OrderStatus::FAILED;
  o.items = {{"p-001", "Coffee", 2, 1290, 2580}};
  o.total_cents = 2580;
  o.currency = "EUR";
  o.created_at_ms = 1'700'000'000'000;
  o.updated_at_ms = 1'700'000'001'000;
  o.history = {{order::OrderStatus::PAYMENT_PENDING, 1'700'000'000'000, ""},
               {order::OrderStatus::FAILED, 1'700'000'001'000, "payment_unavailable"}};
  auto json = order::to_json(o);
  CHECK(json["order_id"] == "ord_1");
  CHECK(json["status"] == "FAILED");
  CHECK(json["items"][0]["line_total_cents"] == 2580);
  CHECK(json["items"][0]["unit_price_cents"] == 1290);
  CHECK(json["total_cents"] == 2580);
  CHECK(json["currency"] == "EUR");
  CHECK(json["created_at"] == "2023-11-14T22:13:20.000Z");
  CHECK(json["updated_at"] == "2023-11-14T22:13:21.000Z");
  CHECK(json["payment"].is_null());
  REQUIRE(json["history"].size() == 2);
  CHECK(json["history"][0]["status"] == "PAYMENT_PENDING");
  CHECK(json["history"][0]["reason"].is_null());
  CHECK(json["history"][1]["reason"] == "payment_unavailable");
  CHECK_FALSE(json.contains("user_id"));

  o.payment = order::OrderPayment{"pay_1", "PENDING", "http://127.0.0.1:1/pay/pi_1"};
  json = order::to_json(o);
  CHECK(json["payment"]["payment_id"] == "pay_1");
  CHECK(json["payment"]["status"] == "PENDING");
  CHECK(json["payment"]["pay_url"] == "http://127.0.0.1:1/pay/pi_1");
}

TEST_CASE("an empty cart has no currency and a zero total") {
  auto json = order::cart_json({}, "");
  CHECK(json["items"].empty());
  CHECK(json["total_cents"] == 0);
  CHECK(json["currency"].is_null());

  json = order::cart_json({{"p-001", "Coffee", 3, 100}}, "EUR");
  CHECK(json["total_cents"] == 300);
  CHECK(json["currency"] == "EUR");
}

TEST_CASE("a product id must fit into the catalog's ids list") {
  CHECK_NOTHROW(order::validate_product_id("p-001", "product_id"));
  CHECK(error_code_of([] { order::validate_product_id("", "product_id"); }) == "invalid_field");
  CHECK(error_code_of([] { order::validate_product_id("a,b", "product_id"); }) == "invalid_field");
  CHECK(error_code_of([] { order::validate_product_id("a\nb", "product_id"); }) == "invalid_field");
  // The C1 controls too (U+0080 to U+009F; red before: \u009b passed), not the letters past them.
  CHECK(error_code_of([] { order::validate_product_id("a\xc2\x9b", "product_id"); }) ==
        "invalid_field");
  CHECK(error_code_of([] { order::validate_product_id("\xc2\x80", "product_id"); }) ==
        "invalid_field");
  CHECK_NOTHROW(order::validate_product_id("caf\xc3\xa9-\xc2\xa0x", "product_id"));
  CHECK(error_code_of([] { order::validate_product_id(std::string(101, 'p'), "product_id"); }) ==
        "invalid_field");
  // 1 to 100 characters, as the message says, not bytes: 51 'é' (102 bytes) were refused.
  std::string accented;
  for (int i = 0; i < 100; ++i) accented += "\xc3\xa9";
  CHECK_NOTHROW(order::validate_product_id(accented, "product_id"));
  CHECK(error_code_of([&] { order::validate_product_id(accented + "\xc3\xa9", "product_id"); }) ==
        "invalid_field");
}

TEST_CASE("a refused product id says what is wrong with it") {
  // The details said only max_length, for an empty id or a comma too (an outside probe).
  const auto reason_of = [](std::string id) {
    try {
      order::validate_product_id(id, "product_id");
    } catch (const shopctl::platform::DomainError& e) {
      CHECK(e.details()["max_length"] == 100);
      return e.details()["reason"].get<std::string>();
    }
    return std::string("accepted");
  };
  CHECK(reason_of("") == "empty");
  CHECK(reason_of("a,b") == "comma");
  CHECK(reason_of("a\tb") == "control_character");
  CHECK(reason_of("a\xc2\x9b") == "control_character");
  CHECK(reason_of(std::string(101, 'p')) == "too_long");
  CHECK(reason_of("p-001") == "accepted");
}

TEST_CASE("checkout takes the catalog's latest prices, or names every product it cannot sell") {
  const std::vector<order::CartLine> lines = {{"p-001", "Coffee", 2, 100},
                                              {"p-002", "Tea", 1, 250}};
  std::map<std::string, order::ProductSnapshot> products = {
      {"p-001", {"p-001", "SKU-1", "Coffee", 120, "EUR", true}},
      {"p-002", {"p-002", "SKU-2", "Tea", 250, "EUR", true}}};
  auto prices = order::latest_cart_prices(lines, "EUR", products);
  CHECK(prices == std::map<std::string, std::int64_t>{{"p-001", 120}, {"p-002", 250}});

  products["p-001"].available = false;
  products["p-002"].currency = "USD";
  try {
    order::latest_cart_prices(lines, "EUR", products);
    FAIL("no error");
  } catch (const DomainError& e) {
    CHECK(e.kind() == shopctl::platform::ErrorKind::conflict);
    CHECK(e.code() == "product_unavailable");
    CHECK(e.details()["products"] ==
          nlohmann::json::array({{{"product_id", "p-001"}, {"reason", "unavailable"}},
                                 {{"product_id", "p-002"}, {"reason", "currency_changed"}}}));
  }
  products.erase("p-001");
  CHECK(error_code_of([&] { order::latest_cart_prices(lines, "EUR", products); }) ==
        "product_unavailable");
}

TEST_CASE("a new order is PAYMENT_PENDING at the priced total, with one history entry") {
  const auto priced = order::price_cart({{"p-001", "Coffee", 2, 120}}, "EUR");
  auto o = order::new_pending_order("ord_1", "usr_1", priced, 1'714'566'600'250);
  CHECK(o.order_id == "ord_1");
  CHECK(o.user_id == "usr_1");
  CHECK(o.status == order::OrderStatus::PAYMENT_PENDING);
  CHECK(o.total_cents == 240);
  CHECK(o.currency == "EUR");
  CHECK(o.items.size() == 1);
  CHECK(o.created_at_ms == 1'714'566'600'250);
  CHECK(o.updated_at_ms == o.created_at_ms);
  CHECK_FALSE(o.payment);
  REQUIRE(o.history.size() == 1);
  CHECK(o.history[0].status == order::OrderStatus::PAYMENT_PENDING);
  CHECK(o.history[0].reason.empty());
}
