#pragma once
// The simulated payment provider's own database (provider.db): payment intents and the
// signed events it sent about them, with their delivery state.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "platform/store/database.hpp"
#include "platform/store/store_database.hpp"
#include "services/provider/provider_model.hpp"

namespace shopctl::provider {

struct Intent {
  std::string intent_id;
  std::string payment_id;
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string status;  // requires_payment, succeeded, failed, canceled
  std::string failure_reason;
  std::string event_id;    // the event sent when it was decided
  std::string event_body;  // that event's JSON as sent; empty while there is none
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// An event as sent: the exact bytes, and its delivery state. Each delivery is signed afresh;
// `signature` is the one computed at settlement, kept for the record.
struct StoredEvent {
  std::string event_id;
  std::string intent_id;
  std::string body;
  std::string signature;  // Payment-Signature header value computed at settlement
  std::int64_t signed_at = 0;
  bool delivered = false;
  int attempts = 0;
  std::int64_t created_at_ms = 0;  // settlement (shop clock): the retry schedule counts from it
  std::optional<std::int64_t> next_attempt_at_ms;  // none: delivered or given up
  std::optional<int> last_status;                  // the gateway's last answer, if any
  // The trace of the request that settled the intent (the shopper's payment): every delivery
  // of the event, retries included, continues it. Empty for events stored before it was kept.
  std::string trace_id;
};

class ProviderStore {
 public:
  // `synchronous`: what a commit promises (see platform::Synchronous).
  explicit ProviderStore(std::filesystem::path file,
                         platform::Synchronous synchronous = platform::Synchronous::normal);
  ~ProviderStore();

  // Opens (first time: creates) the database and migrates it. The events kept undelivered (not
  // given up) are made due at `now_ms`: a start is when they are sent again, whatever wait
  // their failures had reached (the shop may have been back for long).
  void open(std::int64_t now_ms);
  void close();
  const std::filesystem::path& file() const { return db_.file(); }

  // Returns the intent for `payment_id`, creating it when new (`created` says which). Throws
  // DomainError conflict `payment_id_reused` when the payment id has an intent for another amount.
  struct Created {
    Intent intent;
    bool created = false;
  };
  boost::asio::awaitable<Created> create_intent(std::string payment_id, std::int64_t amount_cents,
                                                std::string currency, std::int64_t now_ms);
  boost::asio::awaitable<std::optional<Intent>> find_intent(std::string intent_id);
  boost::asio::awaitable<std::optional<Intent>> find_intent_by_payment(std::string payment_id);

  // Decides a payable intent and stores its event, signed with `secret` at Unix time
  // `signed_at`, due for its first background retry at `first_retry_at_ms`, in one
  // transaction: an event settled just before a crash is still delivered after a restart. The
  // event keeps `trace_id`, the settling request's trace, for its deliveries.
  // Throws DomainError not_found `intent_not_found`, conflict `intent_already_processed`, conflict
  // `intent_canceled`.
  struct Settled {
    Intent intent;
    StoredEvent event;
  };
  boost::asio::awaitable<Settled> settle(std::string intent_id, CardDecision decision,
                                         std::string secret, std::int64_t signed_at,
                                         std::int64_t now_ms, std::int64_t first_retry_at_ms,
                                         std::string trace_id);

  // Cancels an intent in one transaction, decided on its current status, so that a capture
  // (settle) and a cancel of one intent serialize and exactly one of them wins:
  // requires_payment becomes canceled; a canceled intent stays so (idempotent); a succeeded
  // or failed intent is returned unchanged, with its event. Throws DomainError not_found
  // `intent_not_found`.
  struct Cancellation {
    Intent intent;  // after the call: canceled, succeeded or failed (with its event_body)
  };
  boost::asio::awaitable<Cancellation> cancel_intent(std::string intent_id, std::int64_t now_ms);

  boost::asio::awaitable<std::optional<StoredEvent>> find_event(std::string event_id);
  // Records a delivery attempt: delivered, or (when `next_attempt_at_ms` is set) due again
  // then, or given up.
  boost::asio::awaitable<void> record_delivery(std::string event_id, bool delivered,
                                               std::optional<int> status, int attempts,
                                               std::optional<std::int64_t> next_attempt_at_ms);
  // Undelivered events whose background retry is due at `now_ms`.
  boost::asio::awaitable<std::vector<StoredEvent>> due_events(std::int64_t now_ms);
  // The admin view of undelivered events: {retrying, given_up: {count, items: [...]}}, the
  // newest `limit` given-up events listed.
  boost::asio::awaitable<nlohmann::json> webhook_report(std::size_t limit);

 private:
  platform::StoreDatabase db_;
};

}  // namespace shopctl::provider
