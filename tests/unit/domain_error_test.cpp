// The one mapping from domain errors to HTTP, the one renderer of the error shape, and the
// platform's shared rules behind them (Retry-After, Idempotency-Key).
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "domain_error_code.hpp"
#include "platform/domain_error.hpp"
#include "platform/error.hpp"
#include "platform/error_mapping.hpp"
#include "platform/idempotency_key.hpp"

namespace platform = shopctl::platform;
using platform::DomainError;
using platform::ErrorKind;
using shopctl::testing::error_code_of;

TEST_CASE("every error kind has one HTTP status, and each status names its kind again") {
  const std::pair<ErrorKind, int> expected[] = {{ErrorKind::invalid, 400},
                                                {ErrorKind::unauthorized, 401},
                                                {ErrorKind::forbidden, 403},
                                                {ErrorKind::not_found, 404},
                                                {ErrorKind::method_not_allowed, 405},
                                                {ErrorKind::conflict, 409},
                                                {ErrorKind::gone, 410},
                                                {ErrorKind::too_large, 413},
                                                {ErrorKind::unsupported_media_type, 415},
                                                {ErrorKind::unprocessable, 422},
                                                {ErrorKind::failed_dependency, 424},
                                                {ErrorKind::too_many, 429},
                                                {ErrorKind::internal, 500},
                                                {ErrorKind::bad_gateway, 502},
                                                {ErrorKind::unavailable, 503},
                                                {ErrorKind::timeout, 504}};
  for (const auto& entry : expected) {
    const ErrorKind kind = entry.first;
    const int status = entry.second;
    CAPTURE(status);
    CHECK(platform::http_status(kind) == status);
    CHECK(platform::kind_for_status(status) == kind);
  }
  CHECK(platform::kind_for_status(418) == ErrorKind::internal);
  CHECK(platform::http_status(static_cast<ErrorKind>(999)) == 500);  // an unknown kind: internal
  CHECK(platform::to_string(ErrorKind::not_found) == "not_found");
}

TEST_CASE("an ApiError is the domain error of its status") {
  platform::ApiError error(409, "email_taken", "an account with that email exists",
                           {{"field", "email"}});
  CHECK(error.kind() == ErrorKind::conflict);
  CHECK(error.status() == 409);
  const DomainError& as_domain = error;
  CHECK(platform::http_status(as_domain) == 409);
}

TEST_CASE("a domain error renders as the contract's error shape with its kind's status") {
  DomainError error(ErrorKind::not_found, "order_not_found", "no such order",
                    {{"order_id", "ord_1"}});
  auto res = platform::error_response(error, "trace-1");
  CHECK(res.status == 404);
  CHECK_FALSE(res.headers.contains("Retry-After"));
  auto body = nlohmann::json::parse(res.body);
  CHECK(body == nlohmann::json{{"error",
                                {{"code", "order_not_found"},
                                 {"message", "no such order"},
                                 {"details", {{"order_id", "ord_1"}}}}},
                               {"trace_id", "trace-1"}});

  DomainError busy(ErrorKind::unavailable, "auth_busy", "try again shortly");
  busy.with_retry_after(3);
  auto answer = platform::error_response(busy, "trace-2");
  CHECK(answer.status == 503);
  CHECK(answer.headers.get("Retry-After") == "3");
}

TEST_CASE("a message quoting a NUL from the request is rendered whole") {
  // what() is a C string: the answer used to end at the NUL ("no product with id 'abc").
  const std::string message = std::string("no product with id 'abc") + '\0' + "def'";
  platform::ApiError error(404, "product_not_found", message);
  auto body = nlohmann::json::parse(platform::error_response(error, "trace-3").body);
  CHECK(body["error"]["message"].get<std::string>() == message);
}

TEST_CASE("Retry-After is the rest of a wait in whole seconds, at least one") {
  CHECK(platform::retry_after_seconds(-5) == 1);
  CHECK(platform::retry_after_seconds(0) == 1);
  CHECK(platform::retry_after_seconds(1) == 1);
  CHECK(platform::retry_after_seconds(1000) == 1);
  CHECK(platform::retry_after_seconds(1001) == 2);
  CHECK(platform::retry_after_seconds(29'500) == 30);
}

TEST_CASE("an Idempotency-Key is 1 to 200 printable ASCII characters") {
  using platform::validate_idempotency_key;
  CHECK_NOTHROW(validate_idempotency_key("a"));
  CHECK_NOTHROW(validate_idempotency_key(std::string(200, 'k')));
  CHECK_NOTHROW(validate_idempotency_key("3f9a-11ee_b962:0242ac120002"));
  CHECK(error_code_of([] { validate_idempotency_key(""); }) == "invalid_idempotency_key");
  CHECK(error_code_of([] { validate_idempotency_key(std::string(201, 'k')); }) ==
        "invalid_idempotency_key");
  CHECK_NOTHROW(validate_idempotency_key("has space"));
  CHECK(error_code_of([] { validate_idempotency_key("tab\there"); }) == "invalid_idempotency_key");
  CHECK(error_code_of([] { validate_idempotency_key("caf\xc3\xa9"); }) ==
        "invalid_idempotency_key");
  CHECK(error_code_of([] { validate_idempotency_key("del\x7f"); }) == "invalid_idempotency_key");
}

TEST_CASE("a refused Idempotency-Key names the header and the longest length") {
  // Payment's copy of the rule left max_length out of its details; the one rule keeps it.
  try {
    platform::validate_idempotency_key("");
    FAIL("no error");
  } catch (const DomainError& e) {
    CHECK(e.kind() == ErrorKind::invalid);
    CHECK(e.details() == nlohmann::json{{"header", "Idempotency-Key"}, {"max_length", 200}});
  }
}
