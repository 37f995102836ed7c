#pragma once
// The simulated outside payment provider (it stands for Stripe or Adyen; it is not one of the
// shop's five services). The payment service opens intents here; the user pays on the
// intent's page; the provider then sends a signed event to the shop's public webhook at the
// gateway, as an outside system does: no service credential, only the Payment-Signature.
//
// Routes: GET and POST /pay/{intent_id} (anyone: the shopper's page). Every /v1/* route is the
// shop's API and needs `Authorization: Bearer <api key>` (401 invalid_api_key otherwise; the
// shop's internal X-Service-Token means nothing here): POST /v1/payment_intents,
// GET /v1/payment_intents/{intent_id}, GET /v1/payment_intents?payment_id=P,
// POST /v1/payment_intents/{intent_id}/cancel (unpayable from then on; 409 once decided),
// POST /v1/events/{event_id}/resend (sends the stored event again, signed afresh).
// Admin: GET /_admin/webhooks (events still retried, and those given up).
//
// Webhooks: every delivery (inline when the user pays, each background retry, a resend) is
// signed afresh with the shop clock's time. An event is stored with its first retry time when
// the intent is settled, in one transaction, and retried with exponential backoff on the shop
// clock until it is taken or give_up_after has passed since settlement (then logged as given
// up and listed by /_admin/webhooks).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>

#include "platform/background_loop.hpp"
#include "platform/service.hpp"
#include "services/provider/provider_store.hpp"

namespace shopctl::provider {

struct ProviderSettings {
  std::uint16_t port = 0;
  std::string webhook_secret;
  std::chrono::milliseconds webhook_timeout{2000};  // one webhook delivery attempt
  std::string api_key;  // the shop's key for /v1/*; empty: every /v1/* call is refused
  WebhookRetryPolicy webhook_retry;
  // The provider's address as shoppers' browsers reach it (its pay links); empty: where it
  // listens.
  std::string public_url;
};

class ProviderService : public platform::Service {
 public:
  ProviderService(platform::ServiceContext& ctx, ProviderSettings settings);
  ~ProviderService() override;

  std::filesystem::path database_file() const override { return store_.file(); }

  // Changes the webhook retry schedule at run time (thread-safe): each delivery that fails
  // from then on is scheduled, or given up, by the new policy; retries already scheduled keep
  // their time.
  void set_webhook_retry(const WebhookRetryPolicy& policy);

 protected:
  void open_storage() override;
  void close_storage() override;
  void start_background() override;
  void stop_background() override;

 private:
  // One webhook delivery attempt: the gateway's status (none when no answer came back).
  struct Delivery {
    std::optional<int> status;
    std::string error;
    bool skipped = false;        // another delivery of the event was under way: nothing sent
    std::int64_t signed_at = 0;  // the signature's timestamp (Unix seconds, shop clock)
    bool delivered() const { return status && *status >= 200 && *status < 300; }
  };

  void add_routes();
  boost::asio::awaitable<http::Response> create_intent(http::Request& req);
  boost::asio::awaitable<http::Response> pay(http::Request& req);
  // POST /v1/payment_intents/{intent_id}/cancel: 200 the canceled intent (also when it was
  // canceled before); 409 `intent_already_processed` with `details.intent` (and its event)
  // when the intent was paid or declined first; 404 `intent_not_found`.
  boost::asio::awaitable<http::Response> cancel_intent(http::Request& req);
  boost::asio::awaitable<http::Response> resend(http::Request& req);
  boost::asio::awaitable<http::Response> get_intent(http::Request& req);
  boost::asio::awaitable<http::Response> find_intent_by_payment(http::Request& req);
  // Whether the request carries the shop's API key (constant-time comparison).
  bool carries_api_key(const http::Request& req) const;
  // Throws ApiError 401 `invalid_api_key` unless the request carries the shop's API key.
  void require_api_key(const http::Request& req) const;
  // Signs the event afresh (shop clock), POSTs it to the gateway's webhook in the trace
  // `trace_id` (empty: a new one) through the edge provider->gateway, which records the call. Skips
  // it (nothing sent) while another delivery of the same event is under way, so the inline delivery
  // and the poller never race.
  boost::asio::awaitable<Delivery> send_event(const StoredEvent& event,
                                              const std::string& trace_id);
  // Sends the event in its own trace (that of the payment that settled it) and stores the
  // outcome: delivered, or the next retry time, or given up (logged). `failed_before` is the
  // number of attempts already made.
  boost::asio::awaitable<Delivery> deliver_and_record(const StoredEvent& event, int failed_before,
                                                      std::string_view how);
  // One pass of the webhook retries: sends the events that are due again.
  boost::asio::awaitable<void> retry_undelivered(const std::atomic<bool>& stopping);
  std::string pay_url(const std::string& intent_id) const;
  // The intent as every route answers it; `event` is the JSON of the event sent about it.
  nlohmann::json intent_json(const Intent& intent) const;

  WebhookRetryPolicy webhook_retry() const;  // a copy, taken under retry_mu_
  // When storage was last opened (a start), in steady clock ticks.
  std::atomic<std::int64_t> started_ns_{0};

  ProviderSettings settings_;  // webhook_retry changes at run time: guarded by retry_mu_
  mutable std::mutex retry_mu_;
  // Events whose delivery could not be recorded (a full disk): their stored retry time is the
  // old, due one, so the poller sent them every 100 ms (a warn line each) until the disk had
  // room. Held back here, in memory, until the time the record would have said; bounded.
  std::unordered_map<std::string, std::int64_t> held_back_;  // event id -> not before (ms)
  std::mutex held_back_mu_;
  ProviderStore store_;
  platform::ServiceCaller webhooks_;  // provider->gateway: the webhook deliveries
  std::mutex sending_mu_;
  std::set<std::string> sending_;    // event ids being delivered right now
  platform::BackgroundLoop poller_;  // webhook retries
};

}  // namespace shopctl::provider
