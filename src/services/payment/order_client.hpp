#pragma once
// The payment service's typed client of the order service, over the protected edge
// payment->order: the payment-result callback. One attempt per call: the outbox's own backoff
// is this edge's retry policy.
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/resilient_caller.hpp"

namespace shopctl::payment {

// The order service's answer to one callback.
struct CallbackAnswer {
  std::optional<int> status;  // none: no answer came back
  std::string error;          // the answer (for a status >= 300) or the transport failure
  // Refused by the breaker of payment->order (nothing was sent): how long until it lets a call
  // through again (ResilientCaller::refusal_wait_left).
  std::optional<std::chrono::milliseconds> breaker_wait;
};

class OrderClient {
 public:
  OrderClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
              platform::Metrics* metrics, std::uint64_t seed);

  // POST /internal/orders/{order_id}/payment-result with `body` (payment_result_body), in the
  // trace `trace_id`. Never throws for an unreachable order service.
  boost::asio::awaitable<CallbackAnswer> send_payment_result(const std::string& order_id,
                                                             std::string body,
                                                             const std::string& trace_id);

  platform::ResilientCaller& edge() { return edge_; }

 private:
  platform::ResilientCaller edge_;
};

}  // namespace shopctl::payment
