#pragma once
// The payment service's typed client of the outside payment provider, over the protected edge
// payment->provider (retry -> circuit breaker -> time limit -> HTTP, with the provider's API
// key as the credential). Every call is retryable: opening an intent is idempotent there by
// payment id, canceling is idempotent by nature, and a look changes nothing. The client never
// throws for an unreachable provider: each answer says what failed, for the caller's log.
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/resilient_caller.hpp"
#include "services/payment/payment_model.hpp"

namespace shopctl::payment {

// An intent as the provider opened it; empty ids when it could not be opened.
struct OpenedIntent {
  std::string intent_id;
  std::string pay_url;
  std::string failure;  // why not, when not opened
  // Not opened, but the provider may have saved it: an attempt sent and not answered, a 5xx
  // answer, or a 2xx without the intent's fields.
  bool may_exist = false;
  // The provider answered the last attempt with a 4xx: it refused this payment, and works.
  bool refused = false;
  bool opened() const { return !intent_id.empty() && !pay_url.empty(); }
};

// What the provider said to a cancel of an intent.
struct IntentCancellation {
  enum class Outcome {
    canceled,     // the intent is canceled (now, or before)
    decided,      // it was paid or declined first: `event` is that decision
    unknown,      // the provider knows no such intent (its own 404 intent_not_found)
    unavailable,  // no usable answer: `failure` says why
  };
  Outcome outcome = Outcome::unavailable;
  std::optional<ProviderEvent> event;
  std::string failure;
  // Unavailable with an answer: the provider was reached and refused this cancel (a 5xx, an
  // answer that could not be used); false when it could not be reached at all.
  bool answered = false;
};

// What a look at an intent found: its decided event, or none yet (`problem` empty), or a
// problem that kept it from being learnt.
struct IntentLook {
  std::optional<ProviderEvent> event;
  std::string problem;
};

class ProviderClient {
 public:
  ProviderClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                 platform::Metrics* metrics, std::uint64_t seed);

  // POST /v1/payment_intents for the payment `payment_id` (also the Idempotency-Key): the
  // intent a first request opened, or the one an earlier request whose answer was lost opened.
  boost::asio::awaitable<OpenedIntent> open_intent(const std::string& payment_id,
                                                   std::int64_t amount_cents,
                                                   const std::string& currency,
                                                   const std::string& trace_id);
  // POST /v1/payment_intents/{intent_id}/cancel. The provider decides capture against cancel
  // in one transaction: 200 canceled, or 409 with the event of the decision that came first.
  boost::asio::awaitable<IntentCancellation> cancel_intent(const std::string& intent_id,
                                                           const std::string& trace_id);
  // GET /v1/payment_intents/{intent_id}: its event once it is decided.
  boost::asio::awaitable<IntentLook> look_up(const std::string& intent_id,
                                             const std::string& trace_id);

  platform::ResilientCaller& edge() { return edge_; }

 private:
  platform::ResilientCaller edge_;
};

}  // namespace shopctl::payment
