#include "services/order/order_state.hpp"

namespace shopctl::order {

std::string_view to_string(OrderStatus status) {
  switch (status) {
    case OrderStatus::PAYMENT_PENDING:
      return "PAYMENT_PENDING";
    case OrderStatus::PAID:
      return "PAID";
    case OrderStatus::FAILED:
      return "FAILED";
  }
  return "UNKNOWN";
}

std::optional<OrderStatus> parse_order_status(std::string_view text) {
  for (OrderStatus status :
       {OrderStatus::PAYMENT_PENDING, OrderStatus::PAID, OrderStatus::FAILED}) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

bool is_final(OrderStatus status) {
  return status != OrderStatus::PAYMENT_PENDING;
}

std::string_view to_string(PaymentOutcome outcome) {
  switch (outcome) {
    case PaymentOutcome::SUCCEEDED:
      return "SUCCEEDED";
    case PaymentOutcome::FAILED:
      return "FAILED";
  }
  return "UNKNOWN";
}

std::optional<PaymentOutcome> parse_payment_outcome(std::string_view text) {
  for (PaymentOutcome outcome : {PaymentOutcome::SUCCEEDED, PaymentOutcome::FAILED}) {
    if (to_string(outcome) == text) return outcome;
  }
  return std::nullopt;
}

TransitionDecision decide_payment_result(OrderStatus current, std::string_view current_payment_id,
                                         std::string_view incoming_payment_id,
                                         PaymentOutcome outcome) {
  const bool adopts_payment = current == OrderStatus::PAYMENT_PENDING && current_payment_id.empty();
  if (incoming_payment_id.empty() ||
      (!adopts_payment && incoming_payment_id != current_payment_id)) {
    return {TransitionDecision::conflict, current, "payment_mismatch"};
  }
  const OrderStatus target =
      outcome == PaymentOutcome::SUCCEEDED ? OrderStatus::PAID : OrderStatus::FAILED;
  if (current == OrderStatus::PAYMENT_PENDING) {
    return {TransitionDecision::apply, target, "payment_recorded"};
  }
  if (current == target) return {TransitionDecision::no_op, current, "repeated_result"};
  return {TransitionDecision::conflict, current,
          current == OrderStatus::PAID ? "order_already_paid" : "order_already_failed"};
}

std::string_view to_string(CancelOutcome outcome) {
  switch (outcome) {
    case CancelOutcome::CANCELED:
      return "CANCELED";
    case CancelOutcome::SUCCEEDED:
      return "SUCCEEDED";
    case CancelOutcome::FAILED:
      return "FAILED";
  }
  return "UNKNOWN";
}

std::optional<CancelOutcome> parse_cancel_outcome(std::string_view text) {
  for (CancelOutcome outcome :
       {CancelOutcome::CANCELED, CancelOutcome::SUCCEEDED, CancelOutcome::FAILED}) {
    if (to_string(outcome) == text) return outcome;
  }
  return std::nullopt;
}

TransitionDecision decide_cancel_result(OrderStatus current, std::string_view current_payment_id,
                                        std::string_view incoming_payment_id,
                                        CancelOutcome outcome) {
  if (outcome == CancelOutcome::SUCCEEDED) {
    return decide_payment_result(current, current_payment_id, incoming_payment_id,
                                 PaymentOutcome::SUCCEEDED);
  }
  if (outcome == CancelOutcome::FAILED) {
    return decide_payment_result(current, current_payment_id, incoming_payment_id,
                                 PaymentOutcome::FAILED);
  }
  switch (current) {
    case OrderStatus::PAYMENT_PENDING:
      if (!current_payment_id.empty() && incoming_payment_id != current_payment_id) {
        return {TransitionDecision::conflict, current, "payment_mismatch"};
      }
      return {TransitionDecision::apply, OrderStatus::FAILED, "payment_canceled"};
    case OrderStatus::FAILED:
      return {TransitionDecision::no_op, current, "repeated_result"};
    case OrderStatus::PAID:
      break;
  }
  return {TransitionDecision::conflict, current, "order_already_paid"};
}

}  // namespace shopctl::order
