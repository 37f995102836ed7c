// Unit tests of src/services/order/cart_pricing: totals, the quantity rules and the price
// check that checkout runs against the catalog's latest prices.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/domain_error.hpp"
#include "platform/domain_error.hpp"
#include "platform/error_mapping.hpp"
#include "services/order/cart_pricing.hpp"

namespace {

using nlohmann::json;
using shopctl::order::CartLine;
using shopctl::platform::DomainError;
using shopctl::platform::http_status;
namespace order = shopctl::order;

using shopctl::test_support::api_error_of;

const std::vector<CartLine> kLines = {
    {"p-012", "Digital Kitchen Scale", 2, 1299},
    {"p-001", "Ethiopia Yirgacheffe Whole Bean Coffee 250 g", 3, 1290},
    {"p-044", "Gel Pens, Set of 10", 1, 990},
};

}  // namespace

TEST_CASE("a cart's line totals and total are quantity times unit price, summed") {
  const order::PricedCart cart = order::price_cart(kLines, "EUR");
  REQUIRE(cart.lines.size() == 3);
  CHECK(cart.lines[0].product_id == "p-012");
  CHECK(cart.lines[0].line_total_cents == 2598);
  CHECK(cart.lines[1].line_total_cents == 3870);
  CHECK(cart.lines[2].line_total_cents == 990);
  CHECK(cart.total_cents == 7458);
  CHECK(cart.currency == "EUR");
}

TEST_CASE("an empty cart totals zero") {
  const order::PricedCart cart = order::price_cart({}, "EUR");
  CHECK(cart.lines.empty());
  CHECK(cart.total_cents == 0);
  const json body = order::to_json(cart);
  CHECK(body.at("items").is_array());
  CHECK(body.at("items").empty());
  CHECK(body.at("total_cents") == 0);
}

TEST_CASE("a priced cart renders as the contract's Cart shape") {
  const json body = order::to_json(order::price_cart(kLines, "EUR"));
  CHECK(body.size() == 3);
  CHECK(body.at("total_cents") == 7458);
  CHECK(body.at("currency") == "EUR");
  REQUIRE(body.at("items").size() == 3);
  CHECK(body.at("items")[0] == json{{"product_id", "p-012"},
                                    {"name", "Digital Kitchen Scale"},
                                    {"quantity", 2},
                                    {"unit_price_cents", 1299},
                                    {"line_total_cents", 2598}});
}

TEST_CASE("cart arithmetic refuses totals beyond int64 instead of wrapping") {
  constexpr std::int64_t kHuge = std::numeric_limits<std::int64_t>::max() / 2;
  const auto line_overflow = api_error_of([&] {
    order::price_cart({{"p-1", "Gold", 3, kHuge}}, "EUR");
  });
  REQUIRE(line_overflow.has_value());
  CHECK(http_status(*line_overflow) == 422);
  CHECK(line_overflow->code() == "amount_too_large");

  const auto sum_overflow = api_error_of([&] {
    order::price_cart({{"p-1", "Gold", 1, kHuge}, {"p-2", "Gold", 1, kHuge}, {"p-3", "Gold", 1, 2}},
                      "EUR");
  });
  REQUIRE(sum_overflow.has_value());
  CHECK(sum_overflow->code() == "amount_too_large");

  // Exactly at the limit still works.
  const auto at_limit =
      order::price_cart({{"p-1", "Gold", 1, kHuge}, {"p-2", "Gold", 1, kHuge + 1}}, "EUR");
  CHECK(at_limit.total_cents == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("pricing a line that breaks the cart's invariants is a programming error") {
  CHECK_THROWS_AS(order::price_cart({{"p-1", "x", 0, 100}}, "EUR"), std::invalid_argument);
  CHECK_THROWS_AS(order::price_cart({{"p-1", "x", 100, 100}}, "EUR"), std::invalid_argument);
  CHECK_THROWS_AS(order::price_cart({{"p-1", "x", 1, -1}}, "EUR"), std::invalid_argument);
}

TEST_CASE("quantity accepts integers from 1 to 99, and 0 only where allowed") {
  CHECK(order::validate_quantity(json(1), false) == 1);
  CHECK(order::validate_quantity(json(99), false) == 99);
  CHECK(order::validate_quantity(json::parse("42"), false) == 42);
  CHECK(order::validate_quantity(json(0), true) == 0);
  CHECK(order::validate_quantity(json(99), true) == 99);
  CHECK(order::validate_quantity(json(std::int64_t{5}), false) == 5);
}

TEST_CASE("quantity refuses everything else with 400 invalid_quantity") {
  const std::vector<std::string> bodies = {"0",
                                           "-1",
                                           "100",
                                           "1.5",
                                           "2.0",
                                           "1e1",
                                           "\"3\"",
                                           "true",
                                           "false",
                                           "null",
                                           "[1]",
                                           "{\"n\": 1}",
                                           "-0.0",
                                           "99.99",
                                           "4294967297",
                                           "18446744073709551615",
                                           "18446744073709551616",
                                           "1e300",
                                           "-9223372036854775808"};
  for (const std::string& text : bodies) {
    for (bool allow_zero : {false, true}) {
      CAPTURE(text);
      CAPTURE(allow_zero);
      if (allow_zero && text == "0") continue;
      const auto error =
          api_error_of([&] { order::validate_quantity(json::parse(text), allow_zero); });
      REQUIRE(error.has_value());
      CHECK(http_status(*error) == 400);
      CHECK(error->code() == "invalid_quantity");
      CHECK(error->details().at("field") == "quantity");
      CHECK(error->details().at("max") == 99);
      CHECK(error->details().at("min") == (allow_zero ? 0 : 1));
    }
  }
  // An absent field arrives as a discarded or null value.
  CHECK(api_error_of([] { order::validate_quantity(json(), false); }).has_value());
}

TEST_CASE("price changes list every line whose latest price differs, in cart order") {
  const std::map<std::string, std::int64_t> latest = {
      {"p-012", 1499}, {"p-001", 1290}, {"p-044", 890}};
  const auto changes = order::detect_price_changes(kLines, latest);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].product_id == "p-012");
  CHECK(changes[0].old_price_cents == 1299);
  CHECK(changes[0].new_price_cents == 1499);
  CHECK(changes[1].product_id == "p-044");
  CHECK(changes[1].new_price_cents == 890);

  CHECK(order::price_changed_details(changes) ==
        json{{"changes",
              {{{"product_id", "p-012"}, {"old_price_cents", 1299}, {"new_price_cents", 1499}},
               {{"product_id", "p-044"}, {"old_price_cents", 990}, {"new_price_cents", 890}}}}});
}

TEST_CASE("unchanged prices and missing products give no price change") {
  const std::map<std::string, std::int64_t> same = {
      {"p-012", 1299}, {"p-001", 1290}, {"p-044", 990}};
  CHECK(order::detect_price_changes(kLines, same).empty());
  const std::map<std::string, std::int64_t> partial = {{"p-001", 1290}};
  CHECK(order::detect_price_changes(kLines, partial).empty());
}

TEST_CASE("repricing a cart takes the latest prices so the next check finds no change") {
  const std::map<std::string, std::int64_t> latest = {{"p-012", 1499}, {"p-044", 890}};
  const auto repriced = order::apply_latest_prices(kLines, latest);
  CHECK(repriced[0].unit_price_cents == 1499);
  CHECK(repriced[1].unit_price_cents == 1290);
  CHECK(repriced[2].unit_price_cents == 890);
  CHECK(order::detect_price_changes(repriced, latest).empty());
  CHECK(order::price_cart(repriced, "EUR").total_cents == 2998 + 3870 + 890);
}
