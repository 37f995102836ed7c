#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "scenario/jsonpath.hpp"

using shopctl::scenario::JsonPath;
using shopctl::scenario::JsonPathError;

namespace {

const nlohmann::json kOrder = nlohmann::json::parse(R"({
  "order_id": 17,
  "status": "PAYMENT_PENDING",
  "items": [{"product_id": "p-1", "quantity": 2}, {"product_id": "p-2", "quantity": 1}],
  "payment": {"pay_url": "http://127.0.0.1:9/pay/1", "status": null},
  "odd keys": {"a.b": 1, "it's": 2, "q\"": 3}
})");

std::optional<nlohmann::json> eval(const std::string& path) {
  return JsonPath::parse(path).evaluate(kOrder);
}

std::size_t error_offset(const std::string& path) {
  try {
    JsonPath::parse(path);
  } catch (const JsonPathError& e) {
    return e.offset();
  }
  FAIL("expected a JSONPathError for " << path);
  return 0;
}

}  // namespace

TEST_CASE("dotted keys walk into objects") {
  CHECK(eval("$.status") == nlohmann::json("PAYMENT_PENDING"));
  CHECK(eval("$.payment.pay_url") == nlohmann::json("http://127.0.0.1:9/pay/1"));
  CHECK(eval("$.order_id") == nlohmann::json(17));
}

TEST_CASE("the root path is the whole document") {
  CHECK(eval("$") == kOrder);
  CHECK(JsonPath().text() == "$");
  CHECK(JsonPath().segments().empty());
}

TEST_CASE("indexes count from the start, negative ones from the end") {
  CHECK(eval("$.items[0].product_id") == nlohmann::json("p-1"));
  CHECK(eval("$.items[1].quantity") == nlohmann::json(1));
  CHECK(eval("$.items[-1].product_id") == nlohmann::json("p-2"));
  CHECK(eval("$.items[-2].product_id") == nlohmann::json("p-1"));
}

TEST_CASE("quoted keys reach names with dots, quotes and spaces") {
  CHECK(eval("$['odd keys']['a.b']") == nlohmann::json(1));
  CHECK(eval(R"($['odd keys']['it\'s'])") == nlohmann::json(2));
  CHECK(eval(R"($["odd keys"]["q\""])") == nlohmann::json(3));
  CHECK(eval("$['status']") == nlohmann::json("PAYMENT_PENDING"));
}

TEST_CASE("a missing value is no value, never an exception") {
  CHECK_FALSE(eval("$.nope").has_value());
  CHECK_FALSE(eval("$.items[2]").has_value());
  CHECK_FALSE(eval("$.items[-3]").has_value());
  CHECK_FALSE(eval("$.status.length").has_value());
  CHECK_FALSE(eval("$.items.product_id").has_value());
  CHECK_FALSE(eval("$.payment[0]").has_value());
  CHECK_FALSE(JsonPath::parse("$.a").evaluate(nlohmann::json("text")).has_value());
  CHECK_FALSE(JsonPath::parse("$[0]").evaluate(nlohmann::json()).has_value());
}

TEST_CASE("a null value is present, unlike a missing one") {
  REQUIRE(eval("$.payment.status").has_value());
  CHECK(eval("$.payment.status")->is_null());
}

TEST_CASE("find points into the document without copying") {
  const nlohmann::json* found = JsonPath::parse("$.items[0]").find(kOrder);
  REQUIRE(found != nullptr);
  CHECK(found == &kOrder["items"][0]);
  CHECK(JsonPath::parse("$.x").find(kOrder) == nullptr);
}

TEST_CASE("the parsed path keeps its text and its segments") {
  const JsonPath path = JsonPath::parse("$.items[-1]['product_id']");
  CHECK(path.text() == "$.items[-1]['product_id']");
  REQUIRE(path.segments().size() == 3);
  CHECK(std::get<std::string>(path.segments()[0]) == "items");
  CHECK(std::get<std::int64_t>(path.segments()[1]) == -1);
  CHECK(std::get<std::string>(path.segments()[2]) == "product_id");
  CHECK(path == JsonPath::parse("$['items'][-1].product_id"));
}

TEST_CASE("syntax errors name the offset where they were noticed") {
  CHECK(error_offset("") == 0);
  CHECK(error_offset("status") == 0);
  CHECK(error_offset("$.") == 2);
  CHECK(error_offset("$.a..b") == 3);
  CHECK(error_offset("$..a") == 1);
  CHECK(error_offset("$.items[x]") == 8);
  CHECK(error_offset("$.items[0") == 9);
  CHECK(error_offset("$.items[") == 7);
  CHECK(error_offset("$['a") == 2);
  CHECK(error_offset("$['a'x") == 5);
  CHECK(error_offset("$.items[*]") == 8);
  CHECK(error_offset("$.*") == 2);
  CHECK(error_offset("$.items[?(@.a)]") == 8);
  CHECK(error_offset("$x") == 1);
  CHECK(error_offset("$.a[-]") == 4);
}

// `.0` named a member "0", which no array has: `$.items.0: {exists: false}` always passed (an
// outside probe). Both meanings have their own spelling.
TEST_CASE("a dotted key of digits is refused, with the two ways to write it") {
  CHECK(error_offset("$.items.0") == 8);
  CHECK(error_offset("$.items.0.quantity") == 8);
  try {
    (void)JsonPath::parse("$.items.12");
    FAIL("taken");
  } catch (const JsonPathError& e) {
    CHECK(std::string(e.what()).find("write [12] for an array's item, or ['12'] for an object's "
                                     "member of that name") != std::string::npos);
  }
  CHECK(eval("$.items[0].quantity") == nlohmann::json(2));
  CHECK_NOTHROW((void)JsonPath::parse("$.a0.b1"));
}

TEST_CASE("an unsupported feature says which subset is supported") {
  try {
    JsonPath::parse("$.items[*]");
    FAIL("expected an error");
  } catch (const JsonPathError& e) {
    CHECK(std::string(e.what()) ==
          "wildcards are not supported (supported: $.a.b, $.a[0], $.a[-1], $['key'])");
  }
}

TEST_CASE("a ${...} in a JSONPath is refused where it stands, not read as a literal key") {
  // `$.error.${unset}: {exists: false}` passed: the key "${unset}" was never there.
  CHECK(error_offset("$.error.${k}") == 8);
  CHECK(error_offset("$['${k}']") == 3);
  CHECK(error_offset("$.items[${i}]") == 8);
  CHECK(error_offset("$.a.b${x}") == 5);
  // `$${` is a literal "${", as in any value; a lone `$` or `{` is a key character.
  CHECK_NOTHROW(JsonPath::parse("$['$${k}']"));
  CHECK_NOTHROW(JsonPath::parse("$.a$b.{c}"));
}
