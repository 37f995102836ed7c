// Unit tests of src/services/payment/payment_model and src/services/provider/provider_model:
// the outbox schedule, the provider's event and test cards.
#include <doctest/doctest.h>

#include <string>

#include "domain_error_code.hpp"
#include "platform/domain_error.hpp"
#include "services/payment/payment_model.hpp"
#include "services/provider/provider_model.hpp"

namespace payment = shopctl::payment;
namespace provider = shopctl::provider;
using namespace std::chrono_literals;
using shopctl::platform::DomainError;
using shopctl::testing::error_code_of;

namespace {

nlohmann::json valid_event() {
  return {{"event_id", "evt_1"},  {"type", "payment.failed"}, {"payment_id", "pay_1"},
          {"amount_cents", 2580}, {"currency", "EUR"},        {"failure_reason", "card_declined"}};
}

}  // namespace

TEST_CASE("the outbox backs off exponentially from the initial wait up to the maximum") {
  CHECK(payment::outbox_backoff(1, 200ms, 30s) == 200ms);
  CHECK(payment::outbox_backoff(2, 200ms, 30s) == 400ms);
  CHECK(payment::outbox_backoff(3, 200ms, 30s) == 800ms);
  CHECK(payment::outbox_backoff(8, 200ms, 30s) == 25600ms);
  CHECK(payment::outbox_backoff(9, 200ms, 30s) == 30s);
  CHECK(payment::outbox_backoff(1000, 200ms, 30s) == 30s);
  // A maximum below the initial wait is the initial wait.
  CHECK(payment::outbox_backoff(5, 500ms, 100ms) == 500ms);
}

TEST_CASE("an outbox row's wait is no longer than the time its payment process has been up") {
  // Long up: the row's backoff.
  CHECK(payment::outbox_retry_wait(3, 200ms, 30s, 1h) == 800ms);
  CHECK(payment::outbox_retry_wait(12, 200ms, 30s, 1h) == 30s);
  // Just restarted, a row that failed 12 times before waits as a new row would.
  CHECK(payment::outbox_retry_wait(12, 200ms, 30s, 0ms) == 200ms);
  CHECK(payment::outbox_retry_wait(13, 200ms, 30s, 200ms) == 200ms);
  CHECK(payment::outbox_retry_wait(14, 200ms, 30s, 450ms) == 450ms);
  CHECK(payment::outbox_retry_wait(20, 200ms, 30s, 5s) == 5s);
  // Never shorter than the initial wait, and never longer than the maximum.
  CHECK(payment::outbox_retry_wait(1, 200ms, 30s, 1ms) == 200ms);
  CHECK(payment::outbox_retry_wait(20, 200ms, 30s, 2h) == 30s);
}

// The backoff went on doubling while payment's own breaker to order refused the tries: after an
// order outage of a second, paid orders stayed PAYMENT_PENDING 20 s past the end of the
// breaker's 30 s wait (an outside probe).
TEST_CASE("a try refused by the open breaker waits no longer than the breaker's wait") {
  // The 5th try (3.2 s of backoff) refused with 400 ms of the breaker's wait left: 400 ms.
  CHECK(payment::outbox_retry_wait(5, 200ms, 30s, 1h, 400ms) == 400ms);
  // Never shorter than the initial wait: HALF_OPEN (0 left) or a wait just ending.
  CHECK(payment::outbox_retry_wait(5, 200ms, 30s, 1h, 0ms) == 200ms);
  CHECK(payment::outbox_retry_wait(5, 200ms, 30s, 1h, 50ms) == 200ms);
  // A backoff shorter than the breaker's wait stays (the next try is refused again, at no cost).
  CHECK(payment::outbox_retry_wait(2, 200ms, 30s, 1h, 25s) == 400ms);
  // Not refused by the breaker (none): the backoff.
  CHECK(payment::outbox_retry_wait(5, 200ms, 30s, 1h, std::nullopt) == 3200ms);
}

TEST_CASE("the order service's answer decides whether a callback is finished") {
  using payment::CallbackVerdict;
  CHECK(payment::judge_callback_answer(200) == CallbackVerdict::acknowledged);
  CHECK(payment::judge_callback_answer(204) == CallbackVerdict::acknowledged);
  CHECK(payment::judge_callback_answer(409) == CallbackVerdict::conflict);
  CHECK(payment::judge_callback_answer(404) == CallbackVerdict::retry);  // the wrong order peer
  CHECK(payment::judge_callback_answer(400) == CallbackVerdict::rejected);
  CHECK(payment::judge_callback_answer(408) == CallbackVerdict::retry);
  CHECK(payment::judge_callback_answer(429) == CallbackVerdict::retry);
  CHECK(payment::judge_callback_answer(500) == CallbackVerdict::retry);
  CHECK(payment::judge_callback_answer(503) == CallbackVerdict::retry);
  // An authentication refusal is the shop's own problem (a credential refused after a clock
  // jump dropped a paid order's result): retried, never final.
  CHECK(payment::judge_callback_answer(401) == CallbackVerdict::retry);
  CHECK(payment::judge_callback_answer(403) == CallbackVerdict::retry);
}

TEST_CASE("a later event's callback carries the result its payment's first event decided") {
  auto declined = payment::parse_provider_event(valid_event());
  auto captured = declined;
  captured.type = "payment.succeeded";
  captured.failure_reason.clear();
  // A payment that failed first: a later capture's callback says FAILED, with its reason.
  auto told = payment::as_decided(captured, payment::kFailed, "card_declined");
  CHECK(told.result() == "FAILED");
  CHECK(payment::payment_result_body(told) ==
        nlohmann::json{{"payment_id", "pay_1"}, {"status", "FAILED"}, {"reason", "card_declined"}});
  CHECK(told.event_id == captured.event_id);
  // One that succeeded first: a later decline's callback says SUCCEEDED, without a reason.
  told = payment::as_decided(declined, payment::kSucceeded, "");
  CHECK(told.result() == "SUCCEEDED");
  CHECK(payment::payment_result_body(told)["reason"].is_null());
  // An event that agrees, or a payment no event decided, is left as it is.
  CHECK(payment::as_decided(declined, payment::kFailed, "other").failure_reason == "card_declined");
  CHECK_FALSE(payment::as_decided(declined, payment::kPending, "").succeeded());
  CHECK(payment::as_decided(captured, payment::kPending, "").succeeded());
  // A canceled payment's events say it failed, for the cancel's reason: the provider takes no
  // payment on a canceled intent.
  told = payment::as_decided(captured, payment::kCanceled, "payment_expired");
  CHECK(payment::payment_result_body(told) == nlohmann::json{{"payment_id", "pay_1"},
                                                             {"status", "FAILED"},
                                                             {"reason", "payment_expired"}});
  CHECK(payment::as_decided(declined, payment::kCanceled, "payment_expired").failure_reason ==
        "payment_expired");
}

TEST_CASE("a provider event is read field by field and its type is checked") {
  auto event = payment::parse_provider_event(valid_event());
  CHECK(event.event_id == "evt_1");
  CHECK_FALSE(event.succeeded());
  CHECK(event.result() == "FAILED");
  CHECK(event.failure_reason == "card_declined");
  auto body = payment::payment_result_body(event);
  CHECK(body ==
        nlohmann::json{{"payment_id", "pay_1"}, {"status", "FAILED"}, {"reason", "card_declined"}});

  auto succeeded = valid_event();
  succeeded["type"] = "payment.succeeded";
  succeeded["failure_reason"] = nullptr;
  event = payment::parse_provider_event(succeeded);
  CHECK(event.result() == "SUCCEEDED");
  CHECK(payment::payment_result_body(event)["reason"].is_null());

  // A failed payment always gives its order a reason: a signed event without one ended the
  // order FAILED with a reason of null (an outside probe).
  auto no_reason = valid_event();
  no_reason.erase("failure_reason");
  event = payment::parse_provider_event(no_reason);
  CHECK(payment::payment_result_body(event)["reason"] == "unspecified");

  auto unknown = valid_event();
  unknown["type"] = "charge.refunded";
  CHECK(error_code_of([&] { payment::parse_provider_event(unknown); }) == "unknown_event_type");
  auto missing = valid_event();
  missing.erase("event_id");
  CHECK(error_code_of([&] { payment::parse_provider_event(missing); }) == "missing_field");
  auto wrong_type = valid_event();
  wrong_type["amount_cents"] = "2580";
  CHECK(error_code_of([&] { payment::parse_provider_event(wrong_type); }) == "invalid_field");
}

TEST_CASE("currencies are three capital letters") {
  CHECK_NOTHROW(payment::validate_currency("EUR", "currency"));
  CHECK(error_code_of([] { payment::validate_currency("eur", "currency"); }) == "invalid_field");
  CHECK(error_code_of([] { payment::validate_currency("EURO", "currency"); }) == "invalid_field");
}

TEST_CASE("the provider's test cards decide the payment, other numbers are invalid") {
  auto ok = provider::decide_card("4242424242424242");
  REQUIRE(ok);
  CHECK(ok->succeeded);
  auto declined = provider::decide_card("4000000000000002");
  REQUIRE(declined);
  CHECK_FALSE(declined->succeeded);
  CHECK(declined->failure_reason == "card_declined");
  auto poor = provider::decide_card("4000000000009995");
  REQUIRE(poor);
  CHECK(poor->failure_reason == "insufficient_funds");
  CHECK_FALSE(provider::decide_card("5555555555554444"));
  CHECK_FALSE(provider::decide_card("4242"));
  CHECK(provider::is_sixteen_digits("5555555555554444"));
  CHECK_FALSE(provider::is_sixteen_digits("5555 5555 5555 4444"));
}

TEST_CASE("the provider's event carries the payment and a null reason on success") {
  auto body = provider::event_body("evt_1", {true, ""}, "pay_1", 100, "EUR");
  CHECK(body["type"] == "payment.succeeded");
  CHECK(body["failure_reason"].is_null());
  // What the provider sends, the payment service reads.
  auto event = payment::parse_provider_event(body);
  CHECK(event.payment_id == "pay_1");
  CHECK(event.amount_cents == 100);
}

TEST_CASE("a cancel request needs a non-empty order_id and reason") {
  auto request =
      payment::parse_cancel_request({{"order_id", "ord_1"}, {"reason", "payment_expired"}});
  CHECK(request.order_id == "ord_1");
  CHECK(request.reason == "payment_expired");
  CHECK(error_code_of([] {
          payment::parse_cancel_request({{"reason", "payment_expired"}});
        }) == "missing_field");
  CHECK(error_code_of([] {
          payment::parse_cancel_request({{"order_id", "ord_1"}});
        }) == "missing_field");
  CHECK(error_code_of([] {
          payment::parse_cancel_request({{"order_id", ""}, {"reason", "payment_expired"}});
        }) == "invalid_field");
  CHECK(error_code_of([] {
          payment::parse_cancel_request({{"order_id", "ord_1"}, {"reason", ""}});
        }) == "invalid_field");
  CHECK(error_code_of([] {
          payment::parse_cancel_request({{"order_id", 7}, {"reason", "payment_expired"}});
        }) == "invalid_field");
  CHECK(error_code_of([] {
          payment::parse_cancel_request(
              {{"order_id", "ord_1"}, {"reason", std::string(payment::kMaxReasonLength + 1, 'x')}});
        }) != "no error");
}

TEST_CASE("the event of an intent decided before its cancel is read from the provider's 409") {
  const nlohmann::json answer = {
      {"error",
       {{"code", "intent_already_processed"},
        {"message", "..."},
        {"details", {{"intent", {{"status", "failed"}, {"event", valid_event()}}}}}}}};
  const auto event = payment::event_of_decided_intent(answer);
  CHECK(event.event_id == "evt_1");
  CHECK(event.payment_id == "pay_1");
  CHECK_FALSE(event.succeeded());
  CHECK(event.failure_reason == "card_declined");

  nlohmann::json without_event = answer;
  without_event["error"]["details"]["intent"]["event"] = nullptr;
  CHECK(error_code_of([&] { payment::event_of_decided_intent(without_event); }) == "missing_field");
  CHECK(error_code_of([] { payment::event_of_decided_intent(nlohmann::json("garbage")); }) ==
        "missing_field");
  nlohmann::json bad_type = answer;
  bad_type["error"]["details"]["intent"]["event"]["type"] = "payment.refunded";
  CHECK(error_code_of([&] { payment::event_of_decided_intent(bad_type); }) == "unknown_event_type");
}
