#pragma once
// The order's state machine, as pure decisions the order service applies in its store.
//
//   PAYMENT_PENDING --SUCCEEDED--> PAID      (final)
//   PAYMENT_PENDING --FAILED-----> FAILED    (final)
//   PAYMENT_PENDING --CANCELED---> FAILED    (final; the order expired, or its checkout was
//                                             interrupted, and its payment was canceled)
//
// SUCCEEDED and FAILED come from the payment-result callback, or from the answer to a cancel
// that the provider had decided first; CANCELED only from the answer to a cancel.
//
// The payment service may deliver a result more than once (it retries until acknowledged,
// across restarts), so a repeated result that matches the final state is a harmless no-op,
// while a result that contradicts it is a conflict (409, logged): the order keeps its state.
#include <optional>
#include <string_view>

namespace shopctl::order {

enum class OrderStatus { PAYMENT_PENDING, PAID, FAILED };

// "PAYMENT_PENDING", "PAID" or "FAILED", as on the wire and in the database.
std::string_view to_string(OrderStatus status);
// Returns the status spelled exactly as to_string() spells it, or nullopt.
std::optional<OrderStatus> parse_order_status(std::string_view text);
// PAID and FAILED are final: no payment result moves an order out of them.
bool is_final(OrderStatus status);

enum class PaymentOutcome { SUCCEEDED, FAILED };

// "SUCCEEDED" or "FAILED", as in the payment-result callback.
std::string_view to_string(PaymentOutcome outcome);
std::optional<PaymentOutcome> parse_payment_outcome(std::string_view text);

struct TransitionDecision {
  enum Kind { apply, no_op, conflict };
  Kind kind = no_op;
  // The status the order has after the decision: the new one for `apply`, the current one
  // for `no_op` and `conflict`.
  OrderStatus next = OrderStatus::PAYMENT_PENDING;
  // Why, for logs and the 409's error code: "payment_recorded", "repeated_result",
  // "payment_mismatch", "order_already_paid" or "order_already_failed".
  std::string_view reason;
};

// Why the order service cancels an order's payment; the reason of the FAILED history entry.
inline constexpr std::string_view kPaymentExpired = "payment_expired";
inline constexpr std::string_view kCheckoutInterrupted = "checkout_interrupted";
// A checkout that gave up waiting for payment to open its payment (the order FAILED at once).
inline constexpr std::string_view kPaymentUnavailable = "payment_unavailable";

// What the payment service answered when asked to cancel an order's payment: canceled
// (unpayable now), or already decided by the provider.
enum class CancelOutcome { CANCELED, SUCCEEDED, FAILED };

// "CANCELED", "SUCCEEDED" or "FAILED", as in the cancel answer's `status`.
std::string_view to_string(CancelOutcome outcome);
std::optional<CancelOutcome> parse_cancel_outcome(std::string_view text);

// Decides what a payment result does to an order. The rules, in order:
//  1. The result must be about the order's payment. An empty incoming payment id, or one that
//     differs from the order's, is a conflict (`payment_mismatch`). An order still pending
//     without a recorded payment id (the callback raced the checkout that stores it) adopts
//     the incoming id: the payment service, the only allowed caller, owns that mapping.
//  2. PAYMENT_PENDING + SUCCEEDED -> apply, PAID; PAYMENT_PENDING + FAILED -> apply, FAILED.
//  3. PAID + SUCCEEDED and FAILED + FAILED -> no_op: a repeated callback. A FAILED result
//     whose reason differs from the first one is still a no_op; the first reason stands.
//  4. PAID + FAILED (`order_already_paid`) and FAILED + SUCCEEDED (`order_already_failed`)
//     -> conflict: the result contradicts a final state, which does not change.
TransitionDecision decide_payment_result(OrderStatus current, std::string_view current_payment_id,
                                         std::string_view incoming_payment_id,
                                         PaymentOutcome outcome);

// Decides what the answer to a cancel does to an order. `incoming_payment_id` is empty when
// the order had no payment (the payment service then keeps a tombstone for it). The rules:
//  1. SUCCEEDED and FAILED follow decide_payment_result exactly (the provider decided first:
//     the same truth the webhook brings).
//  2. PAYMENT_PENDING + CANCELED -> apply, FAILED (`payment_canceled`), unless the order has
//     a payment id recorded and the incoming one differs (or is empty: "no payment"), which
//     is a conflict (`payment_mismatch`). A pending order without a recorded id adopts the
//     incoming one, as with a payment result.
//  3. FAILED + CANCELED -> no_op (`repeated_result`): a failed order's payment is unpayable,
//     as it should be. PAID + CANCELED -> conflict (`order_already_paid`): the provider
//     serializes capture and cancel, so this only happens when the data is wrong.
TransitionDecision decide_cancel_result(OrderStatus current, std::string_view current_payment_id,
                                        std::string_view incoming_payment_id,
                                        CancelOutcome outcome);

}  // namespace shopctl::order
