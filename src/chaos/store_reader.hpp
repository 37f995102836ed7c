#pragma once
// Reads the money rows of a shop's SQLite files for the chaos checkers, read-only
// (`file:...?mode=ro`): the observer never writes, never creates a file, and never asks a
// service what it believes. Only the tables and columns the checkers need are read, so a
// column another change adds does not break it.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "chaos/invariants.hpp"

namespace shopctl::chaos {

struct DatabaseFiles {
  std::filesystem::path order;     // order.db
  std::filesystem::path payment;   // payment.db
  std::filesystem::path provider;  // provider.db
};

// The three files inside a shop's data folder.
DatabaseFiles files_in(const std::filesystem::path& data_dir);

// Fills the rows of `world` from the files that can be opened and sets its have_* flags;
// a file that cannot be read adds a line to `problems` ("payment.db: unable to open") and
// leaves its flag false, so the invariants that need it are reported as not checked.
void load_databases(const DatabaseFiles& files, World& world, std::vector<std::string>& problems);

// Counts of what is still in flight, for the quiescence wait: orders PAYMENT_PENDING,
// outbox callbacks unfinished, provider events undelivered. -1 for a count that could not
// be read.
struct InFlight {
  long pending_orders = -1;
  long payments_to_cancel = -1;  // of FAILED payment_unavailable orders (payment_cancel_due)
  long unfinished_callbacks = -1;
  long undelivered_events = -1;
  // Payments PENDING with no intent (the provider refused or could not be reached): payment
  // ends each once it has been untouched a while (PaymentStore::take_unopened). They were not
  // counted, and a folder a shop left with some said "quiescent" above a payments-agree
  // failure that read as a loss (an outside probe).
  long unopened_payments = -1;
  bool quiet() const {
    return pending_orders == 0 && payments_to_cancel == 0 && unfinished_callbacks == 0 &&
           undelivered_events == 0 && unopened_payments == 0;
  }
};
InFlight count_in_flight(const DatabaseFiles& files);

// What the three money databases say differently at a start, never the result of a crash (an
// order is durable before its payment can be paid, and a capture before its webhook): what a
// database restored from an older backup, a -wal damaged or removed, or a file removed leaves
// (docs/money.md). Read-only; nothing when no file is there yet (a new shop).
//  - captures with no order: an intent captured (`succeeded`) whose payment payment.db does not
//    hold, or whose order order.db does not;
//  - PAID orders with no capture: the provider holds no captured intent of their payment;
//  - FAILED orders with an intent that can still be paid (`requires_payment`): a shopper with
//    its link would pay for an order that failed (a damaged provider -wal reopened two);
//  - a database missing beside others that hold money (provider.db removed: no start said so).
struct Orphans {
  std::size_t captures = 0;       // captured intents with no order
  std::int64_t amount_cents = 0;  // what they took, in all
  std::string currency;           // of the first one
  std::string example;            // "intent pi_... for payment pay_... (order o_...)"
  std::size_t paid_uncaptured = 0;
  std::string paid_example;  // "order ord_... (payment pay_...)"
  std::size_t failed_payable = 0;
  std::string failed_example;  // "order ord_... (intent pi_...)"
  std::string missing;         // "provider.db (order.db holds 3 PAID orders)"
  // Captures whose payment payment.db lacks while order.db names it on an order: payment.db is
  // the stale one (they were said as money in no order).
  std::size_t payments_missing = 0;
  std::string payments_example;  // "payment pay_... of order ord_... (PAID)"
  bool any() const {
    return captures > 0 || paid_uncaptured > 0 || failed_payable > 0 || !missing.empty() ||
           payments_missing > 0;
  }
};
Orphans find_orphan_captures(const DatabaseFiles& files);
// "3 orders PAYMENT_PENDING, 0 callbacks unfinished, 1 provider events undelivered"; a count
// that could not be read (-1) says so.
std::string describe(const InFlight& left);

}  // namespace shopctl::chaos
