// Unit tests of src/services/order/order_model: the Order JSON, timestamps and request checks.
#include <doctest/doctest.h>

#include <string>

#include "platform/error.hpp"
#include "services/order/order_model.hpp"

namespace order = shopctl::order;
using shopctl::platform::ApiError;

namespace {

std::string error_code_of(auto&& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e.code();
  }
  return "no error";
}

}  // namespace

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

TEST_CASE("an Idempotency-Key is 1 to 200 printable ASCII characters") {
  CHECK_NOTHROW(order::validate_idempotency_key("a"));
  CHECK_NOTHROW(order::validate_idempotency_key(std::string(200, 'k')));
  CHECK_NOTHROW(order::validate_idempotency_key("3f9a-11ee_b962:0242ac120002"));
  CHECK(error_code_of([] { order::validate_idempotency_key(""); }) == "invalid_idempotency_key");
  CHECK(error_code_of([] { order::validate_idempotency_key(std::string(201, 'k')); }) ==
        "invalid_idempotency_key");
  CHECK_NOTHROW(order::validate_idempotency_key("has space"));
  CHECK(error_code_of([] { order::validate_idempotency_key("tab\there"); }) ==
        "invalid_idempotency_key");
  CHECK(error_code_of([] { order::validate_idempotency_key("caf\xc3\xa9"); }) ==
        "invalid_idempotency_key");
}

TEST_CASE("a product id must fit into the catalog's ids list") {
  CHECK_NOTHROW(order::validate_product_id("p-001", "product_id"));
  CHECK(error_code_of([] { order::validate_product_id("", "product_id"); }) == "invalid_field");
  CHECK(error_code_of([] { order::validate_product_id("a,b", "product_id"); }) == "invalid_field");
  CHECK(error_code_of([] { order::validate_product_id("a\nb", "product_id"); }) == "invalid_field");
  CHECK(error_code_of([] { order::validate_product_id(std::string(101, 'p'), "product_id"); }) ==
        "invalid_field");
}
