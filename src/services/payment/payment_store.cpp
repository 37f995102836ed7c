#include "services/payment/payment_store.hpp"

#include <stdexcept>
#include <utility>

#include "platform/domain_error.hpp"
#include "platform/json_text.hpp"
#include "platform/security/random.hpp"

namespace shopctl::payment {

namespace asio = boost::asio;
using platform::Database;
using platform::DomainError;
using platform::Durability;
using platform::ErrorKind;

namespace {

const std::vector<std::string_view> kMigrations = {
    R"sql(
CREATE TABLE payments (
  payment_id      TEXT    PRIMARY KEY,
  order_id        TEXT    NOT NULL UNIQUE,
  idempotency_key TEXT    NOT NULL UNIQUE,
  amount_cents    INTEGER NOT NULL CHECK (amount_cents >= 0),
  currency        TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  intent_id       TEXT,
  pay_url         TEXT,
  failure_reason  TEXT,
  created_at_ms   INTEGER NOT NULL,
  updated_at_ms   INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per provider event: the payment's transactions, each recorded once.
CREATE TABLE transactions (
  event_id       TEXT    PRIMARY KEY,
  payment_id     TEXT    NOT NULL REFERENCES payments (payment_id),
  type           TEXT    NOT NULL,
  amount_cents   INTEGER NOT NULL,
  currency       TEXT    NOT NULL,
  failure_reason TEXT,
  received_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Callbacks to the order service, kept until it answers them.
CREATE TABLE outbox (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id           TEXT    NOT NULL,
  payment_id         TEXT    NOT NULL,
  event_id           TEXT    NOT NULL REFERENCES transactions (event_id),
  body               TEXT    NOT NULL,
  trace_id           TEXT    NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms INTEGER NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  last_error         TEXT,
  finished_at_ms     INTEGER,
  verdict            TEXT,
  answer_status      INTEGER
);
CREATE INDEX outbox_due ON outbox (finished_at_ms, next_attempt_at_ms);
)sql",
    // Payments may be CANCELED. SQLite cannot change a CHECK constraint in place: the table is
    // rebuilt; deferred foreign keys let the transactions that point at the payments survive
    // the moment the table is gone (re-inserting the rows resolves them before the commit).
    // An order canceled before it had a payment keeps a tombstone, so that a late request to
    // open one is refused.
    R"sql(
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE payments_before_cancel AS SELECT * FROM payments;
DROP TABLE payments;
CREATE TABLE payments (
  payment_id      TEXT    PRIMARY KEY,
  order_id        TEXT    NOT NULL UNIQUE,
  idempotency_key TEXT    NOT NULL UNIQUE,
  amount_cents    INTEGER NOT NULL CHECK (amount_cents >= 0),
  currency        TEXT    NOT NULL,
  status          TEXT    NOT NULL
                          CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'CANCELED')),
  intent_id       TEXT,
  pay_url         TEXT,
  failure_reason  TEXT,
  created_at_ms   INTEGER NOT NULL,
  updated_at_ms   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO payments (payment_id, order_id, idempotency_key, amount_cents, currency, status,
                      intent_id, pay_url, failure_reason, created_at_ms, updated_at_ms)
  SELECT payment_id, order_id, idempotency_key, amount_cents, currency, status, intent_id,
         pay_url, failure_reason, created_at_ms, updated_at_ms FROM payments_before_cancel;
DROP TABLE payments_before_cancel;

-- Orders canceled before any payment was opened for them.
CREATE TABLE canceled_orders (
  order_id       TEXT    PRIMARY KEY,
  reason         TEXT    NOT NULL,
  canceled_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // Reconciliation: when payment next asks the provider about a PENDING payment's intent,
    // and how many looks found nothing. NULL (payments opened before): due at once.
    R"sql(
ALTER TABLE payments ADD COLUMN next_check_at_ms INTEGER;
ALTER TABLE payments ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX payments_reconcile ON payments (status, next_check_at_ms);
)sql",
    // The trace of the request that opened the payment: reconciliation's looks at it (and the
    // callbacks they lead to) continue that trace. NULL (payments opened before): a new trace.
    R"sql(
ALTER TABLE payments ADD COLUMN trace_id TEXT;
)sql",
    // A payment whose intent may exist at the provider though payment has none recorded: a
    // create whose answer went unheard (or was a 5xx, or unusable). Payment's 503 then tells
    // order so, and order has the payment canceled (docs/money.md, "A 503 from payment").
    R"sql(
ALTER TABLE payments ADD COLUMN intent_in_doubt INTEGER NOT NULL DEFAULT 0;
)sql",
};

// Each lookup's SQL, whole: the columns in read_payment()'s order.
enum class PaymentKey { payment_id, order_id, idempotency_key };

std::string_view select_payment_sql(PaymentKey key) {
  switch (key) {
    case PaymentKey::payment_id:
      return "SELECT payment_id, order_id, idempotency_key, amount_cents, currency, status, "
             "intent_id, pay_url, failure_reason, created_at_ms, updated_at_ms FROM payments "
             "WHERE payment_id = ?";
    case PaymentKey::order_id:
      return "SELECT payment_id, order_id, idempotency_key, amount_cents, currency, status, "
             "intent_id, pay_url, failure_reason, created_at_ms, updated_at_ms FROM payments "
             "WHERE order_id = ?";
    case PaymentKey::idempotency_key:
      return "SELECT payment_id, order_id, idempotency_key, amount_cents, currency, status, "
             "intent_id, pay_url, failure_reason, created_at_ms, updated_at_ms FROM payments "
             "WHERE idempotency_key = ?";
  }
  return {};
}

Payment read_payment(const platform::Statement& st) {
  Payment p;
  p.payment_id = st.column_text(0);
  p.order_id = st.column_text(1);
  p.idempotency_key = st.column_text(2);
  p.amount_cents = st.column_int(3);
  p.currency = st.column_text(4);
  p.status = st.column_text(5);
  p.intent_id = st.column_text(6);
  p.pay_url = st.column_text(7);
  p.failure_reason = st.column_text(8);
  p.created_at_ms = st.column_int(9);
  p.updated_at_ms = st.column_int(10);
  return p;
}

std::optional<Payment> find_payment(Database& db, PaymentKey key, const std::string& value) {
  auto st = db.prepare(select_payment_sql(key));
  st.bind_all(value);
  if (!st.step()) return std::nullopt;
  return read_payment(st);
}

// Outbox queries select these columns, in read_outbox()'s order: id, order_id, payment_id,
// event_id, body, trace_id, attempts, next_attempt_at_ms, created_at_ms, last_error.

OutboxEntry read_outbox(const platform::Statement& st) {
  OutboxEntry e;
  e.id = st.column_int(0);
  e.order_id = st.column_text(1);
  e.payment_id = st.column_text(2);
  e.event_id = st.column_text(3);
  e.body = st.column_text(4);
  e.trace_id = st.column_text(5);
  e.attempts = static_cast<int>(st.column_int(6));
  e.next_attempt_at_ms = st.column_int(7);
  e.created_at_ms = st.column_int(8);
  e.last_error = st.column_text(9);
  return e;
}

// Refuses to open (or hand out again) a payment for an order whose payment was canceled:
// DomainError conflict `payment_canceled`.
void throw_if_canceled(Database& db, const std::string& order_id) {
  bool canceled = false;
  {
    auto st = db.prepare("SELECT 1 FROM canceled_orders WHERE order_id = ?");
    st.bind_all(order_id);
    canceled = st.step();
  }
  if (!canceled) {
    auto st = db.prepare("SELECT 1 FROM payments WHERE order_id = ? AND status = 'CANCELED'");
    st.bind_all(order_id);
    canceled = st.step();
  }
  if (canceled) {
    throw DomainError(ErrorKind::conflict, "payment_canceled",
                      "the order's payment was canceled; no payment can be opened for it",
                      {{"order_id", order_id}});
  }
}

std::int64_t count_unfinished(Database& db) {
  auto st = db.prepare("SELECT COUNT(*) FROM outbox WHERE finished_at_ms IS NULL");
  st.step();
  return st.column_int(0);
}

}  // namespace

nlohmann::json OutboxEntry::to_json() const {
  return {
      {"id", id},
      {"order_id", order_id},
      {"payment_id", payment_id},
      {"event_id", event_id},
      {"callback", platform::parse_json_or_discarded(body)},
      {"trace_id", trace_id},
      {"attempts", attempts},
      {"next_attempt_at_ms", next_attempt_at_ms},
      {"created_at_ms", created_at_ms},
      {"last_error", last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error)}};
}

PaymentStore::PaymentStore(std::filesystem::path file, platform::Synchronous synchronous)
    : db_(std::move(file), synchronous) {}

PaymentStore::~PaymentStore() = default;

void PaymentStore::open(std::int64_t now_ms) {
  db_.open().run_sync([this, now_ms](Database& db) {
    db.migrate(kMigrations);
    db.prepare(
          "UPDATE outbox SET next_attempt_at_ms = ? "
          "WHERE finished_at_ms IS NULL AND next_attempt_at_ms > ?")
        .bind_all(now_ms, now_ms)
        .run();
    // The same for the looks at the provider that found nothing: their waits had grown with
    // an outage (up to an hour), and a captured order stayed PAYMENT_PENDING for as long
    // after the restart (an outside probe). A payment not looked at yet keeps its first look.
    db.prepare(
          "UPDATE payments SET next_check_at_ms = ? "
          "WHERE status = 'PENDING' AND intent_id IS NOT NULL AND checks > 0 "
          "AND next_check_at_ms > ?")
        .bind_all(now_ms, now_ms)
        .run();
    depth_ = count_unfinished(db);
  });
}

void PaymentStore::close() {
  db_.close();
}

asio::awaitable<Payment> PaymentStore::create_or_get(std::string key, std::string order_id,
                                                     std::int64_t amount_cents,
                                                     std::string currency, std::int64_t now_ms,
                                                     std::string trace_id) {
  Payment payment;
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          throw_if_canceled(db, order_id);
          if (auto existing = find_payment(db, PaymentKey::idempotency_key, key)) {
            if (existing->order_id != order_id || existing->amount_cents != amount_cents ||
                existing->currency != currency) {
              throw DomainError(
                  ErrorKind::conflict, "idempotency_key_reused",
                  "this Idempotency-Key opened a payment for another order or amount",
                  {{"header", "Idempotency-Key"}, {"payment_id", existing->payment_id}});
            }
            payment = std::move(*existing);
            if (payment.status == kPending && payment.intent_id.empty()) {
              // A create at work on it: take_unopened leaves it alone for a while yet.
              db.prepare("UPDATE payments SET updated_at_ms = ? WHERE payment_id = ?")
                  .bind_all(now_ms, payment.payment_id)
                  .run();
            }
            return;
          }
          if (auto existing = find_payment(db, PaymentKey::order_id, order_id)) {
            throw DomainError(
                ErrorKind::conflict, "payment_exists",
                "the order already has a payment opened under another Idempotency-Key",
                {{"order_id", order_id}, {"payment_id", existing->payment_id}});
          }
          payment.payment_id = platform::security::new_id("pay_");
          payment.order_id = order_id;
          payment.idempotency_key = key;
          payment.amount_cents = amount_cents;
          payment.currency = currency;
          payment.status = std::string(kPending);
          payment.created_at_ms = now_ms;
          payment.updated_at_ms = now_ms;
          db.prepare(
                "INSERT INTO payments (payment_id, order_id, idempotency_key, amount_cents, "
                "currency, "
                "status, created_at_ms, updated_at_ms, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                "?)")
              .bind_all(payment.payment_id, payment.order_id, payment.idempotency_key,
                        payment.amount_cents, payment.currency, payment.status, now_ms, now_ms,
                        trace_id)
              .run();
        });
        // Deferred sync: the row is acknowledged to nobody until attach_intent, which is synced
        // and carries it; lost to a power cut, it leaves an intent at the provider whose pay link
        // nobody was given, and the order's retry opens a new payment.
      },
      Durability::deferred);
  co_return payment;
}

asio::awaitable<Payment> PaymentStore::attach_intent(std::string payment_id, std::string intent_id,
                                                     std::string pay_url, std::int64_t now_ms,
                                                     std::int64_t first_check_at_ms) {
  co_return co_await update_payment(payment_id, [&](Database& db) {
    db.prepare(
          "UPDATE payments SET intent_id = ?, pay_url = ?, updated_at_ms = ?, "
          "next_check_at_ms = ? WHERE payment_id = ? AND intent_id IS NULL")
        .bind_all(intent_id, pay_url, now_ms, first_check_at_ms, payment_id)
        .run();
  });
}

asio::awaitable<bool> PaymentStore::intent_in_doubt(std::string payment_id, bool this_attempt) {
  bool in_doubt = this_attempt;
  co_await db_.worker().run([&](Database& db) {
    if (this_attempt) {
      db.prepare("UPDATE payments SET intent_in_doubt = 1 WHERE payment_id = ?")
          .bind_all(payment_id)
          .run();
      return;
    }
    auto st = db.prepare("SELECT intent_in_doubt FROM payments WHERE payment_id = ?");
    st.bind_all(payment_id);
    in_doubt = st.step() && st.column_int(0) != 0;
  });
  co_return in_doubt;
}

asio::awaitable<std::optional<Payment>> PaymentStore::begin_cancel(std::string order_id,
                                                                   std::string reason,
                                                                   std::int64_t now_ms) {
  std::optional<Payment> payment;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      payment = find_payment(db, PaymentKey::order_id, order_id);
      if (payment) return;
      db.prepare(
            "INSERT OR IGNORE INTO canceled_orders (order_id, reason, canceled_at_ms) "
            "VALUES (?, ?, ?)")
          .bind_all(order_id, reason, now_ms)
          .run();
    });
  });
  co_return payment;
}

asio::awaitable<Payment> PaymentStore::mark_canceled(std::string payment_id, std::string reason,
                                                     std::int64_t now_ms) {
  co_return co_await update_payment(payment_id, [&](Database& db) {
    db.prepare(
          "UPDATE payments SET status = 'CANCELED', failure_reason = ?, updated_at_ms = ? "
          "WHERE payment_id = ? AND status = 'PENDING'")
        .bind_all(reason, now_ms, payment_id)
        .run();
  });
}

asio::awaitable<std::vector<Payment>> PaymentStore::take_unopened(std::int64_t now_ms,
                                                                  std::int64_t untouched_since_ms,
                                                                  std::size_t limit) {
  std::vector<Payment> taken;
  co_await db_.worker().run([&](Database& db) {
    // A read first, so that a pass that finds nothing writes nothing. PENDING payments without
    // an intent are the ones whose next_check_at_ms is NULL (attach_intent sets it): the
    // payments_reconcile index finds them.
    std::vector<std::string> ids;
    {
      auto st = db.prepare(
          "SELECT payment_id FROM payments WHERE status = 'PENDING' AND next_check_at_ms IS NULL "
          "AND intent_id IS NULL AND updated_at_ms <= ? LIMIT ?");
      st.bind_all(untouched_since_ms, static_cast<std::int64_t>(limit));
      while (st.step()) ids.push_back(st.column_text(0));
    }
    if (ids.empty()) return;
    db.transaction([&] {
      for (const auto& id : ids) {
        db.prepare(
              "UPDATE payments SET updated_at_ms = ? WHERE payment_id = ? AND status = "
              "'PENDING' AND intent_id IS NULL AND updated_at_ms <= ?")
            .bind_all(now_ms, id, untouched_since_ms)
            .run();
        if (db.changes() == 0) continue;
        if (auto payment = find_payment(db, PaymentKey::payment_id, id)) {
          taken.push_back(std::move(*payment));
        }
      }
    });
  });
  co_return taken;
}

asio::awaitable<Payment> PaymentStore::update_payment(const std::string& payment_id,
                                                      const std::function<void(Database&)>& write) {
  Payment payment;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      write(db);
      auto found = find_payment(db, PaymentKey::payment_id, payment_id);
      if (!found) {
        throw DomainError(ErrorKind::not_found, "payment_not_found", "no payment " + payment_id);
      }
      payment = std::move(*found);
    });
  });
  co_return payment;
}

asio::awaitable<RecordedEvent> PaymentStore::record_event(ProviderEvent event, std::string trace_id,
                                                          std::int64_t now_ms,
                                                          std::int64_t due_at_ms) {
  RecordedEvent recorded;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      auto payment = find_payment(db, PaymentKey::payment_id, event.payment_id);
      {
        auto st = db.prepare("SELECT 1 FROM transactions WHERE event_id = ?");
        st.bind_all(event.event_id);
        if (st.step()) {
          recorded.duplicate = true;
          if (payment) recorded.payment = std::move(*payment);
          return;
        }
      }
      if (!payment) {
        throw DomainError(ErrorKind::not_found, "payment_not_found",
                          "the event names an unknown payment",
                          {{"payment_id", event.payment_id}, {"event_id", event.event_id}});
      }
      if (payment->amount_cents != event.amount_cents || payment->currency != event.currency) {
        throw DomainError(
            ErrorKind::invalid, "amount_mismatch",
            "the event's amount or currency differs from the payment's",
            {{"payment_id", event.payment_id},
             {"expected",
              {{"amount_cents", payment->amount_cents}, {"currency", payment->currency}}},
             {"received", {{"amount_cents", event.amount_cents}, {"currency", event.currency}}}});
      }
      auto insert = db.prepare(
          "INSERT INTO transactions (event_id, payment_id, type, amount_cents, currency, "
          "failure_reason, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
      insert.bind_all(event.event_id, event.payment_id, event.type, event.amount_cents,
                      event.currency);
      if (event.failure_reason.empty()) {
        insert.bind_null(6);
      } else {
        insert.bind(6, event.failure_reason);
      }
      insert.bind(7, now_ms);
      insert.run();
      // The first result decides the payment; a later, different one is recorded, and its
      // callback says the payment's result, not its own (as_decided).
      if (payment->status == kPending) {
        auto update = db.prepare(
            "UPDATE payments SET status = ?, failure_reason = ?, updated_at_ms = ? "
            "WHERE payment_id = ?");
        update.bind(1, std::string(event.result()));
        if (event.failure_reason.empty()) {
          update.bind_null(2);
        } else {
          update.bind(2, event.failure_reason);
        }
        update.bind(3, now_ms).bind(4, event.payment_id).run();
        payment->status = std::string(event.result());
        payment->failure_reason = event.failure_reason;
        payment->updated_at_ms = now_ms;
      }
      OutboxEntry entry;
      entry.order_id = payment->order_id;
      entry.payment_id = payment->payment_id;
      entry.event_id = event.event_id;
      const auto decided = as_decided(event, payment->status, payment->failure_reason);
      recorded.contradicts = decided.type != event.type;
      entry.body = payment_result_body(decided).dump();
      entry.trace_id = trace_id;
      entry.next_attempt_at_ms = due_at_ms;
      entry.created_at_ms = now_ms;
      db.prepare(
            "INSERT INTO outbox (order_id, payment_id, event_id, body, trace_id, "
            "next_attempt_at_ms, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind_all(entry.order_id, entry.payment_id, entry.event_id, entry.body, entry.trace_id,
                    entry.next_attempt_at_ms, entry.created_at_ms)
          .run();
      entry.id = db.last_insert_rowid();
      recorded.payment = std::move(*payment);
      recorded.callback = std::move(entry);
    });
    // One more unfinished callback, once committed (depth_ changes only on this thread, from
    // open()'s count on).
    if (recorded.callback) depth_.fetch_add(1, std::memory_order_relaxed);
  });
  co_return recorded;
}

template <class Row>
asio::awaitable<std::vector<Row>> PaymentStore::select_due(
    std::string_view sql, std::int64_t now_ms, std::size_t limit,
    const std::function<Row(const platform::Statement&)>& read) {
  std::vector<Row> due;
  co_await db_.worker().run([&](Database& db) {
    auto st = db.prepare(sql);
    st.bind_all(now_ms, static_cast<std::int64_t>(limit));
    while (st.step()) due.push_back(read(st));
  });
  co_return due;
}

asio::awaitable<std::vector<ReconcileItem>> PaymentStore::due_reconciliations(std::int64_t now_ms,
                                                                              std::size_t limit) {
  co_return co_await select_due<ReconcileItem>(
      "SELECT payment_id, intent_id, checks, COALESCE(trace_id, '') FROM payments "
      "WHERE status = 'PENDING' AND intent_id IS NOT NULL "
      "AND COALESCE(next_check_at_ms, 0) <= ? "
      "ORDER BY next_check_at_ms, payment_id LIMIT ?",
      now_ms, limit, [](const platform::Statement& st) {
        return ReconcileItem{st.column_text(0), st.column_text(1),
                             static_cast<int>(st.column_int(2)), st.column_text(3)};
      });
}

asio::awaitable<void> PaymentStore::postpone_reconciliation(std::string payment_id, int checks,
                                                            std::int64_t next_check_at_ms) {
  co_await db_.worker().run([&](Database& db) {
    db.prepare("UPDATE payments SET checks = ?, next_check_at_ms = ? WHERE payment_id = ?")
        .bind_all(checks, next_check_at_ms, payment_id)
        .run();
  });
}

asio::awaitable<std::vector<OutboxEntry>> PaymentStore::due_callbacks(std::int64_t now_ms,
                                                                      std::size_t limit) {
  co_return co_await select_due<OutboxEntry>(
      "SELECT id, order_id, payment_id, event_id, body, trace_id, attempts, "
      "next_attempt_at_ms, created_at_ms, last_error FROM outbox "
      "WHERE finished_at_ms IS NULL AND next_attempt_at_ms <= ? "
      "ORDER BY next_attempt_at_ms, id LIMIT ?",
      now_ms, limit, read_outbox);
}

asio::awaitable<void> PaymentStore::finish_callback(std::int64_t id, CallbackVerdict verdict,
                                                    int status, std::int64_t now_ms) {
  co_await db_.worker().run(
      [&](Database& db) {
        db.prepare(
              "UPDATE outbox SET finished_at_ms = ?, verdict = ?, answer_status = ? "
              "WHERE id = ? AND finished_at_ms IS NULL")
            .bind_all(now_ms, std::string(to_string(verdict)), status, id)
            .run();
        depth_.fetch_sub(db.changes(), std::memory_order_relaxed);
        // Deferred sync: lost to a power cut, the callback is delivered again, and the order
        // answers a repeated result as a duplicate.
      },
      Durability::deferred);
}

asio::awaitable<void> PaymentStore::postpone_callback(std::int64_t id, int attempts,
                                                      std::int64_t next_attempt_at_ms,
                                                      std::string error) {
  co_await db_.worker().run([&](Database& db) {
    db.prepare(
          "UPDATE outbox SET attempts = ?, next_attempt_at_ms = ?, last_error = ? "
          "WHERE id = ? AND finished_at_ms IS NULL")
        .bind_all(attempts, next_attempt_at_ms, error, id)
        .run();
  });
}

asio::awaitable<nlohmann::json> PaymentStore::outbox_report(std::size_t limit) {
  nlohmann::json report;
  co_await db_.worker().run([&](Database& db) {
    nlohmann::json items = nlohmann::json::array();
    {
      auto st = db.prepare(
          "SELECT id, order_id, payment_id, event_id, body, trace_id, attempts, "
          "next_attempt_at_ms, created_at_ms, last_error FROM outbox "
          "WHERE finished_at_ms IS NULL ORDER BY next_attempt_at_ms, id LIMIT ?");
      st.bind_all(static_cast<std::int64_t>(limit));
      while (st.step()) items.push_back(read_outbox(st).to_json());
    }
    nlohmann::json finished = {{"acknowledged", 0}, {"conflict", 0}, {"rejected", 0}};
    {
      auto st = db.prepare(
          "SELECT verdict, COUNT(*) FROM outbox WHERE finished_at_ms IS NOT NULL GROUP BY verdict");
      while (st.step()) finished[st.column_text(0)] = st.column_int(1);
    }
    const std::int64_t depth = count_unfinished(db);
    depth_ = depth;
    report = {{"depth", depth}, {"finished", std::move(finished)}, {"items", std::move(items)}};
  });
  co_return report;
}

}  // namespace shopctl::payment
