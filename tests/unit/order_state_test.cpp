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

TEST_CASE("cancel outcomes round-trip through their names") {
  using shopctl::order::CancelOutcome;
  for (CancelOutcome outcome :
       {CancelOutcome::CANCELED, CancelOutcome::SUCCEEDED, CancelOutcome::FAILED}) {
    CHECK(order::parse_cancel_outcome(order::to_string(outcome)) == outcome);
  }
  CHECK(order::to_string(CancelOutcome::CANCELED) == "CANCELED");
  CHECK_FALSE(order::parse_cancel_outcome("canceled").has_value());
  CHECK_FALSE(order::parse_cancel_outcome("PENDING").has_value());
  CHECK_FALSE(order::parse_cancel_outcome("").has_value());
}

TEST_CASE("a canceled payment fails a pending order and changes no final one") {
  using shopctl::order::CancelOutcome;
  const auto pending = order::decide_cancel_result(OrderStatus::PAYMENT_PENDING, kPayment, kPayment,
                                                   CancelOutcome::CANCELED);
  CHECK(pending.kind == TransitionDecision::apply);
  CHECK(pending.next == OrderStatus::FAILED);
  CHECK(pending.reason == "payment_canceled");

  const auto failed =
      order::decide_cancel_result(OrderStatus::FAILED, kPayment, kPayment, CancelOutcome::CANCELED);
  CHECK(failed.kind == TransitionDecision::no_op);
  CHECK(failed.next == OrderStatus::FAILED);
  // A failed order without a recorded payment (checkout's payment_unavailable) agrees too.
  CHECK(order::decide_cancel_result(OrderStatus::FAILED, "", kPayment, CancelOutcome::CANCELED)
            .kind == TransitionDecision::no_op);

  // The provider serializes capture and cancel: a paid order's payment is never canceled.
  const auto paid =
      order::decide_cancel_result(OrderStatus::PAID, kPayment, kPayment, CancelOutcome::CANCELED);
  CHECK(paid.kind == TransitionDecision::conflict);
  CHECK(paid.next == OrderStatus::PAID);
  CHECK(paid.reason == "order_already_paid");
}

TEST_CASE("an order that had no payment is failed by the payment service's tombstone") {
  using shopctl::order::CancelOutcome;
  // Start-up recovery: the order was created, its payment never recorded.
  const auto decision =
      order::decide_cancel_result(OrderStatus::PAYMENT_PENDING, "", "", CancelOutcome::CANCELED);
  CHECK(decision.kind == TransitionDecision::apply);
  CHECK(decision.next == OrderStatus::FAILED);
  // ... or the payment was opened but its answer lost: the order adopts it.
  CHECK(order::decide_cancel_result(OrderStatus::PAYMENT_PENDING, "", kPayment,
                                    CancelOutcome::CANCELED)
            .kind == TransitionDecision::apply);
}

TEST_CASE("a canceled payment that is not the pending order's own is a conflict") {
  using shopctl::order::CancelOutcome;
  for (std::string_view incoming : {std::string_view("pay_other"), std::string_view("")}) {
    CAPTURE(incoming);
    const auto decision = order::decide_cancel_result(OrderStatus::PAYMENT_PENDING, kPayment,
                                                      incoming, CancelOutcome::CANCELED);
    CHECK(decision.kind == TransitionDecision::conflict);
    CHECK(decision.next == OrderStatus::PAYMENT_PENDING);
    CHECK(decision.reason == "payment_mismatch");
  }
}

TEST_CASE("a cancel that lost to a capture or a decline follows the payment-result table") {
  using shopctl::order::CancelOutcome;
  const struct {
    OrderStatus current;
    CancelOutcome outcome;
    PaymentOutcome same_as;
  } rows[] = {
      {OrderStatus::PAYMENT_PENDING, CancelOutcome::SUCCEEDED, PaymentOutcome::SUCCEEDED},
      {OrderStatus::PAYMENT_PENDING, CancelOutcome::FAILED, PaymentOutcome::FAILED},
      {OrderStatus::PAID, CancelOutcome::SUCCEEDED, PaymentOutcome::SUCCEEDED},
      {OrderStatus::PAID, CancelOutcome::FAILED, PaymentOutcome::FAILED},
      {OrderStatus::FAILED, CancelOutcome::SUCCEEDED, PaymentOutcome::SUCCEEDED},
      {OrderStatus::FAILED, CancelOutcome::FAILED, PaymentOutcome::FAILED},
  };
  for (const auto& row : rows) {
    for (std::string_view recorded : {kPayment, std::string_view("")}) {
      CAPTURE(order::to_string(row.current));
      CAPTURE(order::to_string(row.outcome));
      CAPTURE(recorded);
      const auto got = order::decide_cancel_result(row.current, recorded, kPayment, row.outcome);
      const auto want = order::decide_payment_result(row.current, recorded, kPayment, row.same_as);
      CHECK(got.kind == want.kind);
      CHECK(got.next == want.next);
      CHECK(got.reason == want.reason);
    }
  }
  // The capture won: the pending order becomes PAID, not FAILED.
  CHECK(order::decide_cancel_result(OrderStatus::PAYMENT_PENDING, kPayment, kPayment,
                                    CancelOutcome::SUCCEEDED)
            .next == OrderStatus::PAID);
}
