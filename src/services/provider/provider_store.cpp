#include "services/provider/provider_store.hpp"

#include <stdexcept>
#include <utility>

#include "platform/domain_error.hpp"
#include "platform/security/random.hpp"
#include "platform/security/webhook_signature.hpp"

namespace shopctl::provider {

namespace asio = boost::asio;
using platform::Database;
using platform::DomainError;
using platform::Durability;
using platform::ErrorKind;

namespace {

const std::vector<std::string_view> kMigrations = {
    R"sql(
CREATE TABLE intents (
  intent_id      TEXT    PRIMARY KEY,
  payment_id     TEXT    NOT NULL UNIQUE,
  amount_cents   INTEGER NOT NULL,
  currency       TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('requires_payment', 'succeeded', 'failed')),
  failure_reason TEXT,
  event_id       TEXT,
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
  event_id           TEXT    PRIMARY KEY,
  intent_id          TEXT    NOT NULL REFERENCES intents (intent_id),
  body               TEXT    NOT NULL,
  signature          TEXT    NOT NULL,
  signed_at          INTEGER NOT NULL,
  delivered          INTEGER NOT NULL DEFAULT 0,
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms INTEGER,
  last_status        INTEGER,
  created_at_ms      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_due ON events (delivered, next_attempt_at_ms);
)sql",
    // Intents may be canceled (the shop gave up waiting for the payment). SQLite cannot
    // change a CHECK constraint in place: the table is rebuilt. Deferred foreign keys let the
    // events that point at the intents survive the moment the table is gone; re-inserting the
    // rows resolves them before the commit.
    R"sql(
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE intents_before_cancel AS SELECT * FROM intents;
DROP TABLE intents;
CREATE TABLE intents (
  intent_id      TEXT    PRIMARY KEY,
  payment_id     TEXT    NOT NULL UNIQUE,
  amount_cents   INTEGER NOT NULL,
  currency       TEXT    NOT NULL,
  status         TEXT    NOT NULL
                         CHECK (status IN ('requires_payment', 'succeeded', 'failed', 'canceled')),
  failure_reason TEXT,
  event_id       TEXT,
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO intents (intent_id, payment_id, amount_cents, currency, status, failure_reason,
                     event_id, created_at_ms, updated_at_ms)
  SELECT intent_id, payment_id, amount_cents, currency, status, failure_reason, event_id,
         created_at_ms, updated_at_ms FROM intents_before_cancel;
DROP TABLE intents_before_cancel;
)sql",
    // The trace of the payment that settled the intent: every delivery of its event, the
    // background retries included, continues it. NULL (events from before): a new trace each.
    R"sql(
ALTER TABLE events ADD COLUMN trace_id TEXT;
)sql",
};

enum class IntentKey { intent_id, payment_id };

std::optional<Intent> load_intent(Database& db, IntentKey key, const std::string& value) {
  auto st = db.prepare(key == IntentKey::intent_id
                           ? "SELECT intent_id, payment_id, amount_cents, currency, status, "
                             "failure_reason, event_id, created_at_ms, updated_at_ms, "
                             "(SELECT body FROM events e WHERE e.event_id = intents.event_id) "
                             "FROM intents WHERE intent_id = ?"
                           : "SELECT intent_id, payment_id, amount_cents, currency, status, "
                             "failure_reason, event_id, created_at_ms, updated_at_ms, "
                             "(SELECT body FROM events e WHERE e.event_id = intents.event_id) "
                             "FROM intents WHERE payment_id = ?");
  st.bind_all(value);
  if (!st.step()) return std::nullopt;
  Intent intent;
  intent.intent_id = st.column_text(0);
  intent.payment_id = st.column_text(1);
  intent.amount_cents = st.column_int(2);
  intent.currency = st.column_text(3);
  intent.status = st.column_text(4);
  intent.failure_reason = st.column_text(5);
  intent.event_id = st.column_text(6);
  intent.created_at_ms = st.column_int(7);
  intent.updated_at_ms = st.column_int(8);
  intent.event_body = st.column_text(9);
  return intent;
}

// Event queries select these columns, in read_event()'s order: event_id, intent_id, body,
// signature, signed_at, delivered, attempts, created_at_ms, next_attempt_at_ms, last_status,
// trace_id.
constexpr std::string_view kEventColumns =
    "SELECT event_id, intent_id, body, signature, signed_at, delivered, attempts, "
    "created_at_ms, next_attempt_at_ms, last_status, COALESCE(trace_id, '') FROM events ";

StoredEvent read_event(const platform::Statement& st) {
  StoredEvent event;
  event.event_id = st.column_text(0);
  event.intent_id = st.column_text(1);
  event.body = st.column_text(2);
  event.signature = st.column_text(3);
  event.signed_at = st.column_int(4);
  event.delivered = st.column_int(5) != 0;
  event.attempts = static_cast<int>(st.column_int(6));
  event.created_at_ms = st.column_int(7);
  if (!st.column_is_null(8)) event.next_attempt_at_ms = st.column_int(8);
  if (!st.column_is_null(9)) event.last_status = static_cast<int>(st.column_int(9));
  event.trace_id = st.column_text(10);
  return event;
}

}  // namespace

ProviderStore::ProviderStore(std::filesystem::path file, platform::Synchronous synchronous)
    : db_(std::move(file), synchronous) {}

ProviderStore::~ProviderStore() = default;

void ProviderStore::open(std::int64_t now_ms) {
  db_.open().run_sync([now_ms](Database& db) {
    db.migrate(kMigrations);
    db.prepare(
          "UPDATE events SET next_attempt_at_ms = ? "
          "WHERE delivered = 0 AND next_attempt_at_ms > ?")
        .bind_all(now_ms, now_ms)
        .run();
  });
}

void ProviderStore::close() {
  db_.close();
}

asio::awaitable<ProviderStore::Created> ProviderStore::create_intent(std::string payment_id,
                                                                     std::int64_t amount_cents,
                                                                     std::string currency,
                                                                     std::int64_t now_ms) {
  Created result;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      if (auto existing = load_intent(db, IntentKey::payment_id, payment_id)) {
        if (existing->amount_cents != amount_cents || existing->currency != currency) {
          throw DomainError(ErrorKind::conflict, "payment_id_reused",
                            "an intent for this payment_id exists with another amount",
                            {{"payment_id", payment_id}, {"intent_id", existing->intent_id}});
        }
        result.intent = std::move(*existing);
        return;
      }
      Intent intent;
      intent.intent_id = platform::security::new_id("pi_");
      intent.payment_id = payment_id;
      intent.amount_cents = amount_cents;
      intent.currency = currency;
      intent.status = "requires_payment";
      intent.created_at_ms = now_ms;
      intent.updated_at_ms = now_ms;
      db.prepare(
            "INSERT INTO intents (intent_id, payment_id, amount_cents, currency, status, "
            "created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind_all(intent.intent_id, intent.payment_id, intent.amount_cents, intent.currency,
                    intent.status, now_ms, now_ms)
          .run();
      result.intent = std::move(intent);
      result.created = true;
    });
  });
  co_return result;
}

asio::awaitable<std::optional<Intent>> ProviderStore::find_intent(std::string intent_id) {
  std::optional<Intent> intent;
  co_await db_.worker().run(
      [&](Database& db) { intent = load_intent(db, IntentKey::intent_id, intent_id); });
  co_return intent;
}

asio::awaitable<std::optional<Intent>> ProviderStore::find_intent_by_payment(
    std::string payment_id) {
  std::optional<Intent> intent;
  co_await db_.worker().run(
      [&](Database& db) { intent = load_intent(db, IntentKey::payment_id, payment_id); });
  co_return intent;
}

asio::awaitable<ProviderStore::Settled> ProviderStore::settle(
    std::string intent_id, CardDecision decision, std::string secret, std::int64_t signed_at,
    std::int64_t now_ms, std::int64_t first_retry_at_ms, std::string trace_id) {
  Settled settled;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      auto intent = load_intent(db, IntentKey::intent_id, intent_id);
      if (!intent) {
        throw DomainError(ErrorKind::not_found, "intent_not_found",
                          "no payment intent " + intent_id, {{"intent_id", intent_id}});
      }
      if (intent->status == "canceled") {
        throw DomainError(ErrorKind::conflict, "intent_canceled",
                          "this payment intent was canceled; it can no longer be paid",
                          {{"intent_id", intent_id}, {"status", intent->status}});
      }
      if (intent->status != "requires_payment") {
        throw DomainError(ErrorKind::conflict, "intent_already_processed",
                          "this payment intent was already paid or declined",
                          {{"intent_id", intent_id}, {"status", intent->status}});
      }
      StoredEvent event;
      event.event_id = platform::security::new_id("evt_");
      event.intent_id = intent_id;
      event.body = event_body(event.event_id, decision, intent->payment_id, intent->amount_cents,
                              intent->currency)
                       .dump();
      event.signed_at = signed_at;
      event.signature = platform::security::sign_webhook(secret, signed_at, event.body);

      intent->status = decision.succeeded ? "succeeded" : "failed";
      intent->failure_reason = decision.failure_reason;
      intent->event_id = event.event_id;
      intent->updated_at_ms = now_ms;
      auto update = db.prepare(
          "UPDATE intents SET status = ?, failure_reason = ?, event_id = ?, updated_at_ms = ? "
          "WHERE intent_id = ?");
      update.bind(1, intent->status);
      if (decision.failure_reason.empty()) {
        update.bind_null(2);
      } else {
        update.bind(2, decision.failure_reason);
      }
      update.bind(3, event.event_id).bind(4, now_ms).bind(5, intent_id).run();
      event.created_at_ms = now_ms;
      event.next_attempt_at_ms = first_retry_at_ms;
      event.trace_id = trace_id;
      intent->event_body = event.body;
      db.prepare(
            "INSERT INTO events (event_id, intent_id, body, signature, signed_at, created_at_ms, "
            "next_attempt_at_ms, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
          .bind_all(event.event_id, event.intent_id, event.body, event.signature, event.signed_at,
                    now_ms, first_retry_at_ms, trace_id)
          .run();
      settled.intent = std::move(*intent);
      settled.event = std::move(event);
    });
  });
  co_return settled;
}

asio::awaitable<ProviderStore::Cancellation> ProviderStore::cancel_intent(std::string intent_id,
                                                                          std::int64_t now_ms) {
  Cancellation result;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      auto intent = load_intent(db, IntentKey::intent_id, intent_id);
      if (!intent) {
        throw DomainError(ErrorKind::not_found, "intent_not_found",
                          "no payment intent " + intent_id.substr(0, 100),
                          {{"intent_id", intent_id.substr(0, 100)}});
      }
      if (intent->status == "requires_payment") {
        db.prepare("UPDATE intents SET status = 'canceled', updated_at_ms = ? WHERE intent_id = ?")
            .bind_all(now_ms, intent_id)
            .run();
        intent->status = "canceled";
        intent->updated_at_ms = now_ms;
      }
      result.intent = std::move(*intent);
    });
  });
  co_return result;
}

asio::awaitable<std::optional<StoredEvent>> ProviderStore::find_event(std::string event_id) {
  std::optional<StoredEvent> event;
  co_await db_.worker().run([&](Database& db) {
    auto st = db.prepare(std::string(kEventColumns) + "WHERE event_id = ?");
    st.bind_all(event_id);
    if (st.step()) event = read_event(st);
  });
  co_return event;
}

asio::awaitable<void> ProviderStore::record_delivery(
    std::string event_id, bool delivered, std::optional<int> status, int attempts,
    std::optional<std::int64_t> next_attempt_at_ms) {
  co_await db_.worker().run(
      [&](Database& db) {
        auto st = db.prepare(
            "UPDATE events SET delivered = MAX(delivered, ?), attempts = ?, last_status = ?, "
            "next_attempt_at_ms = ? WHERE event_id = ?");
        st.bind(1, delivered ? 1 : 0).bind(2, attempts);
        if (status) {
          st.bind(3, *status);
        } else {
          st.bind_null(3);
        }
        if (next_attempt_at_ms && !delivered) {
          st.bind(4, *next_attempt_at_ms);
        } else {
          st.bind_null(4);
        }
        st.bind(5, event_id).run();
        // Deferred sync: lost to a power cut, the event is delivered again, and the shop records
        // each event id once.
      },
      Durability::deferred);
}

asio::awaitable<std::vector<StoredEvent>> ProviderStore::due_events(std::int64_t now_ms) {
  std::vector<StoredEvent> due;
  co_await db_.worker().run([&](Database& db) {
    auto st = db.prepare(std::string(kEventColumns) +
                         "WHERE delivered = 0 AND next_attempt_at_ms IS NOT NULL "
                         "AND next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms LIMIT 32");
    st.bind_all(now_ms);
    while (st.step()) due.push_back(read_event(st));
  });
  co_return due;
}

asio::awaitable<nlohmann::json> ProviderStore::webhook_report(std::size_t limit) {
  nlohmann::json report;
  co_await db_.worker().run([&](Database& db) {
    auto count = [&](std::string_view sql) {
      auto st = db.prepare(sql);
      st.step();
      return st.column_int(0);
    };
    const auto retrying =
        count("SELECT COUNT(*) FROM events WHERE delivered = 0 AND next_attempt_at_ms IS NOT NULL");
    const auto given_up =
        count("SELECT COUNT(*) FROM events WHERE delivered = 0 AND next_attempt_at_ms IS NULL");
    nlohmann::json items = nlohmann::json::array();
    auto st = db.prepare(std::string(kEventColumns) +
                         "WHERE delivered = 0 AND next_attempt_at_ms IS NULL "
                         "ORDER BY created_at_ms DESC LIMIT ?");
    st.bind_all(static_cast<std::int64_t>(limit));
    while (st.step()) {
      const StoredEvent e = read_event(st);
      items.push_back({{"event_id", e.event_id},
                       {"intent_id", e.intent_id},
                       {"attempts", e.attempts},
                       {"last_status",
                        e.last_status ? nlohmann::json(*e.last_status) : nlohmann::json(nullptr)},
                       {"settled_at_ms", e.created_at_ms}});
    }
    report = {{"retrying", retrying}, {"given_up", {{"count", given_up}, {"items", items}}}};
  });
  co_return report;
}

}  // namespace shopctl::provider
