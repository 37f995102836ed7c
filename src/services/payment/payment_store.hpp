#pragma once
// The payment service's own database (payment.db): payments, the provider's events recorded
// once each (the transactions), and the outbox of callbacks to the order service. An event
// and its outbox row are written in one transaction, so a recorded event is never left
// without its callback, across crashes and restarts.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "platform/store/database.hpp"
#include "platform/store/store_database.hpp"
#include "services/payment/payment_model.hpp"

namespace shopctl::payment {

struct Payment {
  std::string payment_id;
  std::string order_id;
  std::string idempotency_key;
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string status;     // PENDING, SUCCEEDED, FAILED, CANCELED
  std::string intent_id;  // empty until the provider opened the intent
  std::string pay_url;
  std::string failure_reason;  // the provider's, or why it was canceled
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// One callback to the order service, kept until the order service answers it.
struct OutboxEntry {
  std::int64_t id = 0;
  std::string order_id;
  std::string payment_id;
  std::string event_id;
  std::string body;  // the callback's JSON
  std::string trace_id;
  int attempts = 0;  // failed deliveries so far
  std::int64_t next_attempt_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::string last_error;

  nlohmann::json to_json() const;
};

// A PENDING payment due for a look at its intent (reconciliation).
struct ReconcileItem {
  std::string payment_id;
  std::string intent_id;
  int checks = 0;        // looks so far that found nothing decided
  std::string trace_id;  // of the request that opened the payment; empty: unknown (older row)
};

// What recording a provider event did.
struct RecordedEvent {
  bool duplicate = false;  // the event_id was recorded before: nothing changed
  Payment payment;
  std::optional<OutboxEntry> callback;  // the new outbox row, unless a duplicate
  // The event's result differs from the one its payment's first event decided: recorded, and
  // its callback carries the payment's result (payment_model.hpp, as_decided).
  bool contradicts = false;
};

class PaymentStore {
 public:
  // `synchronous`: what a commit promises (see platform::Synchronous).
  explicit PaymentStore(std::filesystem::path file,
                        platform::Synchronous synchronous = platform::Synchronous::normal);
  ~PaymentStore();

  // Opens (first time: creates) the database and migrates it. The callbacks kept unfinished
  // are made due at `now_ms`: a start is when they are tried again, whatever wait their
  // failures had reached (the order service may have been back for long). So is the next look
  // at the provider of each PENDING payment already looked at.
  void open(std::int64_t now_ms);
  void close();
  const std::filesystem::path& file() const { return db_.file(); }

  // Returns the payment opened under `key`, creating it (PENDING, no intent yet) when the key
  // is new. Throws DomainError conflict `idempotency_key_reused` when the key was used for another
  // order, amount or currency, conflict `payment_exists` when the order already has a payment
  // under another key, conflict `payment_canceled` when the order's payment was canceled (or the
  // order was canceled before it had one). A new payment keeps `trace_id`, the trace of the
  // request that opened it, for the background work about it (reconciliation).
  boost::asio::awaitable<Payment> create_or_get(std::string key, std::string order_id,
                                                std::int64_t amount_cents, std::string currency,
                                                std::int64_t now_ms, std::string trace_id);
  // Records the provider's intent for a payment (once: a first intent stays), due for its
  // first reconciliation look at `first_check_at_ms`. Returns it.
  boost::asio::awaitable<Payment> attach_intent(std::string payment_id, std::string intent_id,
                                                std::string pay_url, std::int64_t now_ms,
                                                std::int64_t first_check_at_ms);

  // After an intent could not be opened: whether the provider may hold one for the payment
  // all the same. `this_attempt`: this create's answer went unheard, was a 5xx or could not
  // be used; it is kept on the payment, so that a later attempt refused outright (an open
  // breaker) still says so.
  boost::asio::awaitable<bool> intent_in_doubt(std::string payment_id, bool this_attempt);

  // The first step of canceling an order's payment, in one transaction: returns the order's
  // payment, or, when it has none, records a CANCELED tombstone for the order (so that no
  // payment can be opened for it later) and returns nullopt.
  boost::asio::awaitable<std::optional<Payment>> begin_cancel(std::string order_id,
                                                              std::string reason,
                                                              std::int64_t now_ms);
  // The PENDING payments without an intent that no request touched since
  // `untouched_since_ms` (a create at work on one touches it), at most `limit`, each touched
  // at `now_ms` in the same transaction so that the next look at it waits as long again.
  boost::asio::awaitable<std::vector<Payment>> take_unopened(std::int64_t now_ms,
                                                             std::int64_t untouched_since_ms,
                                                             std::size_t limit);
  // Moves a PENDING payment to CANCELED (its intent is canceled at the provider), with
  // `reason`; a payment already decided keeps its status. Returns the payment. Throws
  // DomainError not_found `payment_not_found`.
  boost::asio::awaitable<Payment> mark_canceled(std::string payment_id, std::string reason,
                                                std::int64_t now_ms);

  // Records a provider event once per event_id; in the same transaction moves a PENDING
  // payment to the event's result and writes the outbox row of the callback to the order
  // service, due for the poller at `due_at_ms` (later than now when the caller tries it at
  // once itself). Throws DomainError not_found `payment_not_found`, invalid `amount_mismatch`.
  boost::asio::awaitable<RecordedEvent> record_event(ProviderEvent event, std::string trace_id,
                                                     std::int64_t now_ms, std::int64_t due_at_ms);

  // PENDING payments with an intent whose next reconciliation look is due at `now_ms`.
  boost::asio::awaitable<std::vector<ReconcileItem>> due_reconciliations(std::int64_t now_ms,
                                                                         std::size_t limit);
  // Counts a look that found nothing to record and sets the next one.
  boost::asio::awaitable<void> postpone_reconciliation(std::string payment_id, int checks,
                                                       std::int64_t next_check_at_ms);

  // Outbox rows not yet finished whose next attempt is due at `now_ms`, oldest first.
  boost::asio::awaitable<std::vector<OutboxEntry>> due_callbacks(std::int64_t now_ms,
                                                                 std::size_t limit);
  // Marks a row finished with the order service's verdict and answer status.
  boost::asio::awaitable<void> finish_callback(std::int64_t id, CallbackVerdict verdict, int status,
                                               std::int64_t now_ms);
  // Counts a failed delivery and sets the next attempt.
  boost::asio::awaitable<void> postpone_callback(std::int64_t id, int attempts,
                                                 std::int64_t next_attempt_at_ms,
                                                 std::string error);
  // The admin view: {depth, finished: {acknowledged, conflict, rejected}, items: [pending]}.
  boost::asio::awaitable<nlohmann::json> outbox_report(std::size_t limit);

  // Unfinished outbox rows, as last counted (read by /metrics without touching the database).
  std::int64_t outbox_depth() const { return depth_.load(std::memory_order_relaxed); }

 private:
  // Runs `write` and reads the payment `payment_id` back, in one transaction. Throws
  // DomainError not_found `payment_not_found`.
  boost::asio::awaitable<Payment> update_payment(
      const std::string& payment_id, const std::function<void(platform::Database&)>& write);

  // The rows `sql` selects with its two parameters (now_ms, limit), each read by `read`.
  template <class Row>
  boost::asio::awaitable<std::vector<Row>> select_due(
      std::string_view sql, std::int64_t now_ms, std::size_t limit,
      const std::function<Row(const platform::Statement&)>& read);

  platform::StoreDatabase db_;
  std::atomic<std::int64_t> depth_{0};
};

}  // namespace shopctl::payment
