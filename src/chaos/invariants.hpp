#pragma once
// `shopctl chaos`: the money invariants, each a pure function over what an independent
// observer saw after healing: the rows of the services' SQLite files (read read-only), the
// breaker states the admin plane reports, and the shoppers' own record of what they were
// answered. Nothing here reads a service's memory, so a planted row or a planted answer is
// caught the same way a real defect is (tests/unit/chaos_invariants_test.cpp).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "load/engine.hpp"

namespace shopctl::chaos {

// order.db `orders`, with the reason of its last `order_history` row.
struct OrderRow {
  std::string order_id;
  std::string user_id;
  std::string status;  // PAYMENT_PENDING, PAID, FAILED
  std::int64_t total_cents = 0;
  std::string currency;
  std::string payment_id;      // empty when none was recorded
  std::string reason;          // empty when none
  std::string payment_status;  // the payment's status as the order recorded it; empty when none
  // The order's lines (order.db `order_items`): the sum of their totals, and how many lines
  // say a total other than quantity x unit price. Unset when the lines were not read.
  std::optional<std::int64_t> lines_total_cents;
  std::int64_t lines_miscounted = 0;
};

// order.db `idempotency_keys`.
struct IdempotencyRow {
  std::string user_id;
  std::string key;
  std::string order_id;  // empty while the first request with the key is in flight
};

// payment.db `payments`.
struct PaymentRow {
  std::string payment_id;
  std::string order_id;
  std::string status;  // PENDING, SUCCEEDED, FAILED, CANCELED
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string intent_id;  // empty when the provider was never reached
};

// payment.db `outbox`: one callback to the order service.
struct OutboxRow {
  std::int64_t id = 0;
  std::string order_id;
  std::string event_id;
  std::string trace_id;
  bool finished = false;
  std::string verdict;
  std::int64_t attempts = 0;
};

// provider.db `intents`: a `succeeded` intent is a capture, money taken from the shopper.
struct IntentRow {
  std::string intent_id;
  std::string payment_id;
  std::int64_t amount_cents = 0;
  std::string currency;
  std::string status;  // requires_payment, succeeded, failed, canceled
  std::string event_id;
};

// provider.db `events`: one settled event (its type, payment, amount and currency from the
// stored, signed body).
struct EventRow {
  std::string event_id;
  std::string intent_id;
  std::string type;  // payment.succeeded, payment.failed
  bool delivered = false;
  std::int64_t attempts = 0;
  std::string payment_id;
  std::int64_t amount_cents = 0;
  std::string currency;
};

// payment.db `transactions`: the shop's ledger of the provider events it received.
struct TransactionRow {
  std::string event_id;
  std::string payment_id;
  std::string type;  // payment.succeeded, payment.failed
  std::int64_t amount_cents = 0;
  std::string currency;
};

struct BreakerRow {
  std::string service;  // whose admin plane reported it
  std::string edge;     // order->catalog
  std::string state;    // CLOSED, OPEN, HALF_OPEN, ...
};

// Everything the checkers read. A `have_*` flag is false when that source could not be read
// (a database on another machine, an admin plane that did not answer): the invariants that
// need it are then "not checked", never passed.
struct World {
  bool have_orders = false, have_payments = false, have_provider = false, have_breakers = false;
  bool have_history = false;
  std::vector<OrderRow> orders;
  std::vector<IdempotencyRow> idempotency;
  std::vector<PaymentRow> payments;
  std::vector<OutboxRow> outbox;
  std::set<std::string> recorded_events;     // payment.db `transactions`: events the shop received
  std::vector<TransactionRow> transactions;  // the same rows, whole
  // Events provider.db says were delivered that payment.db's first read lacked but a second
  // read, after provider.db's, has: recorded while the files were read (a running shop's).
  std::set<std::string> recorded_after_read;
  // Payments that intents in provider.db name, which payment.db's first read lacked but a
  // second read, after provider.db's, has: opened while the files were read.
  std::set<std::string> payments_after_read;
  std::vector<IntentRow> intents;
  std::vector<EventRow> events;
  std::vector<BreakerRow> breakers;
  std::vector<load::Operation> history;  // the shoppers' operations
  // Process deaths chaos did not cause ("exit status 1 at 12.3s"); empty when it never died.
  std::vector<std::string> unexpected_deaths;
  bool watched_process = false;  // false: nobody could watch (a --target shop)
};

enum class Outcome { passed, failed, not_checked };

struct Verdict {
  std::string name;       // orders-settled
  std::string statement;  // "every order ends PAID or FAILED"
  Outcome outcome = Outcome::passed;
  std::size_t checked = 0;            // how many things were looked at
  std::vector<std::string> evidence;  // one line per violation: ids and trace ids
  std::size_t unlisted = 0;           // violations past the evidence kept, counted
  std::string note;                   // why it was not checked, or what passed with a remark
};

// Each checker: one invariant of docs/chaos.md.
Verdict check_orders_settled(const World& w);         // no PAYMENT_PENDING left
Verdict check_paid_iff_captured(const World& w);      // PAID <=> one capture of the same amount
Verdict check_no_double_capture(const World& w);      // an order/payment captured at most once
Verdict check_no_capture_for_failed(const World& w);  // no capture stands for a FAILED order
Verdict check_sums_match(const World& w);             // sum of captures = sum of PAID totals
Verdict check_payments_agree(const World& w);  // payment.db agrees with order.db and provider.db
Verdict check_ledger_agrees(const World& w);   // payment.db's ledger and the provider's events
Verdict check_answers_agree(const World& w);   // what shoppers saw agrees with the end
Verdict check_idempotency(const World& w);     // a key names one order
Verdict check_one_order_per_cart(const World& w);   // one checkout attempt, at most one order
Verdict check_callbacks_delivered(const World& w);  // provider events and outbox all done
Verdict check_breakers_closed(const World& w);      // no breaker OPEN after healing
Verdict check_no_unexpected_5xx(const World& w);    // only the documented 503/504
Verdict check_process_alive(const World& w);        // no death chaos did not cause

// Every checker above, in that order.
std::vector<Verdict> check_all(const World& w);

std::string_view to_string(Outcome o);

// An answer the API documents as a 5xx: 503 or 504 in the error shape (an unavailable
// dependency, a timeout, an injected fault). Anything else at 500+ is a defect.
bool is_documented_5xx(int status, const nlohmann::json& body);

}  // namespace shopctl::chaos
