// The shop under hostile input: malformed JSON, wrong types, missing fields, oversized bodies
// and headers, absurd quantities, unknown routes and SQL metacharacters in every string field.
// Every answer must be a 4xx in the contract's error shape, and the shop must keep serving.
#include <doctest/doctest.h>

#include <unistd.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/json_text.hpp"
#include "shop/shop.hpp"

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace http = shopctl::http;

using shopctl::test_support::Answer;

class Harness {
 public:
  Harness() : shop(shopctl::test_support::start_shop()) {
    token = shopctl::test_support::demo_token(client, *shop);
  }

  Answer send(const std::string& method, const std::string& path, const std::string& body = "",
              const std::string& content_type = "application/json", bool with_token = false,
              const std::string& service = "gateway") {
    shopctl::test_support::HeaderList headers;
    if (!body.empty()) headers.emplace_back("Content-Type", content_type);
    if (with_token) headers.emplace_back("Authorization", "Bearer " + token);
    return shopctl::test_support::send(
        client, method, shop->url(service) + path, std::nullopt, headers,
        body.empty() ? std::nullopt : std::optional<std::string>(body), 10s);
  }
  Answer api(const std::string& method, const std::string& path, const std::string& body = "") {
    return send(method, path, body, "application/json", true);
  }
  // A POST to the gateway with these headers only (send() adds a Content-Type to a body).
  Answer post_raw(const std::string& path, const std::string& body,
                  const shopctl::test_support::HeaderList& headers) {
    http::Request req;
    req.method = "POST";
    req.target = path;
    for (const auto& [name, value] : headers) req.headers.set(name, value);
    req.body = body;
    auto res = client.send_url(shop->url("gateway") + path, req, 10s);
    Answer a;
    a.status = res.status;
    a.body = json::parse(res.body, nullptr, false);
    a.raw = res.body;
    a.headers = res.headers;
    return a;
  }

  http::BlockingClient client;
  std::unique_ptr<shopctl::shop::Shop> shop;
  std::string token;
};

// The contract's error shape, with a 4xx status.
void check_client_error(const Answer& a, const std::string& what) {
  CAPTURE(what);
  CAPTURE(a.raw.substr(0, 300));
  CHECK(a.status >= 400);
  CHECK(a.status < 500);
  REQUIRE(a.body.is_object());
  REQUIRE(a.body.contains("error"));
  CHECK(a.body["error"]["code"].is_string());
  CHECK(!a.body["error"]["code"].get<std::string>().empty());
  CHECK(a.body["error"]["message"].is_string());
  CHECK(a.body["error"].contains("details"));
  CHECK(a.body["trace_id"].is_string());
  CHECK(a.headers.get("X-Trace-Id").has_value());
  CHECK(a.headers.get("X-Content-Type-Options") == std::optional<std::string>("nosniff"));
}

}  // namespace

TEST_CASE("malformed, mistyped and missing fields answer 4xx in the error shape") {
  Harness h;
  struct Case {
    std::string method, path, body;
    bool token;
    std::string expected_code;
  };
  const Case cases[] = {
      {"POST", "/api/auth/register", "{not json", false, "invalid_json"},
      {"POST", "/api/auth/register", "[1,2,3]", false, "invalid_body"},
      {"POST", "/api/auth/register", R"({"email": 5, "password": "longenough", "name": "x"})",
       false, "invalid_field"},
      {"POST", "/api/auth/register", R"({"password": "longenough", "name": "x"})", false,
       "missing_field"},
      {"POST", "/api/auth/register",
       R"({"email": "not-an-email", "password": "longenough", "name": "x"})", false,
       "invalid_email"},
      {"POST", "/api/auth/register", R"({"email": "a@b.co", "password": "short", "name": "x"})",
       false, "weak_password"},
      {"POST", "/api/auth/login", R"({"email": "demo@shop.test", "password": null})", false,
       "missing_field"},
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": 0})", true,
       "invalid_quantity"},
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": 100})", true,
       "invalid_quantity"},
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": -1})", true,
       "invalid_quantity"},
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": 1.5})", true,
       "invalid_quantity"},
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": "2"})", true,
       "invalid_quantity"},
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": 99999999999999999999999})",
       true, "invalid_quantity"},
      // Numbers beyond a double's range, anywhere in a body (nlohmann reports them as
      // out_of_range, not parse_error): a 400, not a 500.
      {"POST", "/api/cart/items", R"({"product_id": "p-001", "quantity": 1e400})", true,
       "invalid_json"},
      {"POST", "/api/auth/login", R"({"email": "demo@shop.test", "password": -1e999})", false,
       "invalid_json"},
      {"POST", "/api/auth/register",
       R"({"email": "big@example.com", "password": "longenough", "name": "x", "junk": 1e400})",
       false, "invalid_json"},
      {"PATCH", "/api/cart/items/p-001", "{\"quantity\": " + std::string(400, '9') + "}", true,
       "invalid_json"},
      {"POST", "/api/cart/items", R"({"product_id": 17, "quantity": 1})", true, "invalid_field"},
      {"POST", "/api/cart/items", R"({"product_id": "nope", "quantity": 1})", true,
       "product_not_found"},
      {"GET", "/api/catalog/products?page=0", "", true, "invalid_query"},
      {"GET", "/api/catalog/products?page_size=101", "", true, "invalid_query"},
      {"GET", "/api/catalog/products?page=abc", "", true, "invalid_query"},
      // Malformed percent-encoding anywhere in the query: before, every parameter quietly
      // fell back to its default (page_size=1000 answered 200 with 20 products).
      {"GET", "/api/catalog/products?page_size=1000&x=%zz", "", true, "invalid_query"},
      {"GET", "/api/catalog/products?q=%zz", "", true, "invalid_query"},
      // A value that is no UTF-8 once decoded: 400, as in a path or a JSON body (it was a
      // search that found nothing; an outside probe).
      {"GET", "/api/catalog/products?q=%FF", "", true, "invalid_query"},
      {"GET", "/api/catalog/products?category=caf%C3", "", true, "invalid_query"},
      {"GET", "/api/catalog/products?ids=p-001,%ED%A0%80", "", true, "invalid_query"},
      {"GET", "/api/catalog/products?page=2147483648", "", true, "invalid_query"},
      {"GET", "/api/catalog/products/does-not-exist", "", true, "product_not_found"},
      {"GET", "/api/orders/ord_does_not_exist", "", true, "order_not_found"},
      {"GET", "/api/nothing/here", "", true, "route_not_found"},
      {"GET", "/api/cart", "", false, "unauthenticated"},
  };
  for (const auto& c : cases) {
    auto a = h.send(c.method, c.path, c.body, "application/json", c.token);
    check_client_error(a, c.method + " " + c.path + " " + c.body);
    if (a.body.is_object() && a.body.contains("error"))
      CHECK(a.body["error"]["code"] == c.expected_code);
    // The parser's reason says what and where, without the JSON library's tag.
    CHECK(a.raw.find("json.exception") == std::string::npos);
  }
  auto broken = h.send("POST", "/api/cart/items", "{not json", "application/json", true);
  CHECK(broken.body["error"]["details"]["reason"].get<std::string>().starts_with("parse error"));
  // Still serving.
  CHECK(h.api("GET", "/api/cart").status == 200);
}

// A key given twice in one JSON object: nlohmann kept the last, so {"quantity":1,"quantity":50}
// added 50 while a proxy or a log reading the first saw 1 (as a header given twice would).
TEST_CASE("a JSON body with a key given twice in one object is 400 duplicate_json_key") {
  Harness h;
  std::string many = "{";  // 20 distinct keys, then the first again: past the small-vector
  for (int i = 0; i < 20; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  many += "\"k0\":1}";
  const std::pair<std::string, std::string> cases[] = {
      {"/api/cart/items", R"({"product_id":"p-001","quantity":1,"quantity":50})"},
      {"/api/cart/items", R"({"product_id":"p-001","product_id":"p-002","quantity":1})"},
      {"/api/cart/items", R"({"product_id":"p-001","quantity":1,"x":{"a":1,"a":2}})"},
      {"/api/cart/items", R"({"product_id":"p-001","quantity":1,"x":[{"a":1},{"b":1,"b":2}]})"},
      {"/api/cart/items", many},
      {"/api/auth/login", R"({"email":"x@shop.test","email":"demo@shop.test","password":"p"})"},
  };
  for (const auto& c : cases) {
    const std::string& path = c.first;
    const std::string& body = c.second;
    CAPTURE(body);
    auto a = h.send("POST", path, body, "application/json", path != "/api/auth/login");
    CHECK(a.status == 400);
    CHECK(a.body["error"]["code"] == "duplicate_json_key");
  }
  // Nothing reached the cart.
  CHECK(h.api("GET", "/api/cart").body["items"].empty());
  // The same key in different objects, and many distinct keys, are fine.
  CHECK(h.api("POST", "/api/cart/items",
              R"({"product_id":"p-001","quantity":2,"x":{"quantity":7},"y":[{"a":1},{"a":2}]})")
            .status == 200);
  std::string distinct = "{\"product_id\":\"p-002\",\"quantity\":1";
  for (int i = 0; i < 4000; ++i)
    distinct += ",\"k" + std::to_string(i) + "\":0";  // 8,005 values and keys
  distinct += "}";
  CHECK(h.api("POST", "/api/cart/items", distinct).status == 200);
  auto cart = h.api("GET", "/api/cart").body;
  REQUIRE(cart["items"].size() == 2);
  CHECK(cart["items"][0]["quantity"] == 2);
}

// nlohmann's callback parser walked the whole enclosing container each time an object ended:
// 60,000 `{}` in an array (180 KB, no credential needed) held a thread for 6 s and stalled the
// shop; 300,000 (900 KB, under the 1 MiB limit) would have held it for minutes. The answer
// must come within the client's 10 s (a liveness bound, not a speed claim).
// Then (a probe): a 1 MiB body of `[]` or of numbers still cost 120 ms of CPU to build into a
// document of 300,000 values, with no token needed; a body of more than 10,000 values and keys
// is refused at the one past the limit, before the rest is read into anything.
TEST_CASE("a body of many small values answers at once: 300,000 {} are refused at the 10,001st") {
  Harness h;
  std::string objects = R"({"email":"x@shop.test","password":"p","x":[{})";
  objects.reserve(1'000'000);
  for (int i = 1; i < 300'000; ++i) objects += ",{}";
  objects += "]}";
  REQUIRE(objects.size() < 1024 * 1024);
  auto a = h.send("POST", "/api/auth/login", objects);
  CHECK(a.status == 400);
  CHECK(a.body["error"]["code"] == "json_too_many_values");
  std::string members = R"({"product_id":"p-001","quantity":1,"x":{)";
  for (int i = 0; i < 40'000; ++i) members += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":{}";
  members += "}}";
  CHECK(h.api("POST", "/api/cart/items", members).body["error"]["code"] == "json_too_many_values");
  // The limit itself: the object, three keys, two values and an array are 7; 9,993 numbers
  // more make 10,000, which pass, and one more is refused.
  auto numbers = [](int n) {
    std::string body = R"({"product_id":"p-001","quantity":1,"x":[)";
    for (int i = 0; i < n; ++i) body += i ? ",1" : "1";
    return body + "]}";
  };
  CHECK(h.api("POST", "/api/cart/items", numbers(9'993)).status == 200);
  auto over = h.api("POST", "/api/cart/items", numbers(9'994));
  CHECK(over.status == 400);
  CHECK(over.body["error"]["message"] == "the JSON body holds more than 10000 values and keys");
  CHECK(h.send("GET", "/health/live").status == 200);
}

// The string limit counts characters, as it says: 5,001 two-byte letters are 10,002 bytes.
TEST_CASE("the JSON string limit is 10,000 characters, not bytes") {
  Harness h;
  std::string accented;
  for (int i = 0; i < 5001; ++i) accented += "\xc3\xa9";  // é
  CHECK(h.api("POST", "/api/cart/items",
              R"({"product_id":"p-001","quantity":1,"note":")" + accented + R"("})")
            .status == 200);
  std::string long_text(10'001, 'a');
  auto a = h.api("POST", "/api/cart/items",
                 R"({"product_id":"p-001","quantity":1,"note":")" + long_text + R"("})");
  CHECK(a.status == 400);
  CHECK(a.body["error"]["code"] == "string_too_long");
  std::string long_accented;
  for (int i = 0; i < 10'001; ++i) long_accented += "\xc3\xa9";
  a = h.api("POST", "/api/cart/items",
            R"({"product_id":"p-001","quantity":1,"note":")" + long_accented + R"("})");
  CHECK(a.status == 400);
  CHECK(a.body["error"]["code"] == "string_too_long");
}

// nlohmann's lexer takes a NUL byte for the end of its input: a valid object, a NUL and
// anything after it was read as the object alone (200 for the cart, 201 for an account),
// while the same body with text instead of the NUL was 400.
TEST_CASE("a JSON body with a NUL byte is 400 invalid_json, and nothing after it is read") {
  Harness h;
  using namespace std::string_literals;
  const std::pair<std::string, std::string> cases[] = {
      {"/api/cart/items", "{\"product_id\":\"p-001\",\"quantity\":1}\0 {\"quantity\":99}"s},
      {"/api/cart/items", "{\"product_id\":\"p-001\",\"quantity\":1}\0"s},
      {"/api/cart/items", "{\"product_id\":\"p-0\0\",\"quantity\":1}"s},
      {"/api/auth/register",
       "{\"email\":\"nul@shop.test\",\"password\":\"long enough\",\"name\":\"N\"}\0garbage"s},
  };
  for (const auto& c : cases) {
    const std::string& path = c.first;
    const std::string& body = c.second;
    CAPTURE(path);
    auto a = h.send("POST", path, body, "application/json", path != "/api/auth/register");
    CHECK(a.status == 400);
    CHECK(a.body["error"]["code"] == "invalid_json");
    CHECK(a.body["error"]["details"]["byte"].is_number());
  }
  CHECK(h.api("GET", "/api/cart").body["items"].empty());
  // No account was made: the same email registers now.
  CHECK(h.send("POST", "/api/auth/register",
               R"({"email":"nul@shop.test","password":"long enough","name":"N"})",
               "application/json", false)
            .status == 201);
  // parse_json_or_discarded, which reads answers, tokens and files, refuses one too.
  CHECK(shopctl::platform::parse_json_or_discarded("{\"a\":1}\0{\"a\":2}"s).is_discarded());
  CHECK(shopctl::platform::parse_json_or_discarded(R"({"a":"\u0000"})")["a"] == "\0"s);
}

// nlohmann skips a byte order mark before the text: the cart took the line (an outside probe),
// while a proxy that refuses it would have seen another request.
TEST_CASE("a JSON body that starts with a byte order mark is 400 invalid_json") {
  Harness h;
  auto a =
      h.send("POST", "/api/cart/items", "\xEF\xBB\xBF{\"product_id\":\"p-002\",\"quantity\":1}",
             "application/json", true);
  CHECK(a.status == 400);
  CHECK(a.body["error"]["code"] == "invalid_json");
  CHECK(a.body["error"]["details"]["reason"].get<std::string>().find("byte order mark") !=
        std::string::npos);
  CHECK(h.api("GET", "/api/cart").body["items"].empty());
}

// nlohmann's message ends with the body's text up to the error ("last read: ..."): a login
// with a bad byte in its password quoted the password back (an outside probe).
TEST_CASE("an invalid_json answer does not quote the body back") {
  Harness h;
  const std::string body = "{\"email\":\"demo@shop.test\",\"password\":\"WrongSecret\xffPa";
  auto a = h.send("POST", "/api/auth/login", body);
  CHECK(a.status == 400);
  CHECK(a.body["error"]["code"] == "invalid_json");
  CHECK(a.body["error"]["details"]["byte"].is_number());
  const std::string reason = a.body["error"]["details"]["reason"].get<std::string>();
  CHECK_FALSE(reason.empty());
  CHECK(a.raw.find("WrongSecret") == std::string::npos);
}

TEST_CASE("bad tokens are refused with 401, and alg none is never accepted") {
  Harness h;
  const std::string tokens[] = {
      "garbage",
      "a.b.c",
      // {"alg":"none","typ":"JWT"} .
      // {"sub":"usr_x","exp":9999999999,"iss":"shopctl-auth","aud":"shopctl"} .
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
      "eyJzdWIiOiJ1c3JfeCIsImV4cCI6OTk5OTk5OTk5OSwiaXNzIjoic2hvcGN0bC1hdXRoIiwiYXVkIjoic2hvcGN0bCJ9"
      ".",
      h.token.substr(0, h.token.size() - 3) + "AAA",
      std::string(9000, 'x'),
  };
  for (const auto& t : tokens) {
    http::Request req;
    req.method = "GET";
    req.target = "/api/cart";
    req.headers.set("Authorization", "Bearer " + t);
    auto res = h.client.send_url(h.shop->url("gateway") + "/api/cart", req, 10s);
    CAPTURE(t.substr(0, 60));
    CHECK(res.status == 401);
  }
}

TEST_CASE("a 2 MiB body answers 413, headers over 16 KiB answer 431, other content types 415") {
  Harness h;
  auto big = h.send("POST", "/api/auth/register", std::string(2 << 20, 'a'));
  CHECK(big.status == 413);
  check_client_error(big, "2 MiB body");

  http::Request req;
  req.method = "GET";
  req.target = "/api/catalog/products";
  req.headers.set("X-Padding", std::string(20 * 1024, 'p'));
  auto res = h.client.send_url(h.shop->url("gateway") + "/api/catalog/products", req, 10s);
  CHECK(res.status == 431);
  // The HTTP layer's own answers too say that no cache keeps them, as every other answer of
  // the public door does (its 400, 413 and 431 did not; an outside probe).
  CHECK(res.headers.get("Cache-Control") == "no-store");
  CHECK(big.headers.get("Cache-Control") == "no-store");

  auto xml = h.send("POST", "/api/auth/login", "<login/>", "application/xml");
  CHECK(xml.status == 415);
  check_client_error(xml, "xml body");

  auto deep = h.send("POST", "/api/auth/login", std::string(200, '[') + std::string(200, ']'));
  check_client_error(deep, "deep nesting");

  auto long_string = h.send("POST", "/api/auth/login",
                            R"({"email":")" + std::string(20000, 'e') + R"(","password":"x"})");
  check_client_error(long_string, "20,000-character string");
  CHECK(h.api("GET", "/api/cart").status == 200);
}

// A page on another origin may send a body without a Content-Type (a Blob) or as text/plain
// without a preflight. Read as JSON, such a body registered accounts and locked others out
// with failed logins (test red before: the typeless register answered 201).
TEST_CASE("a body without a Content-Type, or as text/plain, is 415 and changes nothing") {
  Harness h;
  const std::string who = R"({"email":"typeless@x.test","password":"correct horse battery"})";
  // The test support's send() always adds application/json; these go without it.
  auto send_raw = [&](const std::string& path, const std::string& body,
                      std::optional<std::string> type) {
    shopctl::test_support::HeaderList headers;
    if (type) headers.emplace_back("Content-Type", *type);
    return h.post_raw(path, body, headers);
  };
  auto typeless = send_raw("/api/auth/register", who, std::nullopt);
  CHECK(typeless.status == 415);
  check_client_error(typeless, "register without a Content-Type");
  CHECK(typeless.body["error"]["message"].get<std::string>().find("missing") != std::string::npos);
  auto plain = send_raw("/api/auth/register", who, "text/plain");
  CHECK(plain.status == 415);
  // Nothing was registered: logging in with the same body (properly typed) finds no account.
  auto login = h.send("POST", "/api/auth/login", who);
  CHECK(login.status == 401);
  // The demo user's account is not touched by typeless logins either.
  for (int i = 0; i < 8; ++i) {
    auto wrong = send_raw("/api/auth/login", R"({"email":"demo@shop.test","password":"wrong"})",
                          std::nullopt);
    CHECK(wrong.status == 415);
  }
  CHECK(!shopctl::test_support::demo_token(h.client, *h.shop).empty());
  // application/json with a parameter, in any letter case, is still read.
  auto typed = h.send("POST", "/api/auth/register",
                      R"({"email":"typed@x.test","password":"correct horse battery","name":"T"})",
                      "Application/JSON; charset=utf-8");
  CHECK(typed.status == 201);
}

// A body labelled with a content coding the shop does not decode, or a charset JSON is not in,
// was read as UTF-8 JSON as it came: `br, gzip` on a plain body logged in (an outside probe).
TEST_CASE("a body with a Content-Encoding, or a charset other than UTF-8, is 415") {
  Harness h;
  const std::string who = R"({"email":"demo@shop.test","password":"demo-password-1"})";
  auto login = [&](const std::string& type, std::optional<std::string> coding) {
    shopctl::test_support::HeaderList headers = {{"Content-Type", type}};
    if (coding) headers.emplace_back("Content-Encoding", *coding);
    return h.post_raw("/api/auth/login", who, headers);
  };
  for (const char* coding : {"gzip", "br, gzip", "deflate", "x-unknown"}) {
    CAPTURE(coding);
    auto refused = login("application/json", std::string(coding));
    CHECK(refused.status == 415);
    check_client_error(refused, "an encoded body");
    CHECK(refused.body["error"]["details"]["content_encoding"] == coding);
  }
  for (const char* type : {"application/json; charset=latin1", "application/json;charset=UTF-16",
                           "application/json; q=1; charset=\"iso-8859-1\""}) {
    CAPTURE(type);
    auto refused = login(type, std::nullopt);
    CHECK(refused.status == 415);
    check_client_error(refused, "a charset other than UTF-8");
  }
  // A charset named twice was read by its first: utf-8 then latin1 logged in.
  for (const char* type : {"application/json;charset=utf-8;charset=latin1",
                           "application/json; charset=utf-8; "
                           "charset=utf-8"}) {
    CAPTURE(type);
    auto refused = login(type, std::nullopt);
    CHECK(refused.status == 415);
    CHECK(refused.body["error"]["message"].get<std::string>().find("more than once") !=
          std::string::npos);
  }
  // Two Content-Encoding fields (identity, then gzip) were read by the first: 400, as for
  // any field that says what the body is given twice (docs/security.md).
  {
    shopctl::test_support::RawConnection c(shopctl::test_support::port_of(h.shop->url("gateway")));
    REQUIRE(
        c.send("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
               "application/json\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\n"
               "Connection: close\r\nContent-Length: " +
               std::to_string(who.size()) + "\r\n\r\n" + who));
    CHECK(c.read_until_closed(5s));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("more than one Content-Encoding field") != std::string::npos);
  }
  // What is JSON in UTF-8 as it is still reads.
  CHECK(login("application/json", std::string("identity")).status == 200);
  CHECK(login("application/json; charset=\"UTF-8\"", std::nullopt).status == 200);
  CHECK(login("application/json; charset=utf8", std::nullopt).status == 200);
}

// RFC 6749 5.1: an answer that carries a token says Cache-Control: no-store. The gateway
// relayed none of it (test red before).
TEST_CASE(
    "login's answer, which carries the token, reaches the client with Cache-Control: no-store") {
  Harness h;
  auto login = h.send("POST", "/api/auth/login",
                      R"({"email":"demo@shop.test","password":"demo-password-1"})");
  REQUIRE(login.status == 200);
  CHECK(login.headers.get("Cache-Control").value_or("") == "no-store");
}

// docs/api.md: an answer without its own Cache-Control gets no-store from the gateway; the
// gateway's own refusals (401, 404, 405) carried none. RFC 9110 15.5.2: a 401 names its
// scheme; a failed login's had no WWW-Authenticate (tests red before).
TEST_CASE("the door's own answers say no-store, and every 401 of the API names its scheme") {
  Harness h;
  auto nope = h.send("GET", "/api/nope", "");
  CHECK(nope.status == 404);
  CHECK(nope.headers.get("Cache-Control").value_or("") == "no-store");
  auto method = h.send("PUT", "/api/cart", "{}", "application/json", true);
  CHECK(method.status == 405);
  CHECK(method.headers.get("Cache-Control").value_or("") == "no-store");
  http::Request bare;
  bare.method = "GET";
  bare.target = "/api/cart";
  auto anonymous = h.client.send_url(h.shop->url("gateway") + "/api/cart", bare, 10s);
  CHECK(anonymous.status == 401);
  CHECK(anonymous.headers.get("Cache-Control").value_or("") == "no-store");
  auto wrong = h.send("POST", "/api/auth/login",
                      R"({"email":"demo@shop.test","password":"wrong-password"})");
  CHECK(wrong.status == 401);
  CHECK(wrong.headers.get("WWW-Authenticate").value_or("").starts_with("Bearer"));
  // The provider's JSON answer for an unknown intent varies with Accept as its page does.
  http::Request pay;
  pay.method = "GET";
  pay.target = "/pay/pi_nope";
  auto unknown = h.client.send_url(h.shop->url("provider") + "/pay/pi_nope", pay, 10s);
  CHECK(unknown.status == 404);
  CHECK(unknown.headers.get("Vary").value_or("") == "Accept");
}

// A shop opened by a name its Host check takes (this machine's name, `localhost.`) sends the
// browser back by that name after paying: the pay page refused such a return_url, and the
// order could not be paid there (an outside probe). Another host is still refused.
TEST_CASE("a pay link's return_url may name the shop by any name the shop answers to") {
  Harness h;
  h.api("POST", "/api/cart/items", R"({"product_id":"p-001","quantity":1})");
  auto order = h.api("POST", "/api/orders");
  REQUIRE(order.status == 201);
  const auto pay_url = order.body["payment"]["pay_url"].get<std::string>();
  const auto gateway_port = h.shop->url("gateway").substr(h.shop->url("gateway").rfind(':') + 1);
  char name[256] = {};
  REQUIRE(::gethostname(name, sizeof name - 1) == 0);
  auto with_return = [&](const std::string& host) {
    const auto url = pay_url + "?return_url=" +
                     http::percent_encode("http://" + host + ":" + gateway_port + "/orders");
    return shopctl::test_support::send(h.client, "GET", url);
  };
  for (const std::string& host :
       {std::string(name), std::string("localhost."), std::string("[::1]")}) {
    CAPTURE(host);
    auto answer = with_return(host);
    CHECK(answer.status == 200);
    CHECK(answer.body.contains("return_url"));
  }
  for (const char* host : {"evil.example", "10.9.8.7", "localhost.evil.example"}) {
    CAPTURE(host);
    CHECK(with_return(host).status == 400);
  }
}

TEST_CASE("SQL metacharacters in every string field are data, never SQL") {
  Harness h;
  const std::string evil = "x'); DROP TABLE users; --\" OR 1=1 /*";
  auto reg = h.send("POST", "/api/auth/register",
                    json{{"email", "o'brien+" + std::string("x") + "@shop.test"},
                         {"password", evil},
                         {"name", evil}}
                        .dump());
  CHECK(reg.status == 201);
  CHECK(reg.body["name"] == evil);
  auto login = h.send("POST", "/api/auth/login",
                      json{{"email", "o'brien+x@shop.test"}, {"password", evil}}.dump());
  CHECK(login.status == 200);
  auto bad_login =
      h.send("POST", "/api/auth/login", json{{"email", evil}, {"password", evil}}.dump());
  CHECK(bad_login.status == 401);
  auto search = h.api("GET", "/api/catalog/products?q=%27%20OR%201%3D1%20--");
  CHECK(search.status == 200);
  CHECK(search.body["total"] == 0);
  auto add = h.api("POST", "/api/cart/items", json{{"product_id", evil}, {"quantity", 1}}.dump());
  check_client_error(add, "evil product id");
  auto order = h.api("GET", "/api/orders/%27%20OR%20%271%27%3D%271");
  check_client_error(order, "evil order id");
  // The tables are intact: the demo user still logs in and the catalog still lists 64 products.
  CHECK(h.send("POST", "/api/auth/login",
               R"({"email":"demo@shop.test","password":"demo-password-1"})")
            .status == 200);
  CHECK(h.api("GET", "/api/catalog/products").body["total"] == 64);
}

TEST_CASE(
    "internal ports refuse outsiders: 401 without a credential, 403 for a caller not on the list") {
  Harness h;
  auto direct = h.send("GET", "/products", "", "application/json", false, "catalog");
  CHECK(direct.status == 401);
  check_client_error(direct, "direct catalog call");
  CHECK(direct.body["error"]["code"] == "missing_service_credential");

  // Signed as the payment service, which may not read the catalog.
  auto minted = h.send("POST", "/_admin/credentials", R"({"service":"payment"})");
  CHECK(minted.status == 401);  // the admin plane needs the admin token
  http::Request mint;
  mint.method = "POST";
  mint.target = "/_admin/credentials";
  mint.headers.set("X-Admin-Token", h.shop->admin_token());
  mint.headers.set("Content-Type", "application/json");
  mint.body = R"({"service":"payment"})";
  auto token = json::parse(
      h.client.send_url(h.shop->url("gateway") + "/_admin/credentials", mint, 10s).body);
  http::Request as_payment;
  as_payment.method = "GET";
  as_payment.target = "/products";
  as_payment.headers.set("X-Service-Token", token.at("token").get<std::string>());
  auto refused = h.client.send_url(h.shop->url("catalog") + "/products", as_payment, 10s);
  CHECK(refused.status == 403);
  CHECK(json::parse(refused.body)["error"]["code"] == "caller_not_allowed");
  // Both refusals are recorded as architecture violations.
  CHECK(h.shop->calls().violations_total() == 2);
}

// A price of 1.5 was told "an integer from -2^63 to 2^63 - 1", a range the route then refuses
// (-1: "from 0 to 900000000000"); every wrong price now names the range it takes (a probe).
TEST_CASE("a catalog price that is not an integer in range names the range it takes") {
  Harness h;
  const auto set_price = [&](const std::string& value) {
    return shopctl::test_support::send(
        h.client, "POST", h.shop->url("catalog") + "/_admin/products/p-001", std::nullopt,
        {{"Content-Type", "application/json"}, {"X-Admin-Token", h.shop->admin_token()}},
        R"({"price_cents":)" + value + "}", 10s);
  };
  for (const std::string value : {"1.5", "-1", "\"100\"", "1e3", "900000000001", "1000000000000",
                                  "18446744073709551616", "9223372036854775808", "true"}) {
    CAPTURE(value);
    const auto answer = set_price(value);
    check_client_error(answer, "price " + value);
    CHECK(answer.body["error"]["code"] == "invalid_field");
    CHECK(answer.body["error"]["message"] ==
          "price_cents must be an integer from 0 to 900000000000");
    CHECK(answer.body["error"]["details"]["max"] == 900000000000);
  }
  CHECK(set_price("900000000000").status == 200);
  CHECK(set_price("0").status == 200);
}

// On another port the route is 404, and the answer says whose it is and where: an operator of
// `serve --processes` tried the catalog's ADMIN PLANE port first and was told only "no route".
TEST_CASE("a service's own admin route asked of another port says where it is") {
  Harness h;
  for (const auto& route : {std::pair{"/_admin/products/p-001", "the catalog's"},
                            std::pair{"/_admin/outbox", "the payment service's"},
                            std::pair{"/_admin/webhooks", "the provider's"}}) {
    const std::string path = route.first;
    const std::string owner = route.second;
    CAPTURE(path);
    const auto answer =
        shopctl::test_support::send(h.client, "GET", h.shop->url("auth") + path, std::nullopt,
                                    {{"X-Admin-Token", h.shop->admin_token()}}, std::nullopt, 10s);
    CHECK(answer.status == 404);
    const auto message = answer.body["error"]["message"].get<std::string>();
    CHECK(message.find(owner) != std::string::npos);
    CHECK(message.find("GET /_admin/services") != std::string::npos);
  }
}

TEST_CASE("every answer of every port says X-Content-Type-Options: nosniff, once") {
  // A JSON answer must never be read as HTML by a browser that sniffs (an email or a product
  // name holding markup); the static pages had it, the API's answers did not.
  Harness h;
  auto once = [](const Answer& a, const std::string& what) {
    CAPTURE(what);
    CAPTURE(a.raw.substr(0, 300));
    CHECK(a.headers.get("X-Content-Type-Options") == std::optional<std::string>("nosniff"));
    std::size_t count = 0;
    for (std::size_t at = 0; (at = a.raw.find("X-Content-Type-Options", at)) != std::string::npos;
         ++at)
      ++count;
    CHECK(count <= 1);
  };
  once(h.api("GET", "/api/catalog/products?page_size=2"), "a proxied 200");
  once(h.api("GET", "/api/cart"), "an order answer");
  once(h.send("GET", "/api/cart"), "a 401 at the gateway");
  once(h.send("GET", "/api/nope"), "a 404 at the gateway");
  once(h.send("GET", "/"), "the web shop's page");
  once(h.send("GET", "/health/ready"), "readiness");
  once(h.send("GET", "/metrics", "", "", false, "catalog"), "an internal port's metrics");
  once(h.send("GET", "/anything", "", "", false, "order"), "an internal port's refusal");
}

// A head just under the contract's 16 KiB passed the gateway, and the service behind it, which
// also read at most 16 KiB, answered 431 for the fields the gateway adds when it forwards (the
// provider's webhook keeps the sender's fields: a probe's 16,100-byte head).
TEST_CASE("a head just under 16 KiB that the gateway takes is not refused behind it") {
  Harness h;
  const std::string filler(16 * 1024 - 400, 'a');
  auto a = shopctl::test_support::send(
      h.client, "POST", h.shop->url("gateway") + "/api/payments/webhook", std::nullopt,
      {{"Payment-Signature", "t=1,v1=00"}, {"Accept", filler}}, std::string("{}"), 10s);
  CAPTURE(a.raw.substr(0, 300));
  CHECK(a.status == 400);  // the signature, read behind the gateway; not 431
  CHECK(a.body["error"]["code"] != "headers_too_large");
  // Over 16 KiB is still the gateway's own 431.
  auto over = shopctl::test_support::send(
      h.client, "POST", h.shop->url("gateway") + "/api/payments/webhook", std::nullopt,
      {{"Payment-Signature", "t=1,v1=00"}, {"Accept", filler + std::string(800, 'a')}},
      std::string("{}"), 10s);
  CHECK(over.status == 431);
}
