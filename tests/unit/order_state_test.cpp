// Unit tests of src/services/order/order_state: the payment-result transition table.
#include <doctest/doctest.h>

#include <string>

#include "services/order/order_state.hpp"

namespace {

using shopctl::order::OrderStatus;
using shopctl::order::PaymentOutcome;
using shopctl::order::TransitionDecision;
namespace order = shopctl::order;

constexpr std::string_view kPayment = "pay_123";

struct Row {
  OrderStatus current;
  PaymentOutcome outcome;
  TransitionDecision::Kind kind;
  OrderStatus next;
  std::string_view reason;
};

}  // namespace

TEST_CASE("order statuses and payment outcomes round-trip through their names") {
  for (OrderStatus status :
       {OrderStatus::PAYMENT_PENDING, OrderStatus::PAID, OrderStatus::FAILED}) {
    CHECK(order::parse_order_status(order::to_string(status)) == status);
  }
  CHECK(order::to_string(OrderStatus::PAYMENT_PENDING) == "PAYMENT_PENDING");
  CHECK(order::to_string(OrderStatus::PAID) == "PAID");
  CHECK(order::to_string(OrderStatus::FAILED) == "FAILED");
  CHECK_FALSE(order::parse_order_status("paid").has_value());
  CHECK_FALSE(order::parse_order_status("").has_value());
  CHECK_FALSE(order::parse_order_status("PENDING").has_value());

  CHECK(order::parse_payment_outcome("SUCCEEDED") == PaymentOutcome::SUCCEEDED);
  CHECK(order::parse_payment_outcome("FAILED") == PaymentOutcome::FAILED);
  CHECK(order::to_string(PaymentOutcome::SUCCEEDED) == "SUCCEEDED");
  CHECK_FALSE(order::parse_payment_outcome("succeeded").has_value());
  CHECK_FALSE(order::parse_payment_outcome("PAID").has_value());
}

TEST_CASE("only PAYMENT_PENDING is not final") {
  CHECK_FALSE(order::is_final(OrderStatus::PAYMENT_PENDING));
  CHECK(order::is_final(OrderStatus::PAID));
  CHECK(order::is_final(OrderStatus::FAILED));
}

TEST_CASE("a payment result for the order's own payment follows the full transition table") {
  const Row table[] = {
      {OrderStatus::PAYMENT_PENDING, PaymentOutcome::SUCCEEDED, TransitionDecision::apply,
       OrderStatus::PAID, "payment_recorded"},
      {OrderStatus::PAYMENT_PENDING, PaymentOutcome::FAILED, TransitionDecision::apply,
       OrderStatus::FAILED, "payment_recorded"},
      {OrderStatus::PAID, PaymentOutcome::SUCCEEDED, TransitionDecision::no_op, OrderStatus::PAID,
       "repeated_result"},
      {OrderStatus::FAILED, PaymentOutcome::FAILED, TransitionDecision::no_op, OrderStatus::FAILED,
       "repeated_result"},
      {OrderStatus::PAID, PaymentOutcome::FAILED, TransitionDecision::conflict, OrderStatus::PAID,
       "order_already_paid"},
      {OrderStatus::FAILED, PaymentOutcome::SUCCEEDED, TransitionDecision::conflict,
       OrderStatus::FAILED, "order_already_failed"},
  };
  for (const Row& row : table) {
    CAPTURE(order::to_string(row.current));
    CAPTURE(order::to_string(row.outcome));
    const TransitionDecision decision =
        order::decide_payment_result(row.current, kPayment, kPayment, row.outcome);
    CHECK(decision.kind == row.kind);
    CHECK(decision.next == row.next);
    CHECK(decision.reason == row.reason);
  }
}

TEST_CASE("a result for a different payment is a conflict in every state") {
  for (OrderStatus current :
       {OrderStatus::PAYMENT_PENDING, OrderStatus::PAID, OrderStatus::FAILED}) {
    for (PaymentOutcome outcome : {PaymentOutcome::SUCCEEDED, PaymentOutcome::FAILED}) {
      CAPTURE(order::to_string(current));
      CAPTURE(order::to_string(outcome));
      const TransitionDecision decision =
          order::decide_payment_result(current, kPayment, "pay_other", outcome);
      CHECK(decision.kind == TransitionDecision::conflict);
      CHECK(decision.next == current);
      CHECK(decision.reason == "payment_mismatch");
    }
  }
}

TEST_CASE("a result without a payment id is a conflict") {
  const TransitionDecision decision =
      order::decide_payment_result(OrderStatus::PAYMENT_PENDING, "", "", PaymentOutcome::SUCCEEDED);
  CHECK(decision.kind == TransitionDecision::conflict);
  CHECK(decision.next == OrderStatus::PAYMENT_PENDING);
  CHECK(order::decide_payment_result(OrderStatus::PAYMENT_PENDING, kPayment, "",
                                     PaymentOutcome::FAILED)
            .kind == TransitionDecision::conflict);
}

TEST_CASE("a pending order without a recorded payment adopts the incoming payment") {
  const TransitionDecision decision = order::decide_payment_result(
      OrderStatus::PAYMENT_PENDING, "", kPayment, PaymentOutcome::SUCCEEDED);
  CHECK(decision.kind == TransitionDecision::apply);
  CHECK(decision.next == OrderStatus::PAID);
}

TEST_CASE("a final order without a recorded payment refuses any result") {
  // Checkout failed with payment_unavailable before a payment id was stored; a late result
  // for some payment must not revive or re-fail the order silently.
  const TransitionDecision succeeded =
      order::decide_payment_result(OrderStatus::FAILED, "", kPayment, PaymentOutcome::SUCCEEDED);
  CHECK(succeeded.kind == TransitionDecision::conflict);
  CHECK(succeeded.next == OrderStatus::FAILED);
  CHECK(order::decide_payment_result(OrderStatus::FAILED, "", kPayment, PaymentOutcome::FAILED)
            .kind == TransitionDecision::conflict);
}
