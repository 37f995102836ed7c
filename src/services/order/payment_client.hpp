#pragma once
// The order service's typed client of the payment service, over the protected edge
// order->payment (retry -> circuit breaker -> time limit -> HTTP). Opening a payment is
// retryable because it carries an idempotency key: the payment service opens at most one
// payment per key, however often the request arrives. Canceling is idempotent by nature.
#include <cstdint>
#include <stdexcept>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/resilient_caller.hpp"
#include "services/order/order_state.hpp"

namespace shopctl::order {

// What canceling an order's payment ended in.
struct PaymentCancellation {
  CancelOutcome outcome = CancelOutcome::CANCELED;
  std::string payment_id;      // empty: the order had no payment
  std::string failure_reason;  // the provider's reason, for FAILED
};

// A payment as the payment service opened it.
struct PaymentHandle {
  std::string payment_id;
  std::string pay_url;
  std::string status;  // PENDING
};

// The payment service could not open (or cancel) the payment: no answer in time, a refused
// connection, a 5xx (for example 503 provider_unavailable), an unexpected answer, or an open
// breaker.
class PaymentUnavailable : public std::runtime_error {
 public:
  PaymentUnavailable(std::string what, int retry_after_seconds, bool answered = false,
                     bool may_have_opened = true)
      : std::runtime_error(std::move(what)),
        retry_after_seconds_(retry_after_seconds),
        answered_(answered),
        may_have_opened_(may_have_opened) {}
  int retry_after_seconds() const { return retry_after_seconds_; }
  // True when the payment service answered (with an error, or an answer that could not be
  // used); false when it could not be reached (transport error, open breaker).
  bool answered() const { return answered_; }
  // True when payment may have acted on the request without our hearing of it: an attempt
  // sent but not answered (a time limit that ran out after sending, an answer lost), a 5xx
  // answer (payment may have opened the payment and its intent before it failed), or an
  // answer that could not be used. False when every attempt was answered with a 4xx or
  // reached nothing (refused, an open breaker): payment opened no payment then.
  bool may_have_opened() const { return may_have_opened_; }

 private:
  int retry_after_seconds_;
  bool answered_;
  bool may_have_opened_;
};

class PaymentClient {
 public:
  PaymentClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                platform::Metrics* metrics, std::uint64_t seed);

  // POST /internal/payments {order_id, amount_cents, currency} with `Idempotency-Key`.
  // Returns the opened payment. Throws PaymentUnavailable.
  // `deadline`: when the answer is due (ResilientCaller::call).
  boost::asio::awaitable<PaymentHandle> create_payment(
      const std::string& order_id, std::int64_t amount_cents, const std::string& currency,
      const std::string& idempotency_key, const std::string& trace_id,
      platform::ResilientCaller::Deadline deadline = std::nullopt);

  // POST /internal/payments/cancel {order_id, reason}: makes the order's payment unpayable,
  // or learns that the provider decided it first. Retryable: canceling twice is canceling
  // once. Returns the outcome (CANCELED also when the order had no payment). Throws
  // PaymentUnavailable, also for an answer other than 200 with a known status.
  boost::asio::awaitable<PaymentCancellation> cancel_payment(const std::string& order_id,
                                                             const std::string& reason,
                                                             const std::string& trace_id);

  platform::ResilientCaller& edge() { return edge_; }

 private:
  // The shopper's Retry-After is the edge's: the later of its breaker's wait and payment's own
  // (its provider breaker's wait), ResilientCaller::retry_after_seconds().
  [[noreturn]] void unavailable(const std::string& why, bool answered = false,
                                bool may_have_opened = true);

  platform::ResilientCaller edge_;
};

}  // namespace shopctl::order
