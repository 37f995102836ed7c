// The JSON Schema subset behind `expect: {schema: true}` and `run --validate-schema`
// (scenario/json_schema.hpp), and the lookup of a response schema in an OpenAPI description.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "scenario/json_schema.hpp"
#include "services/gateway/openapi_description.hpp"

using namespace std::chrono_literals;

namespace {

using nlohmann::json;
using shopctl::scenario::find_response_schema;
using shopctl::scenario::validate_json_schema;

// The one mismatch of `value` against `schema`, as text ("" when it fits).
std::string mismatch(const json& value, const json& schema, const json& document = json::object()) {
  auto found = validate_json_schema(value, schema, document);
  if (found.empty()) return "";
  std::string out;
  for (const auto& m : found) out += (out.empty() ? "" : " | ") + shopctl::scenario::to_string(m);
  return out;
}

}  // namespace

TEST_CASE("types, type lists and null are checked; an integer is a number without a fraction") {
  CHECK(mismatch("a", {{"type", "string"}}).empty());
  CHECK(mismatch(3, {{"type", "string"}}) == "$: wanted type string, got 3");
  CHECK(mismatch(nullptr, {{"type", json::array({"string", "null"})}}).empty());
  CHECK(mismatch(true, {{"type", json::array({"string", "null"})}}) ==
        "$: wanted type string or null, got true");
  CHECK(mismatch(2.0, {{"type", "integer"}}).empty());
  CHECK(mismatch(2.5, {{"type", "integer"}}) == "$: wanted type integer, got 2.5");
  CHECK(mismatch(2.5, {{"type", "number"}}).empty());
  CHECK(mismatch(json::array(), {{"type", "object"}}) == "$: wanted type object, got []");
}

TEST_CASE(
    "objects: required, properties and additionalProperties, with the JSON path of the culprit") {
  const json schema = {{"type", "object"},
                       {"required", {"id", "price_cents"}},
                       {"additionalProperties", false},
                       {"properties",
                        {{"id", {{"type", "string"}}},
                         {"price_cents", {{"type", "integer"}, {"minimum", 0}}},
                         {"odd key", {{"type", "boolean"}}}}}};
  CHECK(mismatch({{"id", "p1"}, {"price_cents", 5}}, schema).empty());
  CHECK(mismatch({{"id", "p1"}}, schema) ==
        "$.price_cents: wanted a required property, got nothing (missing)");
  CHECK(mismatch({{"id", "p1"}, {"price_cents", -5}}, schema) ==
        "$.price_cents: wanted minimum 0, got -5");
  CHECK(mismatch({{"id", "p1"}, {"price_cents", 5}, {"extra", 1}}, schema) ==
        "$.extra: wanted no such property (additionalProperties: false), got 1");
  CHECK(mismatch({{"id", "p1"}, {"price_cents", 5}, {"odd key", 1}}, schema) ==
        "$['odd key']: wanted type boolean, got 1");
  // additionalProperties as a schema; absent: anything goes.
  CHECK(mismatch({{"x", 1}}, {{"additionalProperties", {{"type", "string"}}}}) ==
        "$.x: wanted type string, got 1");
  CHECK(mismatch({{"x", 1}}, {{"type", "object"}}).empty());
}

TEST_CASE("arrays: items, minItems and maxItems, with the index in the path") {
  const json schema = {{"type", "array"},
                       {"minItems", 1},
                       {"maxItems", 2},
                       {"items", {{"type", "object"}, {"required", {"q"}}}}};
  CHECK(mismatch(json::array({{{"q", 1}}}), schema).empty());
  CHECK(mismatch(json::array(), schema) == "$: wanted at least 1 items, got 0 items");
  CHECK(mismatch(json::array({{{"q", 1}}, {{"q", 1}}, {{"q", 1}}}), schema) ==
        "$: wanted at most 2 items, got 3 items");
  CHECK(mismatch(json::array({{{"q", 1}}, {{"p", 1}}}), schema) ==
        "$[1].q: wanted a required property, got nothing (missing)");
}

TEST_CASE("strings: enum, const, pattern (searched), minLength and maxLength in code points") {
  CHECK(mismatch("PAID", {{"enum", {"PAID", "FAILED"}}}).empty());
  CHECK(mismatch("NEW", {{"enum", {"PAID", "FAILED"}}}) ==
        "$: wanted one of [\"PAID\",\"FAILED\"], got \"NEW\"");
  CHECK(mismatch("Bearer", {{"const", "Bearer"}}).empty());
  CHECK(mismatch("bearer", {{"const", "Bearer"}}) ==
        "$: wanted the constant \"Bearer\", got \"bearer\"");
  CHECK(mismatch("EUR", {{"pattern", "^[A-Z]{3}$"}}).empty());
  CHECK(mismatch("eur", {{"pattern", "^[A-Z]{3}$"}}) ==
        "$: wanted a string matching \"^[A-Z]{3}$\", got \"eur\"");
  CHECK(mismatch("xx_yy", {{"pattern", "_"}}).empty());  // not anchored: found anywhere
  CHECK(
      mismatch("\xc3\xa9t\xc3\xa9", {{"maxLength", 3}}).empty());  // "été": 3 code points, 5 bytes
  CHECK(mismatch("ab", {{"minLength", 3}}) == "$: wanted at least 3 characters, got \"ab\" (2)");
  CHECK(mismatch("abcd", {{"maxLength", 3}}) == "$: wanted at most 3 characters, got \"abcd\" (4)");
  CHECK(mismatch("2026-01-02T03:04:05Z", {{"type", "string"}, {"format", "date-time"}}).empty());
  CHECK(mismatch("yesterday", {{"type", "string"}, {"format", "date-time"}})
            .empty());  // format: not checked
}

// std::regex matched by recursion per character: a long string in an answer crashed the run.
TEST_CASE("pattern on a 1,000,000-character string is checked in linear time, without a crash") {
  const std::string long_value(1'000'000, 'a');
  const auto started = std::chrono::steady_clock::now();
  CHECK(mismatch(long_value, {{"pattern", "^.*$"}}).empty());
  CHECK(mismatch(long_value, {{"pattern", "((((a|b)|c)|d)|e)*z"}})
            .find("$: wanted a string matching \"((((a|b)|c)|d)|e)*z\", got \"aaa") == 0);
  CHECK(mismatch(long_value, {{"pattern", "(a*)*z"}}).find("wanted a string matching") == 3);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  // A pattern RE2 cannot compile is reported as such, not matched.
  CHECK(mismatch("a", {{"pattern", "(?=a)"}}).find("which RE2 cannot compile") !=
        std::string::npos);
}

TEST_CASE("numbers: minimum, maximum and the exclusive bounds") {
  CHECK(mismatch(99, {{"maximum", 99}}).empty());
  CHECK(mismatch(100, {{"maximum", 99}}) == "$: wanted maximum 99, got 100");
  CHECK(mismatch(0, {{"exclusiveMinimum", 0}}) == "$: wanted more than 0, got 0");
  CHECK(mismatch(1, {{"exclusiveMaximum", 1}}) == "$: wanted less than 1, got 1");
}

TEST_CASE("oneOf, anyOf, allOf and $ref into the document") {
  const json document = {{"components",
                          {{"schemas",
                            {{"Currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
                             {"Loop", {{"$ref", "#/components/schemas/Loop"}}}}}}}};
  const json nullable = {
      {"oneOf", {{{"$ref", "#/components/schemas/Currency"}}, {{"type", "null"}}}}};
  CHECK(mismatch("EUR", nullable, document).empty());
  CHECK(mismatch(nullptr, nullable, document).empty());
  CHECK(mismatch("eu", nullable, document) ==
        "$: wanted one of 2 schemas (#0: $: wanted a string matching \"^[A-Z]{3}$\", got \"eu\"; "
        "#1: $: wanted type null, got \"eu\"), got \"eu\"");
  CHECK(mismatch(5, {{"oneOf", {{{"type", "integer"}}, {{"type", "number"}}}}}) ==
        "$: wanted exactly one of 2 schemas, got 5, which fits 2");
  CHECK(mismatch(5, {{"anyOf", {{{"type", "integer"}}, {{"type", "number"}}}}}).empty());
  CHECK(mismatch("x", {{"anyOf", {{{"type", "integer"}}, {{"type", "null"}}}}})
            .starts_with("$: wanted any of 2 schemas"));
  CHECK(mismatch(5, {{"allOf", {{{"type", "integer"}}, {{"minimum", 6}}}}}) ==
        "$: wanted minimum 6, got 5");
  CHECK(mismatch(5, {{"$ref", "#/components/schemas/Nope"}}, document) ==
        "$: wanted a schema at #/components/schemas/Nope (the $ref leads nowhere), got 5");
  CHECK(mismatch(5, {{"$ref", "#/components/schemas/Loop"}}, document).find("$ref loop") !=
        std::string::npos);
}

TEST_CASE("the response schema is found by method, path template and status") {
  const json& d = shopctl::gateway::openapi_description();
  auto order = find_response_schema(d, "GET", "/api/orders/ord_123?x=1", 200);
  CHECK(order.problem.empty());
  CHECK(order.operation == "GET /api/orders/{id}");
  REQUIRE(order.schema);
  CHECK(order.schema->at("$ref") == "#/components/schemas/Order");

  // A literal segment beats a parameter; a $ref'd response is followed.
  auto cart = find_response_schema(d, "post", "/api/cart/items", 404);
  CHECK(cart.operation == "POST /api/cart/items");
  REQUIRE(cart.schema);
  CHECK(cart.schema->at("$ref") == "#/components/schemas/Error");

  auto undescribed_status = find_response_schema(d, "GET", "/api/cart", 418);
  CHECK(undescribed_status.problem.starts_with(
      "status 418 is not described for GET /api/cart (described: 200"));
  CHECK(find_response_schema(d, "GET", "/api/nothing", 200).problem ==
        "no path of docs/openapi.yaml matches /api/nothing");
  CHECK(find_response_schema(d, "PUT", "/api/cart", 200).problem ==
        "docs/openapi.yaml describes no PUT for /api/cart");
  // The router's own answers to an undescribed route have the error shape.
  auto not_found = find_response_schema(d, "GET", "/api/nothing", 404);
  CHECK(not_found.problem.empty());
  REQUIRE(not_found.schema);
  CHECK(not_found.schema == &d.at("components").at("schemas").at("Error"));
  // HEAD takes GET's statuses and has no body to check (a scenario's HEAD step under
  // --validate-schema failed: "describes no HEAD").
  auto head = find_response_schema(d, "HEAD", "/api/orders/ord_123", 200);
  CHECK(head.problem.empty());
  CHECK(head.operation == "HEAD /api/orders/{id}");
  CHECK(head.schema == nullptr);
  CHECK(find_response_schema(d, "HEAD", "/api/cart", 418).problem.starts_with("status 418"));
  CHECK(find_response_schema(d, "HEAD", "/api/payments/webhook", 200).problem ==
        "docs/openapi.yaml describes no HEAD for /api/payments/webhook");
  // /metrics is text: no JSON body to check.
  auto metrics = find_response_schema(d, "GET", "/metrics", 200);
  CHECK(metrics.problem.empty());
  CHECK(metrics.schema == nullptr);
}

TEST_CASE(
    "real answers against the description: an order fits, a changed one names what is wrong") {
  const json& d = shopctl::gateway::openapi_description();
  json order = {
      {"order_id", "ord_1"},
      {"status", "PAYMENT_PENDING"},
      {"items",
       {{{"product_id", "p1"},
         {"name", "Mug"},
         {"quantity", 2},
         {"unit_price_cents", 500},
         {"line_total_cents", 1000}}}},
      {"total_cents", 1000},
      {"currency", "EUR"},
      {"created_at", "2026-01-02T03:04:05.006Z"},
      {"updated_at", "2026-01-02T03:04:05.006Z"},
      {"payment",
       {{"payment_id", "pay_1"},
        {"status", "PENDING"},
        {"pay_url", "http://127.0.0.1:1/pay/pi_1"}}},
      {"history",
       {{{"status", "PAYMENT_PENDING"}, {"at", "2026-01-02T03:04:05.006Z"}, {"reason", nullptr}}}}};
  const json& schema = *find_response_schema(d, "POST", "/api/orders", 201).schema;
  CHECK(validate_json_schema(order, schema, d).empty());

  order["items"][0]["quantity"] = "2";
  order["status"] = "SHIPPED";
  order["payment"] = nullptr;
  auto found = validate_json_schema(order, schema, d);
  REQUIRE(found.size() == 2);
  CHECK(shopctl::scenario::to_string(found[0]) ==
        "$.items[0].quantity: wanted type integer, got \"2\"");
  CHECK(shopctl::scenario::to_string(found[1]) ==
        "$.status: wanted one of [\"PAYMENT_PENDING\",\"PAID\",\"FAILED\"], got \"SHIPPED\"");

  json error = {{"error", {{"code", "cart_empty"}, {"message", "m"}, {"details", json::object()}}},
                {"trace_id", "t"}};
  const json& error_schema = *find_response_schema(d, "POST", "/api/orders", 400).schema;
  CHECK(validate_json_schema(error, error_schema, d).empty());
  error["error"].erase("details");
  CHECK(shopctl::scenario::to_string(validate_json_schema(error, error_schema, d).at(0)) ==
        "$.error.details: wanted a required property, got nothing (missing)");
}
