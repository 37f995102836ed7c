// `shopctl serve --record`: exchanges through the gateway turned into a scenario that logs
// in with the runner's steps, captures the ids later requests use, and writes no password.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "scenario/parser.hpp"
#include "scenario/recorder.hpp"

namespace {

using nlohmann::json;
using shopctl::platform::PublicExchange;
using shopctl::scenario::SessionRecorder;

// The token Ada's login is answered with, which her later requests carry.
const std::string kAdaToken = "eyJhbGciOi.secret.token";

// An exchange whose request carried `token` as its bearer token ("": no Authorization header).
PublicExchange exchange(std::string method, std::string target, const json& body, int status,
                        const json& answer, const std::string& token = kAdaToken) {
  PublicExchange e;
  e.method = std::move(method);
  e.target = std::move(target);
  if (!body.is_null()) {
    e.request_body = body.dump();
    e.content_type = "application/json";
  }
  e.authorized = !token.empty();
  if (e.authorized) e.authorization = "Bearer " + token;
  e.status = status;
  e.response_body = answer.dump();
  return e;
}

void record_shopping_session(SessionRecorder& r) {
  r.record(exchange(
      "POST", "/api/auth/register",
      {{"email", "ada@example.com"}, {"password", "my-secret-pass"}, {"name", "Ada $ Lovelace"}},
      201, {{"user_id", "usr_1"}}, ""));
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "ada@example.com"}, {"password", "my-secret-pass"}}, 200,
                    {{"access_token", kAdaToken}, {"token_type", "Bearer"}}, ""));
  r.record(
      exchange("GET", "/api/catalog/products?category=coffee", nullptr, 200,
               {{"items", json::array({{{"id", "p-001"}}, {{"id", "p-002"}}})}, {"total", 2}}));
  r.record(exchange("POST", "/api/cart/items", {{"product_id", "p-002"}, {"quantity", 2}}, 200,
                    {{"total_cents", 100}}));
  r.record(exchange(
      "POST", "/api/orders", nullptr, 201,
      {{"order_id", "ord_9"},
       {"payment", {{"payment_id", "pay_7"}, {"pay_url", "http://127.0.0.1:1/pay/pi_3"}}}}));
  // The shopper paid at the provider's page; the provider's webhook went through the gateway.
  PublicExchange webhook =
      exchange("POST", "/api/payments/webhook",
               {{"event_id", "evt_1"}, {"type", "payment.succeeded"}, {"payment_id", "pay_7"}}, 200,
               {{"received", true}}, "");
  r.record(webhook);
  r.record(webhook);  // a duplicate delivery: paid once
  r.record(exchange("GET", "/api/orders/ord_9", nullptr, 200,
                    {{"order_id", "ord_9"}, {"status", "PAID"}}));
  r.record(exchange("GET", "/index.html", nullptr, 200, "<html>"));  // not /api/: left out
}

}  // namespace

TEST_CASE("a recorded session logs in with the runner's steps and writes no password or token") {
  SessionRecorder r;
  record_shopping_session(r);
  auto yaml = r.yaml();
  CHECK(yaml.find("my-secret-pass") == std::string::npos);
  CHECK(yaml.find("eyJhbGciOi") == std::string::npos);
  CHECK(yaml.find("email_1: \"ada-${run_id}@example.com\"") != std::string::npos);
  CHECK(yaml.find("register: {email: \"${email_1}\", password: \"${password_1}\", name: \"Ada $$ "
                  "Lovelace\"}") != std::string::npos);
  CHECK(yaml.find("login: {email: \"${email_1}\", password: \"${password_1}\"}") !=
        std::string::npos);
  CHECK(yaml.find("auth: none") == std::string::npos);  // register and login are their own steps
  CHECK(yaml.find("/index.html") == std::string::npos);
}

TEST_CASE(
    "a recorded session captures the ids that later requests use and pays through the runner") {
  SessionRecorder r;
  record_shopping_session(r);
  auto yaml = r.yaml();
  CHECK(yaml.find("capture: {id: \"$.items[1].id\"}") != std::string::npos);
  CHECK(yaml.find("json: {\"product_id\":\"${id}\",\"quantity\":2}") != std::string::npos);
  CHECK(yaml.find("capture: {order_id: \"$.order_id\"}") != std::string::npos);
  CHECK(yaml.find("pay: {order: \"${order_id}\", card: \"4242424242424242\"}") !=
        std::string::npos);
  CHECK(yaml.find("path: \"/api/orders/${order_id}\"") != std::string::npos);
  CHECK(yaml.find("expect: {status: 201}") != std::string::npos);
  // Paid once, though the webhook came twice.
  CHECK(yaml.find("pay:") == yaml.rfind("pay:"));
}

TEST_CASE("a recorded session is a valid scenario file") {
  SessionRecorder r;
  record_shopping_session(r);
  auto loaded = shopctl::scenario::parse_scenario_text(r.yaml(), "recorded.yaml");
  CHECK_MESSAGE(loaded.ok(), loaded.format_diagnostics());
}

TEST_CASE("a login as the demo user is replayed with the public demo password, not the one typed") {
  shopctl::scenario::RecorderOptions options;
  options.replay_demo_password = "demo-password-1";
  SessionRecorder r(options);
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "demo@shop.test"}, {"password", "changed-in-config"}}, 200,
                    {{"access_token", "t"}}, ""));
  auto yaml = r.yaml();
  CHECK(yaml.find("changed-in-config") == std::string::npos);
  CHECK(yaml.find("login: {email: \"demo@shop.test\", password: \"demo-password-1\"}") !=
        std::string::npos);
}

TEST_CASE("a login as an account from before the recording registers it first") {
  SessionRecorder r;
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "old@shop.test"}, {"password", "its-password"}}, 200,
                    {{"access_token", "t"}}, ""));
  auto yaml = r.yaml();
  CHECK(yaml.find("its-password") == std::string::npos);
  CHECK(yaml.find("register: {email: \"${email_1}\"") < yaml.find("login: {email: \"${email_1}\""));
}

TEST_CASE("nothing recorded yet is no file") {
  SessionRecorder r;
  CHECK(r.yaml().empty());
  CHECK(r.steps() == 0);
}

namespace {

PublicExchange raw_exchange(std::string target, std::string body, std::string content_type,
                            int status) {
  PublicExchange e;
  e.method = "POST";
  e.target = std::move(target);
  e.request_body = std::move(body);
  e.content_type = std::move(content_type);
  e.status = status;
  e.response_body = R"({"error":{"code":"x"}})";
  return e;
}

}  // namespace

TEST_CASE("no recorded step holds a password the client typed, whatever the body's shape") {
  SessionRecorder r;
  const std::string json_type = "application/json";
  // Shapes the runner's login and register do not send: request steps, passwords masked.
  r.record(raw_exchange("/api/auth/login", R"({"Email":"r2@x.test","password":"Sup3r-Secret-Pw"})",
                        json_type, 400));
  r.record(raw_exchange("/api/auth/login", R"({"email":"r2@x.test","password":"Sup3r-Secret-Pw")",
                        json_type, 400));
  r.record(
      raw_exchange("/api/auth/register", R"(["r2@x.test","Sup3r-Secret-Pw"])", json_type, 400));
  r.record(raw_exchange("/api/auth/register", R"({"user":{"PassWord":"Sup3r-Secret-Pw"}})",
                        json_type, 400));
  r.record(raw_exchange("/api/auth/login", R"({"email":"r2@x.test","password":12345678})",
                        json_type, 400));
  // A register the shop refused for its password's length keeps that length.
  r.record(raw_exchange("/api/auth/register", R"({"email":"r2@x.test","password":"Sup3r"})",
                        json_type, 400));
  // A password-ish key on any route.
  r.record(raw_exchange("/api/cart/items",
                        R"({"product_id":"p-001","new_passwd":"Sup3r-Secret-Pw"})", json_type,
                        400));
  r.record(raw_exchange("/api/cart/items", R"(password=Sup3r-Secret-Pw)", "text/plain", 415));
  auto yaml = r.yaml();
  CHECK(yaml.find("Sup3r") == std::string::npos);
  CHECK(yaml.find("12345678") == std::string::npos);
  CHECK(r.steps() == 8);
  CHECK(yaml.find("json: {\"Email\":\"r2@x.test\",\"password\":\"***************\"}") !=
        std::string::npos);
  // Not JSON: every character masked, so that the shop refuses it as it did.
  CHECK(yaml.find("body: \"" + std::string(49, '*') + "\"") != std::string::npos);
  CHECK(yaml.find("json: {\"email\":\"r2@x.test\",\"password\":\"*****\"}") != std::string::npos);
  CHECK(yaml.find("\"password\":0") != std::string::npos);
  CHECK(yaml.find("\"new_passwd\":\"***************\"") != std::string::npos);
  CHECK(yaml.find("login:") == std::string::npos);
  CHECK(yaml.find("register:") == std::string::npos);
  auto loaded = shopctl::scenario::parse_scenario_text(yaml, "recorded.yaml");
  CHECK_MESSAGE(loaded.ok(), loaded.format_diagnostics());
}

TEST_CASE("a login or register whose email is not a string is recorded as a request step") {
  SessionRecorder r;
  r.record(raw_exchange("/api/auth/login", R"({"email":["r2@x.test"],"password":"x"})",
                        "application/json", 400));
  r.record(raw_exchange("/api/auth/register", R"({"email":{"a":1},"password":"x"})",
                        "application/json", 400));
  r.record(raw_exchange("/api/payments/webhook", R"({"event_id":[1],"payment_id":2,"type":3})",
                        "application/json", 200));
  CHECK(r.steps() == 2);
  auto yaml = r.yaml();
  // Only an email that is a string is known to be one: the rest of a body to /api/auth/ is masked.
  CHECK(yaml.find("json: {\"email\":[\"*********\"],\"password\":\"*\"}") != std::string::npos);
}

TEST_CASE("a login or register answered 415 is replayed with the Content-Type it was sent with") {
  SessionRecorder r;
  r.record(raw_exchange("/api/auth/register",
                        R"({"email":"r2@x.test","password":"Sup3r-Secret-Pw","name":"R"})",
                        "text/plain", 415));
  r.record(raw_exchange("/api/auth/login", R"({"email":"r2@x.test","password":"Sup3r-Secret-Pw"})",
                        "application/json; charset=latin1", 415));
  auto yaml = r.yaml();
  CHECK(yaml.find("Sup3r") == std::string::npos);
  CHECK(yaml.find("login:") == std::string::npos);
  CHECK(yaml.find("register:") == std::string::npos);
  CHECK(yaml.find("headers: {Content-Type: \"text/plain\"}, body: "
                  "\"{\\\"email\\\":\\\"r2@x.test\\\",\\\"name\\\":\\\"R\\\",\\\"password\\\":"
                  "\\\"***************\\\"}\"") != std::string::npos);
  CHECK(yaml.find("headers: {Content-Type: \"application/json; charset=latin1\"}, body: ") !=
        std::string::npos);
  CHECK(yaml.find("expect: {status: 415}") != std::string::npos);
}

TEST_CASE("a recorded label keeps the ${...} its path is written with") {
  SessionRecorder r;
  record_shopping_session(r);
  auto yaml = r.yaml();
  CHECK(yaml.find("name: \"GET /api/orders/${order_id}\"") != std::string::npos);
  CHECK(yaml.find("ord_9\"") == std::string::npos);
}

namespace {

// Two accounts registered and logged in, A then B; then each acts with its own token.
void record_two_users(SessionRecorder& r) {
  r.record(exchange("POST", "/api/auth/register",
                    {{"email", "a@shop.test"}, {"password", "password-of-a"}, {"name", "a"}}, 201,
                    {{"user_id", "usr_a"}}, ""));
  r.record(exchange("POST", "/api/auth/register",
                    {{"email", "b@shop.test"}, {"password", "password-of-b"}, {"name", "b"}}, 201,
                    {{"user_id", "usr_b"}}, ""));
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "a@shop.test"}, {"password", "password-of-a"}}, 200,
                    {{"access_token", "token-of-a"}}, ""));
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "b@shop.test"}, {"password", "password-of-b"}}, 200,
                    {{"access_token", "token-of-b"}}, ""));
}

}  // namespace

TEST_CASE("a request made with an earlier login's token is replayed with that user's token") {
  SessionRecorder r;
  record_two_users(r);
  r.record(exchange("POST", "/api/cart/items", {{"product_id", "p-001"}, {"quantity", 2}}, 200,
                    {{"total_cents", 100}}, "token-of-a"));
  r.record(exchange("POST", "/api/orders", nullptr, 400, {{"error", {{"code", "cart_empty"}}}},
                    "token-of-b"));
  r.record(exchange("POST", "/api/orders", nullptr, 201, {{"order_id", "ord_1"}}, "token-of-a"));
  auto yaml = r.yaml();
  CHECK(yaml.find("token-of-") == std::string::npos);
  // A's login answers the token that A's requests send; B's, the last login, is the runner's.
  const auto login_a = yaml.find("login: {email: \"${email_1}\"");
  const auto capture = yaml.find("capture: {token_1: \"$.access_token\"}");
  CHECK(login_a < capture);
  CHECK(capture < yaml.find("login: {email: \"${email_2}\""));
  CHECK(yaml.find("token_2") == std::string::npos);
  CHECK(yaml.find("request: {method: POST, path: \"/api/cart/items\", json: "
                  "{\"product_id\":\"p-001\",\"quantity\":2}, auth: \"${token_1}\"}") !=
        std::string::npos);
  CHECK(yaml.find("request: {method: POST, path: \"/api/orders\"}\n    expect: {status: 400}") !=
        std::string::npos);
  CHECK(yaml.find("request: {method: POST, path: \"/api/orders\", auth: \"${token_1}\"}\n    "
                  "expect: {status: 201}") != std::string::npos);
  auto loaded = shopctl::scenario::parse_scenario_text(yaml, "recorded.yaml");
  CHECK_MESSAGE(loaded.ok(), loaded.format_diagnostics());
}

TEST_CASE("a request with no token after a login is replayed without one") {
  SessionRecorder r;
  record_two_users(r);
  r.record(
      exchange("GET", "/api/cart", nullptr, 401, {{"error", {{"code", "unauthenticated"}}}}, ""));
  CHECK(r.yaml().find("request: {method: GET, path: \"/api/cart\", auth: none}") !=
        std::string::npos);
}

TEST_CASE("a token no login of the recording gave is not replayed as the current user's") {
  SessionRecorder r;
  record_two_users(r);
  // From before the recording: the replay has no such token and sends none.
  r.record(exchange("GET", "/api/catalog/products", nullptr, 200, {{"items", json::array()}},
                    "token-from-before"));
  // Refused by the shop (expired, or not a token): the replay sends one that is refused too.
  r.record(exchange("GET", "/api/cart", nullptr, 401, {{"error", {{"code", "token_expired"}}}},
                    "token-of-a"));
  auto yaml = r.yaml();
  CHECK(yaml.find("token-from-before") == std::string::npos);
  CHECK(yaml.find("path: \"/api/catalog/products\", auth: none}") != std::string::npos);
  CHECK(yaml.find("# this request carried a token that no login of the recording was given") !=
        std::string::npos);
  CHECK(yaml.find("path: \"/api/cart\", auth: \"not-a-token\"}") != std::string::npos);
  CHECK(yaml.find("# the shop refused this request's token (token_expired)") != std::string::npos);
}

TEST_CASE("a login that failed for an account the session could not register registers nothing") {
  SessionRecorder r;
  // Refused for its password's length: the session never had the account.
  r.record(raw_exchange("/api/auth/register", R"({"email":"c@shop.test","password":"short"})",
                        "application/json", 400));
  r.record(exchange("POST", "/api/auth/login", {{"email", "c@shop.test"}, {"password", "short"}},
                    401, {{"error", {{"code", "invalid_credentials"}}}}, ""));
  auto yaml = r.yaml();
  CHECK(yaml.find("existed before") == std::string::npos);
  CHECK(yaml.find("register:") == std::string::npos);
  CHECK(yaml.find("login: {email: \"${email_1}\", password: \"not-the-password\"}") !=
        std::string::npos);
  CHECK(r.steps() == 2);
}

TEST_CASE("a registration refused as a duplicate registers the account from before first") {
  SessionRecorder r;
  r.record(exchange("POST", "/api/auth/register",
                    {{"email", "old@shop.test"}, {"password", "its-password"}}, 409,
                    {{"error", {{"code", "email_taken"}}}}, ""));
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "old@shop.test"}, {"password", "its-password"}}, 200,
                    {{"access_token", "t"}}, ""));
  auto yaml = r.yaml();
  CHECK(yaml.find("# the account existed before the recording (its registration was refused") !=
        std::string::npos);
  const auto first = yaml.find("register: {email: \"${email_1}\"");
  CHECK(yaml.find("expect: {status: 201}", first) < yaml.find("expect: {status: 409}", first));
  // Registered once: the login after it needs no registration of its own.
  CHECK(yaml.find("register:", first + 1) != std::string::npos);
  CHECK(yaml.find("register:", yaml.find("register:", first + 1) + 1) == std::string::npos);
  CHECK(r.steps() == 3);
}

// A target with a byte a scenario's path sends percent-encoded (`?q=a#b`, `|`, `{`, raw UTF-8)
// was recorded as written with the shop's 400; the replay sent it encoded and got 200, so the
// recording failed on a fresh shop (an outside probe). It is left out, with a comment.
TEST_CASE("a request whose target a scenario cannot send as it was sent is left out, and said") {
  SessionRecorder r;
  record_shopping_session(r);
  for (const char* target :
       {"/api/catalog/products?q=a#b", "/api/catalog/products?q=a|b",
        "/api/catalog/products?q=a{b}", "/api/catalog/products?q=caf\xc3\xa9"}) {
    r.record(exchange("GET", target, nullptr, 400, {{"error", {{"code", "invalid_query"}}}}));
  }
  r.record(
      exchange("GET", "/api/catalog/products?q=a%23b", nullptr, 200, {{"items", json::array()}}));
  const auto yaml = r.yaml();
  CHECK(yaml.find("path: \"/api/catalog/products?q=a#b\"") == std::string::npos);
  CHECK(yaml.find("# left out: GET /api/catalog/products?q=a#b (answered 400)") !=
        std::string::npos);
  CHECK(yaml.find("# left out: GET /api/catalog/products?q=caf\\xc3\\xa9") != std::string::npos);
  // The encoded one is sent as written: kept, after the comments of those left out.
  const auto kept = yaml.find("path: \"/api/catalog/products?q=a%23b\"");
  REQUIRE(kept != std::string::npos);
  CHECK(yaml.rfind("# left out:") < kept);
  auto loaded = shopctl::scenario::parse_scenario_text(yaml, "recorded.yaml");
  CHECK_MESSAGE(loaded.ok(), loaded.format_diagnostics());
}

// Four ways the recording gave the replay another request than the session's (an outside
// probe): each replayed a 4xx of the session as a request the shop took.
TEST_CASE("a body with a key given twice is recorded as sent, not merged") {
  SessionRecorder r;
  PublicExchange e = exchange("POST", "/api/cart/items", nullptr, 400,
                              {{"error", {{"code", "duplicate_json_key"}}}});
  e.request_body = R"({"product_id":"p-001","quantity":1,"quantity":50})";
  e.content_type = "application/json";
  r.record(e);
  const auto yaml = r.yaml();
  CAPTURE(yaml);
  CHECK(yaml.find("json:") == std::string::npos);
  CHECK(yaml.find(R"(\"quantity\":1,\"quantity\":50)") != std::string::npos);
}

TEST_CASE("a request's Content-Encoding is recorded with it") {
  SessionRecorder r;
  PublicExchange e = exchange("POST", "/api/cart/items", {{"product_id", "p-001"}, {"quantity", 1}},
                              415, {{"error", {{"code", "unsupported_media_type"}}}});
  e.content_encoding = "gzip";
  r.record(e);
  const auto yaml = r.yaml();
  CAPTURE(yaml);
  CHECK(yaml.find("Content-Encoding: \"gzip\"") != std::string::npos);
}

TEST_CASE("a bearer token after two spaces is the session's token") {
  SessionRecorder r;
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "ada@example.com"}, {"password", "my-secret-pass"}}, 200,
                    {{"access_token", kAdaToken}}, ""));
  PublicExchange e = exchange("GET", "/api/orders", nullptr, 200, json::array());
  e.authorization = "Bearer  " + kAdaToken;
  r.record(e);
  const auto yaml = r.yaml();
  CAPTURE(yaml);
  CHECK(yaml.find("no login of the recording was given") == std::string::npos);
  CHECK(yaml.find("auth: none") == std::string::npos);
}

TEST_CASE("emails that differ in letter case are one account") {
  SessionRecorder r;
  r.record(exchange("POST", "/api/auth/register",
                    {{"email", "ann@x.test"}, {"password", "pass-word-1"}, {"name", "Ann"}}, 201,
                    {{"user_id", "usr_1"}}, ""));
  r.record(exchange("POST", "/api/auth/register",
                    {{"email", "ANN@x.test"}, {"password", "pass-word-2"}, {"name", "Ann"}}, 409,
                    {{"error", {{"code", "email_taken"}}}}, ""));
  r.record(exchange("POST", "/api/auth/login",
                    {{"email", "Ann@X.TEST"}, {"password", "pass-word-1"}}, 200,
                    {{"access_token", kAdaToken}}, ""));
  const auto yaml = r.yaml();
  CAPTURE(yaml);
  CHECK(yaml.find("email_2") == std::string::npos);
  CHECK(yaml.find("existed before the recording") == std::string::npos);
}

// The bounds of a recording were said only on serve's standard error: a file that missed a
// request that changed the shop failed at a later step of its replay, with nothing in it to say
// why (an outside probe). The file now says where each bound bit.
TEST_CASE("a recording says in the file which requests its bounds left out") {
  shopctl::scenario::RecorderOptions options;
  options.max_steps = 3;
  options.max_body = 64;
  SessionRecorder r(options);
  r.record(exchange("GET", "/api/catalog/products", nullptr, 200, {{"items", json::array()}}, ""));
  r.record(exchange("POST", "/api/cart/items",
                    {{"product_id", "p-001"}, {"quantity", 1}, {"note", std::string(100, 'x')}},
                    200, {{"total_cents", 100}}));
  r.record(exchange("GET", "/api/cart", nullptr, 200, {{"items", json::array()}}));
  r.record(exchange("GET", "/api/orders", nullptr, 200, {{"items", json::array()}}));
  r.record(exchange("GET", "/api/orders?page=2", nullptr, 200, {{"items", json::array()}}));
  r.record(exchange("GET", "/api/orders?page=3", nullptr, 200, {{"items", json::array()}}));
  const auto yaml = r.yaml();
  CHECK(r.steps() == 3);
  CHECK(yaml.find("# left out: POST /api/cart/items (answered 200): its request body of ") !=
        std::string::npos);
  CHECK(yaml.find("bytes is over the 64 bytes a recording keeps of one") != std::string::npos);
  CHECK(yaml.find("# not recorded: the 2 exchanges after the first 3 steps") != std::string::npos);
  // The left-out request's comment stands before the step that came after it.
  CHECK(yaml.find("# left out: POST") < yaml.find("GET /api/cart"));
}
