#pragma once
// The simulated outside payment provider (it stands for Stripe or Adyen; it is not one of the
// shop's five services). The payment service opens intents here; the user pays on the
// intent's page; the provider then sends a signed event to the shop's public webhook at the
// gateway, as an outside system does: no service credential, only the Payment-Signature.
//
// Routes: POST /v1/payment_intents and POST /v1/payment_intents/{intent_id}/cancel (payment
// only), GET and POST /pay/{intent_id} (anyone),
// POST /v1/events/{event_id}/resend (anyone; re-sends the stored event with its original
// signature, as a replaying attacker or a confused operator would).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/background_loop.hpp"
#include "platform/http/client.hpp"
#include "platform/service.hpp"
#include "services/provider/provider_store.hpp"

namespace shopctl::provider {

struct ProviderSettings {
  std::uint16_t port = 0;
  std::string webhook_secret;
  std::chrono::milliseconds webhook_timeout{2000};  // one webhook delivery attempt
};

class ProviderService : public platform::Service {
 public:
  ProviderService(platform::ServiceContext& ctx, ProviderSettings settings);
  ~ProviderService() override;

  std::filesystem::path database_file() const override { return store_.file(); }

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
    bool delivered() const { return status && *status >= 200 && *status < 300; }
    // Whether trying again may help: no answer, a 5xx, 408 or 429.
    bool retryable() const { return !status || *status >= 500 || *status == 408 || *status == 429; }
  };

  void add_routes();
  boost::asio::awaitable<http::Response> create_intent(http::Request& req);
  boost::asio::awaitable<http::Response> pay(http::Request& req);
  // POST /v1/payment_intents/{intent_id}/cancel: 200 the canceled intent (also when it was
  // canceled before); 409 `intent_already_processed` with `details.intent` (and its event)
  // when the intent was paid or declined first; 404 `intent_not_found`.
  boost::asio::awaitable<http::Response> cancel_intent(http::Request& req);
  boost::asio::awaitable<http::Response> resend(http::Request& req);
  // POSTs an event to the gateway's webhook and records the call (provider->gateway).
  boost::asio::awaitable<Delivery> send_event(const std::string& body,
                                              const std::string& signature);
  // One pass of the webhook retries: sends the events that are due again.
  boost::asio::awaitable<void> retry_undelivered(const std::atomic<bool>& stopping);
  std::string pay_url(const std::string& intent_id) const;
  // The intent as every route answers it; `event` is the JSON of the event sent about it.
  nlohmann::json intent_json(const Intent& intent,
                             const std::optional<StoredEvent>& event = std::nullopt) const;

  ProviderSettings settings_;
  ProviderStore store_;
  http::Client webhook_client_;
  platform::BackgroundLoop poller_;  // webhook retries
};

}  // namespace shopctl::provider
