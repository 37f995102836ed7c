#pragma once
// The payment service: opens payments at the outside payment provider for the order service,
// takes the provider's signed webhook events (through the gateway), records each once, and
// tells the order service the result through an outbox it retries until acknowledged.
//
// Routes: POST /internal/payments and POST /internal/payments/cancel (order only), POST
// /payments/webhook (gateway only; the gateway strips /api). Admin: GET /_admin/outbox, the circuit
// breakers of payment->order and payment->provider. Metric: shopctl_payment_outbox_depth.
//
// Reconciliation: a webhook may be lost for good (the provider gives up, or never reaches the
// shop). A background pass asks the provider (GET /v1/payment_intents/{intent_id}) about each
// PENDING payment with an intent once reconcile_after has passed since the last look (shop
// clock; later looks double the wait, up to an hour), and records a decided intent's event
// through the same once-per-event path as the webhook, so the callback follows from the
// outbox exactly as after a webhook.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "platform/background_loop.hpp"
#include "platform/resilient_caller.hpp"
#include "platform/service.hpp"
#include "services/payment/order_client.hpp"
#include "services/payment/payment_store.hpp"
#include "services/payment/provider_client.hpp"

namespace shopctl::payment {

struct PaymentSettings {
  std::uint16_t port = 0;
  platform::EdgeSettings order;     // payment->order (the callback)
  platform::EdgeSettings provider;  // payment->provider (opening intents)
  std::string webhook_secret;
  std::chrono::seconds webhook_tolerance{300};
  std::chrono::milliseconds outbox_initial_backoff{200};
  std::chrono::milliseconds outbox_max_backoff{30000};
  std::uint64_t seed = 0;
  std::chrono::milliseconds reconcile_after{60'000};  // before the first look at an intent
};

class PaymentService : public platform::Service {
 public:
  PaymentService(platform::ServiceContext& ctx, PaymentSettings settings);
  ~PaymentService() override;

  std::filesystem::path database_file() const override { return store_.file(); }

  // The protected edges (payment->order, payment->provider), for the shop's runtime config.
  std::vector<platform::ResilientCaller*> edges() override {
    return {&order_.edge(), &provider_.edge()};
  }
  // Changes the outbox's retry backoff at run time; rows already scheduled keep their time.
  void set_outbox_backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  // Changes how old a signed webhook may be, from the next webhook on.
  void set_webhook_tolerance(std::chrono::seconds tolerance);
  // Changes reconcile_after at run time: intents opened from then on get their first look
  // after it, and later looks double it; looks already scheduled keep their time.
  void set_reconcile_after(std::chrono::milliseconds after);

 protected:
  void open_storage() override;
  void close_storage() override;
  void start_background() override;
  void stop_background() override;

 private:
  void add_routes();
  boost::asio::awaitable<http::Response> create_payment(http::Request& req);
  // POST /internal/payments/cancel {order_id, reason}: makes the order's payment unpayable.
  // 200 {order_id, payment_id|null, status: CANCELED | SUCCEEDED | FAILED, reason}; 503
  // provider_unavailable (Retry-After) when the provider cannot be reached.
  boost::asio::awaitable<http::Response> cancel_payment(http::Request& req);
  // Opens the payment's intent at the provider (idempotent there by payment id) and records
  // it. Returns the payment with its intent. Throws ApiError 503 `provider_unavailable`.
  boost::asio::awaitable<Payment> open_intent(Payment payment, const std::string& trace_id);
  // Ends a PENDING payment at the provider: opens its intent first when it has none (the
  // provider finds one a lost answer left), then cancels it. Returns the payment as it ended:
  // CANCELED with `reason`, or SUCCEEDED / FAILED when the provider had decided first. Throws
  // ApiError 424 `provider_refused` or 503 `provider_unavailable` (ask again later).
  boost::asio::awaitable<Payment> end_at_provider(Payment payment, std::string reason,
                                                  std::string trace_id);
  boost::asio::awaitable<http::Response> webhook(http::Request& req);
  // Delivers one outbox row to the order service and records the outcome. Returns true when
  // the row is finished (acknowledged, or refused for good). A row another delivery is
  // already sending is skipped (returns false).
  boost::asio::awaitable<std::optional<CallbackVerdict>> deliver(OutboxEntry entry);
  // Logs an event that contradicts its payment's recorded result (RecordedEvent::contradicts).
  void warn_if_contradicts(const RecordedEvent& recorded, const ProviderEvent& event,
                           const std::string& trace_id);
  // One pass of the outbox poller: delivers the callbacks that are due.
  boost::asio::awaitable<void> poll_outbox(const std::atomic<bool>& stopping);
  // One pass of reconciliation: looks up the intents of the PENDING payments that are due.
  boost::asio::awaitable<void> reconcile(const std::atomic<bool>& stopping);
  // Asks the provider about one payment's intent; records its event when it is decided,
  // else sets the next look.
  boost::asio::awaitable<void> reconcile_one(ReconcileItem item);

  PaymentSettings settings_;
  PaymentStore store_;
  OrderClient order_;        // payment->order: the payment-result callback
  ProviderClient provider_;  // payment->provider: intents

  // The settings that change at run time (the set_* above), first from settings_.
  struct Runtime {
    std::chrono::milliseconds outbox_initial_backoff;
    std::chrono::milliseconds outbox_max_backoff;
    std::chrono::seconds webhook_tolerance;
    std::chrono::milliseconds reconcile_after;
  };
  Runtime runtime() const;  // a copy, taken under runtime_mu_
  // When the outbox row of a callback that is tried at once falls due for the poller.
  std::int64_t inline_callback_due_at() const;
  mutable std::mutex runtime_mu_;
  Runtime runtime_;  // guarded by runtime_mu_
  std::mutex in_flight_mu_;
  std::set<std::int64_t> in_flight_;  // outbox rows being delivered right now
  // Rows finished lately (the newest kFinishedKept ids): a poll that read a row just before
  // the webhook's inline delivery finished it must not send it a second time.
  std::set<std::int64_t> finished_;
  // When this process's run of the service began (steady clock, ns): the outbox's waits are
  // no longer than the time since (outbox_retry_wait).
  std::atomic<std::int64_t> started_ns_{0};
  // Webhooks whose signature does not verify: anyone can send them, so at most 20 a second
  // are logged (a flood of forged events wrote a warn line each).
  platform::LineBudget unverified_webhook_lines_{20};
  platform::BackgroundLoop poller_;      // the callback outbox
  platform::BackgroundLoop reconciler_;  // looks at the provider for lost webhooks
};

}  // namespace shopctl::payment
