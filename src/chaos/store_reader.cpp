#include "chaos/store_reader.hpp"
#include "platform/json_text.hpp"

#include <unistd.h>

#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace shopctl::chaos {

namespace {

struct ReadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One read-only connection. The URI form keeps SQLite from creating a missing file.
class ReadOnly {
 public:
  explicit ReadOnly(const std::filesystem::path& file) : file_(file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) throw ReadError(file.string() + ": no such file");
    // A FIFO or a device in a database's place: SQLite's open waited for a writer for good (serve
    // on such a folder hung before its start, deaf to SIGTERM; an outside probe).
    for (const auto& part : {file.string(), file.string() + "-wal", file.string() + "-shm"}) {
      const auto status = std::filesystem::status(part, ec);
      if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        throw ReadError(part + ": not a regular file (a folder, pipe, socket or device)");
    }
    had_wal_ = std::filesystem::exists(file.string() + "-wal", ec);
    had_shm_ = std::filesystem::exists(file.string() + "-shm", ec);
    auto uri = "file:" + file.string() + "?mode=ro";
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    db_.reset(db);
    if (rc != SQLITE_OK)
      throw ReadError(file.string() + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
    sqlite3_busy_timeout(db, 5000);
    name_ = file.filename().string();
    // A WAL database is read through its -shm file, which SQLite makes beside it: on a folder
    // it cannot write (read-only media) it said only "unable to open database file".
    const auto folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    if (::access(folder.c_str(), W_OK) != 0)
      hint_ = " (" + folder.string() +
              " cannot be written, and SQLite needs to make a -shm file beside a WAL database "
              "to read it: copy the folder somewhere writable and check the copy)";
    // A damaged page the checkers' queries do not touch passed (an overwritten order_items
    // page: 7 passed, exit 0; an outside probe): every page is read once first, as a shop's
    // start does (store/database.cpp), and a damaged database is not checked.
    std::string verdict = "no answer";
    each("PRAGMA quick_check(1)", [&](sqlite3_stmt* st) {
      const auto* text = sqlite3_column_text(st, 0);
      verdict = text ? reinterpret_cast<const char*>(text) : "";
    });
    if (verdict != "ok") {
      for (auto& c : verdict)
        if (c == '\n') c = ' ';
      throw ReadError(name_ + ": the database is damaged (" + verdict.substr(0, 200) + ")");
    }
  }

  // Runs `sql` and calls `row` for each row.
  void each(const char* sql, const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK)
      throw ReadError(name_ + ": " + sqlite3_errmsg(db_.get()) + hint_);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
    for (;;) {
      int rc = sqlite3_step(raw);
      if (rc == SQLITE_ROW) {
        row(raw);
        continue;
      }
      if (rc == SQLITE_DONE) break;
      throw ReadError(name_ + ": " + sqlite3_errmsg(db_.get()) + hint_);
    }
  }
  // A read-only connection cannot checkpoint, so SQLite leaves the empty -wal and the -shm it
  // made beside a WAL database when it closes: `chaos --check` left them in the folder it
  // checked (an outside probe). Those this connection made, and that hold nothing, go with it.
  ~ReadOnly() {
    db_.reset();
    std::error_code ec;
    const std::filesystem::path wal = file_.string() + "-wal", shm = file_.string() + "-shm";
    if (had_wal_ || had_shm_) return;
    const auto wal_size = std::filesystem::file_size(wal, ec);
    if (!ec && wal_size != 0) return;  // written meanwhile: not this reader's to remove
    std::filesystem::remove(wal, ec);
    std::filesystem::remove(shm, ec);
  }
  ReadOnly(const ReadOnly&) = delete;
  ReadOnly& operator=(const ReadOnly&) = delete;

  long count(const char* sql) {
    long n = 0;
    each(sql, [&](sqlite3_stmt* st) { n = static_cast<long>(sqlite3_column_int64(st, 0)); });
    return n;
  }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::filesystem::path file_;
  bool had_wal_ = false, had_shm_ = false;
  std::unique_ptr<sqlite3, Close> db_;
  std::string name_;
  std::string hint_;  // why reading may fail here, said with the error
};

std::string text(sqlite3_stmt* st, int col) {
  auto p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
}
std::int64_t integer(sqlite3_stmt* st, int col) {
  return sqlite3_column_int64(st, col);
}

// Reads one file's rows in one read transaction (one consistent snapshot), or reports why not.
template <class Fill>
bool read_file(const std::filesystem::path& file, std::vector<std::string>& problems, Fill fill) {
  try {
    ReadOnly db(file);
    db.each("BEGIN", [](sqlite3_stmt*) {});
    fill(db);
    db.each("COMMIT", [](sqlite3_stmt*) {});
    return true;
  } catch (const ReadError& e) {
    problems.push_back(e.what());
    return false;
  }
}

}  // namespace

DatabaseFiles files_in(const std::filesystem::path& data_dir) {
  // A shop in one process keeps them side by side; `serve --processes` gives each service a
  // folder of its own (DIR/order/order.db, ...).
  auto find = [&](const std::string& service) {
    auto flat = data_dir / (service + ".db");
    auto own = data_dir / service / (service + ".db");
    return !std::filesystem::exists(flat) && std::filesystem::exists(own) ? own : flat;
  };
  return {find("order"), find("payment"), find("provider")};
}

void load_databases(const DatabaseFiles& files, World& w, std::vector<std::string>& problems) {
  w.orders.clear();
  w.idempotency.clear();
  w.payments.clear();
  w.outbox.clear();
  w.recorded_events.clear();
  w.transactions.clear();
  w.recorded_after_read.clear();
  w.intents.clear();
  w.events.clear();
  w.have_orders = read_file(files.order, problems, [&](ReadOnly& db) {
    db.each(
        "SELECT o.order_id, o.user_id, o.status, o.total_cents, o.currency, COALESCE(o.payment_id, "
        "''), "
        "COALESCE((SELECT h.reason FROM order_history h WHERE h.order_id = o.order_id "
        "ORDER BY h.seq DESC LIMIT 1), ''), COALESCE(o.payment_status, ''), "
        "(SELECT COALESCE(SUM(i.line_total_cents), 0) FROM order_items i "
        "WHERE i.order_id = o.order_id), "
        // A line the cart could never hold counts as miscounted too: a negative price or a
        // quantity outside 1..99 balanced a total (3 items for the price of 2 with a -59.90
        // line) and passed (an outside probe).
        "(SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.order_id AND "
        "(i.line_total_cents != i.quantity * i.unit_price_cents OR i.unit_price_cents < 0 OR "
        "i.quantity < 1 OR i.quantity > 99)) "
        "FROM orders o ORDER BY o.seq",
        [&](sqlite3_stmt* st) {
          w.orders.push_back({text(st, 0), text(st, 1), text(st, 2), integer(st, 3), text(st, 4),
                              text(st, 5), text(st, 6), text(st, 7), integer(st, 8),
                              integer(st, 9)});
        });
    db.each("SELECT user_id, idempotency_key, COALESCE(order_id, '') FROM idempotency_keys",
            [&](sqlite3_stmt* st) {
              w.idempotency.push_back({text(st, 0), text(st, 1), text(st, 2)});
            });
  });
  w.have_payments = read_file(files.payment, problems, [&](ReadOnly& db) {
    db.each(
        "SELECT payment_id, order_id, status, amount_cents, currency, COALESCE(intent_id, '') FROM "
        "payments",
        [&](sqlite3_stmt* st) {
          w.payments.push_back(
              {text(st, 0), text(st, 1), text(st, 2), integer(st, 3), text(st, 4), text(st, 5)});
        });
    db.each("SELECT event_id, payment_id, type, amount_cents, currency FROM transactions",
            [&](sqlite3_stmt* st) {
              w.recorded_events.insert(text(st, 0));
              w.transactions.push_back(
                  {text(st, 0), text(st, 1), text(st, 2), integer(st, 3), text(st, 4)});
            });
    db.each(
        "SELECT id, order_id, event_id, trace_id, finished_at_ms IS NOT NULL, COALESCE(verdict, "
        "''), attempts "
        "FROM outbox ORDER BY id",
        [&](sqlite3_stmt* st) {
          w.outbox.push_back({integer(st, 0), text(st, 1), text(st, 2), text(st, 3),
                              integer(st, 4) != 0, text(st, 5), integer(st, 6)});
        });
  });
  w.have_provider = read_file(files.provider, problems, [&](ReadOnly& db) {
    db.each(
        "SELECT intent_id, payment_id, amount_cents, currency, status, COALESCE(event_id, '') FROM "
        "intents",
        [&](sqlite3_stmt* st) {
          w.intents.push_back(
              {text(st, 0), text(st, 1), integer(st, 2), text(st, 3), text(st, 4), text(st, 5)});
        });
    db.each("SELECT event_id, intent_id, body, delivered, attempts FROM events",
            [&](sqlite3_stmt* st) {
              auto body = platform::parse_json_or_discarded(text(st, 2));
              auto field = [&](const char* name) {
                return body.is_object() && body.contains(name) && body[name].is_string()
                           ? body[name].get<std::string>()
                           : std::string();
              };
              // An amount that is not an integer reads as -1: no intent is for that.
              const std::int64_t amount = body.is_object() && body.contains("amount_cents") &&
                                                  body["amount_cents"].is_number_integer()
                                              ? body["amount_cents"].get<std::int64_t>()
                                              : -1;
              w.events.push_back({text(st, 0), text(st, 1), field("type"), integer(st, 3) != 0,
                                  integer(st, 4), field("payment_id"), amount, field("currency")});
            });
  });
  // A second look at payment.db, after provider.db's read: of `unseen` (ids its first read
  // lacked), those the column `sql` reads now were written since (a running shop's), and go into
  // `found`; the others are lost.
  auto second_look = [&](const std::vector<std::string>& unseen, const char* sql,
                         std::set<std::string>& found) {
    if (unseen.empty()) return;
    read_file(files.payment, problems, [&](ReadOnly& db) {
      std::set<std::string> now;
      db.each(sql, [&](sqlite3_stmt* st) { now.insert(text(st, 0)); });
      for (const auto& id : unseen)
        if (now.count(id)) found.insert(id);
    });
  };
  if (!w.have_payments || !w.have_provider) return;
  // Payment saves a payment before it asks the provider for its intent: an intent whose payment
  // payment.db's first read lacks was opened since, or its payment is lost.
  std::set<std::string> known;
  for (const auto& p : w.payments) known.insert(p.payment_id);
  std::vector<std::string> unopened;
  for (const auto& i : w.intents)
    if (!known.count(i.payment_id)) unopened.push_back(i.payment_id);
  second_look(unopened, "SELECT payment_id FROM payments", w.payments_after_read);
  // An event the provider marked delivered was recorded by payment before its 2xx, so before
  // the mark: one payment.db's first read lacks was recorded since, or is lost.
  std::vector<std::string> unrecorded;
  for (const auto& e : w.events)
    if (e.delivered && !w.recorded_events.count(e.event_id)) unrecorded.push_back(e.event_id);
  second_look(unrecorded, "SELECT event_id FROM transactions", w.recorded_after_read);
}

InFlight count_in_flight(const DatabaseFiles& files) {
  InFlight f;
  std::vector<std::string> ignored;
  read_file(files.order, ignored, [&](ReadOnly& db) {
    f.pending_orders = db.count("SELECT COUNT(*) FROM orders WHERE status = 'PAYMENT_PENDING'");
    // Failed checkouts whose payment the order service still has to cancel (the column came
    // with order.db's migration 4; a file from before has none to cancel).
    try {
      f.payments_to_cancel = db.count("SELECT COUNT(*) FROM orders WHERE payment_cancel_due = 1");
    } catch (const ReadError&) {
      f.payments_to_cancel = 0;
    }
  });
  read_file(files.payment, ignored, [&](ReadOnly& db) {
    f.unfinished_callbacks = db.count("SELECT COUNT(*) FROM outbox WHERE finished_at_ms IS NULL");
    f.unopened_payments =
        db.count("SELECT COUNT(*) FROM payments WHERE status = 'PENDING' AND intent_id IS NULL");
  });
  read_file(files.provider, ignored, [&](ReadOnly& db) {
    f.undelivered_events = db.count("SELECT COUNT(*) FROM events WHERE delivered = 0");
  });
  return f;
}

std::string describe(const InFlight& left) {
  const auto count = [](long n, const char* what) {
    return (n < 0 ? std::string("unreadable") : std::to_string(n)) + " " + what;
  };
  return count(left.pending_orders, "orders PAYMENT_PENDING") + ", " +
         count(left.payments_to_cancel, "failed checkouts' payments to cancel") + ", " +
         count(left.unfinished_callbacks, "callbacks unfinished") + ", " +
         count(left.undelivered_events, "provider events undelivered") + ", " +
         count(left.unopened_payments, "payments still to end that the provider never opened");
}

Orphans find_orphan_captures(const DatabaseFiles& files) {
  Orphans found;
  std::error_code ec;
  const std::filesystem::path* all[] = {&files.order, &files.payment, &files.provider};
  // An emptied file (0 bytes, which SQLite takes for a new database) holds what a missing one
  // does: it was counted as present, could not be read, and the first start after `: >
  // order.db` warned of nothing (an outside probe).
  const auto holds_nothing = [&ec](const std::filesystem::path& file) {
    if (!std::filesystem::exists(file, ec)) return true;
    const auto size = std::filesystem::file_size(file, ec);
    return !ec && size == 0;
  };
  std::vector<std::string> absent;
  for (const auto* file : all)
    if (holds_nothing(*file)) absent.push_back(file->filename().string());
  // At every start: only the columns the comparison needs (load_databases reads every row of
  // every table the checkers use, events' JSON bodies included).
  std::map<std::string, std::string> status_of_order;     // order_id -> status
  std::vector<std::pair<std::string, std::string>> paid;  // PAID: order_id, payment_id
  std::map<std::string, std::string> failed_of_payment;   // FAILED: payment_id -> order_id
  std::map<std::string, std::string> order_of_payment;
  std::set<std::string> ended_payments;                    // FAILED or CANCELED in payment.db
  std::map<std::string, std::string> order_named_payment;  // payment_id -> "ord_... (PAID)"
  long payments_held = 0;                                  // rows of payment.db (when alone)
  struct Intent {
    std::string intent_id, payment_id, currency, status;
    std::int64_t amount_cents = 0;
  };
  std::vector<Intent> intents;
  std::vector<std::string> problems;
  const auto read_orders = [&](ReadOnly& db) {
    // A FAILED order whose payment is still to be canceled (payment_cancel_due) may have a
    // payable intent for a while: the shop cancels it.
    db.each("SELECT order_id, status, COALESCE(payment_id, ''), payment_cancel_due FROM orders",
            [&](sqlite3_stmt* st) {
              const auto id = text(st, 0), status = text(st, 1), payment = text(st, 2);
              if (status == "PAID") paid.emplace_back(id, payment);
              if (!payment.empty()) order_named_payment.emplace(payment, id + " (" + status + ")");
              if (status == "FAILED" && !payment.empty() && integer(st, 3) == 0)
                failed_of_payment.emplace(payment, id);
              status_of_order.emplace(id, status);
            });
  };
  const auto read_payments = [&](ReadOnly& db) {
    db.each("SELECT payment_id, order_id, status FROM payments", [&](sqlite3_stmt* st) {
      order_of_payment.emplace(text(st, 0), text(st, 1));
      if (const auto status = text(st, 2); status == "FAILED" || status == "CANCELED")
        ended_payments.insert(text(st, 0));
    });
  };
  const auto read_intents = [&](ReadOnly& db) {
    db.each(
        "SELECT intent_id, payment_id, currency, amount_cents, status FROM intents "
        "WHERE status IN ('succeeded', 'requires_payment')",
        [&](sqlite3_stmt* st) {
          intents.push_back({text(st, 0), text(st, 1), text(st, 2), text(st, 4), integer(st, 3)});
        });
  };
  if (absent.size() == 3) return found;  // a new shop
  if (!absent.empty()) {
    // One removed beside others: say what the others hold. A folder whose files all hold
    // nothing yet (a shop stopped before its first order) says nothing.
    std::string held;
    if (!holds_nothing(files.order) && read_file(files.order, problems, read_orders) &&
        !paid.empty())
      held = "order.db holds " + std::to_string(paid.size()) + " PAID order(s)";
    else if (!holds_nothing(files.provider) && read_file(files.provider, problems, read_intents) &&
             std::any_of(intents.begin(), intents.end(),
                         [](const Intent& i) { return i.status == "succeeded"; }))
      held = "provider.db holds captures";
    else if (!holds_nothing(files.payment) &&
             read_file(files.payment, problems,
                       [&](ReadOnly& db) {
                         payments_held = db.count("SELECT COUNT(*) FROM payments");
                       }) &&
             payments_held > 0)
      held = "payment.db holds " + std::to_string(payments_held) + " payment(s)";
    if (!held.empty()) {
      std::string names;
      for (const auto& name : absent) names += (names.empty() ? "" : ", ") + name;
      found.missing = names + " (" + held + ")";
    }
    return found;
  }
  const bool read = read_file(files.order, problems, read_orders) &&
                    read_file(files.payment, problems, read_payments) &&
                    read_file(files.provider, problems, read_intents);
  if (!read) return found;
  std::set<std::string> captured_payments;
  for (const auto& intent : intents) {
    if (intent.status == "requires_payment") {
      // Payable while both the order and its payment say it ended: a contradiction, not a
      // cancel still on its way (a PENDING payment is ended by the shop's reconciliation).
      const auto failed = failed_of_payment.find(intent.payment_id);
      if (failed != failed_of_payment.end() && ended_payments.contains(intent.payment_id) &&
          found.failed_payable++ == 0)
        found.failed_example = "order " + failed->second + " (intent " + intent.intent_id + ")";
      continue;
    }
    captured_payments.insert(intent.payment_id);
    const auto payment = order_of_payment.find(intent.payment_id);
    if (payment != order_of_payment.end() && status_of_order.contains(payment->second)) continue;
    if (payment == order_of_payment.end()) {
      if (const auto named = order_named_payment.find(intent.payment_id);
          named != order_named_payment.end()) {
        if (found.payments_missing++ == 0)
          found.payments_example = "payment " + intent.payment_id + " of order " + named->second;
        continue;
      }
    }
    if (found.captures++ == 0) {
      found.currency = intent.currency;
      found.example =
          "intent " + intent.intent_id + " for payment " + intent.payment_id +
          (payment == order_of_payment.end() ? " (not in payment.db)"
                                             : " (order " + payment->second + ", not in order.db)");
    }
    found.amount_cents += intent.amount_cents;
  }
  for (const auto& [order_id, payment_id] : paid) {
    if (captured_payments.contains(payment_id)) continue;
    if (found.paid_uncaptured++ == 0)
      found.paid_example = "order " + order_id + " (payment " + payment_id + ")";
  }
  return found;
}

}  // namespace shopctl::chaos
