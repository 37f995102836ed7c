#pragma once
// The payment service: opens payments at the outside payment provider for the order service,
// takes the provider's signed webhook events (through the gateway), records each once, and
// tells the order service the result through an outbox it retries until acknowledged.
//
// Routes: POST /internal/payments and POST /internal/payments/cancel (order only), POST
// /payments/webhook (gateway only; the gateway strips /api). Admin: GET /_admin/outbox, the circuit breakers of payment->order
// and payment->provider. Metric: shopctl_payment_outbox_depth.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/background_loop.hpp"
#include "platform/resilient_caller.hpp"
#include "platform/service.hpp"
#include "services/payment/payment_store.hpp"

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
};

class PaymentService : public platform::Service {
 public:
  PaymentService(platform::ServiceContext& ctx, PaymentSettings settings);
  ~PaymentService() override;

  std::filesystem::path database_file() const override { return store_.file(); }

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
  boost::asio::awaitable<http::Response> webhook(http::Request& req);
  // Delivers one outbox row to the order service and records the outcome. Returns true when
  // the row is finished (acknowledged, or refused for good). A row another delivery is
  // already sending is skipped (returns false).
  boost::asio::awaitable<bool> deliver(OutboxEntry entry);
  // One pass of the outbox poller: delivers the callbacks that are due.
  boost::asio::awaitable<void> poll_outbox(const std::atomic<bool>& stopping);

  PaymentSettings settings_;
  PaymentStore store_;
  platform::ResilientCaller order_edge_;
  platform::ResilientCaller provider_edge_;

  std::mutex in_flight_mu_;
  std::set<std::int64_t> in_flight_;  // outbox rows being delivered right now
  platform::BackgroundLoop poller_;  // the callback outbox
};

}  // namespace shopctl::payment
