// The chaos checkers: each catches a planted violation and passes a clean history.
#include <doctest/doctest.h>

#include <limits>

#include <algorithm>
#include <map>
#include <string>

#include "chaos/invariants.hpp"
#include "chaos/report.hpp"
#include "chaos/runner.hpp"
#include "chaos/schedule.hpp"

namespace {

using namespace shopctl::chaos;
using shopctl::load::Operation;

Operation op(std::string route, int status, nlohmann::json body, std::string attempt = "r-0-0",
             std::string key = "", std::string trace = "trace-1") {
  Operation o;
  o.email = "shopper-0@load.test";
  o.journey = "checkout";
  o.attempt = std::move(attempt);
  o.route = std::move(route);
  o.status = status;
  o.body = std::move(body);
  o.idempotency_key = std::move(key);
  o.trace_id = std::move(trace);
  return o;
}

// A shop after a clean run: one paid order (captured once, delivered), one declined order.
World clean_world() {
  World w;
  w.have_orders = w.have_payments = w.have_provider = w.have_breakers = w.have_history = true;
  w.watched_process = true;
  w.orders = {
      {"ord-1", "usr-1", "PAID", 2500, "EUR", "pay-1", "", "SUCCEEDED", 2500, 0},
      {"ord-2", "usr-1", "FAILED", 1000, "EUR", "pay-2", "card_declined", "FAILED", 1000, 0}};
  w.idempotency = {{"usr-1", "key-1", "ord-1"}, {"usr-1", "key-2", "ord-2"}};
  w.payments = {{"pay-1", "ord-1", "SUCCEEDED", 2500, "EUR", "pi-1"},
                {"pay-2", "ord-2", "FAILED", 1000, "EUR", "pi-2"}};
  w.outbox = {{1, "ord-1", "evt-1", "t1", true, "applied", 1},
              {2, "ord-2", "evt-2", "t2", true, "applied", 1}};
  w.recorded_events = {"evt-1", "evt-2"};
  w.intents = {{"pi-1", "pay-1", 2500, "EUR", "succeeded", "evt-1"},
               {"pi-2", "pay-2", 1000, "EUR", "failed", "evt-2"}};
  w.events = {{"evt-1", "pi-1", "payment.succeeded", true, 1, "pay-1", 2500, "EUR"},
              {"evt-2", "pi-2", "payment.failed", true, 1, "pay-2", 1000, "EUR"}};
  w.transactions = {{"evt-1", "pay-1", "payment.succeeded", 2500, "EUR"},
                    {"evt-2", "pay-2", "payment.failed", 1000, "EUR"}};
  w.breakers = {{"order", "order->catalog", "CLOSED"},
                {"payment", "payment->provider", "HALF_OPEN"}};
  w.history = {
      op("POST /api/orders", 201, {{"order_id", "ord-1"}}, "r-0-0", "key-1"),
      op("POST {pay_url}", 200, {{"intent_id", "pi-1"}, {"status", "succeeded"}}, "r-0-0"),
      op("GET /api/orders/{id}", 200, {{"order_id", "ord-1"}, {"status", "PAID"}}, "r-0-0"),
      op("POST /api/orders", 201, {{"order_id", "ord-2"}}, "r-0-1", "key-2"),
      op("POST {pay_url}", 200, {{"intent_id", "pi-2"}, {"status", "failed"}}, "r-0-1"),
      op("GET /api/orders/{id}", 200, {{"order_id", "ord-2"}, {"status", "FAILED"}}, "r-0-1"),
      op("POST /api/orders", 503, {{"error", {{"code", "payment_unavailable"}}}}, "r-0-2", "key-3"),
  };
  return w;
}

bool mentions(const Verdict& v, const std::string& text) {
  return std::any_of(v.evidence.begin(), v.evidence.end(),
                     [&](const std::string& e) { return e.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("every chaos invariant passes a clean history") {
  auto verdicts = check_all(clean_world());
  CHECK(verdicts.size() == 14);
  for (const auto& v : verdicts) {
    INFO(v.name << ": " << (v.evidence.empty() ? v.note : v.evidence.front()));
    CHECK(v.outcome == Outcome::passed);
    CHECK(v.checked > 0);
  }
}

// payment.db contradicting order.db and provider.db (its status FAILED, or its amount 1 cent,
// for an order PAID and captured) passed every check: it is the only record that money was
// taken.
TEST_CASE("chaos reports a payment that contradicts its order or its intent") {
  auto w = clean_world();
  w.payments[0].status = "FAILED";
  auto v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "order ord-1 is PAID but payment pay-1 is FAILED"));
  CHECK(mentions(v, "payment pay-1 is FAILED but intent pi-1 captured"));
  w = clean_world();
  w.payments[0].amount_cents = 1;
  v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "payment pay-1 is for 0.01 EUR but order ord-1 totals 25.00 EUR"));
  w = clean_world();
  w.intents[0].status = "canceled";
  CHECK(
      mentions(check_payments_agree(w), "payment pay-1 is SUCCEEDED but intent pi-1 is canceled"));
}

// A capture of an intent payment never recorded (payments.intent_id NULL: the provider's answer
// was lost after it saved the intent) was looked up by the recorded id: a SUCCEEDED payment read
// "no intent of it exists" although its intent existed and was captured, and a FAILED one with
// a captured intent passed. The provider's intents are found by the payment's id, as
// orders-settled finds them.
TEST_CASE("payments-agree finds a payment's intents by payment id, recorded or not") {
  auto w = clean_world();
  w.payments[0].intent_id.clear();
  CHECK(check_payments_agree(w).outcome == Outcome::passed);
  w.payments[0].status = "FAILED";
  auto failed = check_payments_agree(w);
  CHECK(failed.outcome == Outcome::failed);
  CHECK(mentions(failed,
                 "payment pay-1 is FAILED but intent pi-1 captured 25.00 EUR (payment recorded "
                 "no intent for it)"));
  w.payments[0].status = "SUCCEEDED";
  w.intents[0].status = "requires_payment";
  auto uncaptured = check_payments_agree(w);
  CHECK(uncaptured.outcome == Outcome::failed);
  CHECK(mentions(uncaptured, "payment pay-1 is SUCCEEDED but intent pi-1 is requires_payment"));
  CHECK_FALSE(mentions(uncaptured, "no intent of it exists"));
  w.intents.erase(w.intents.begin());
  CHECK(mentions(check_payments_agree(w), "payment pay-1 is SUCCEEDED but no intent of it exists"));
}

// A payment the provider refused to open stayed PENDING for ever beside its FAILED order.
TEST_CASE("payments-agree reports a FAILED order whose payment is still PENDING") {
  auto w = clean_world();
  w.orders.push_back({"ord-3", "usr-1", "FAILED", 700, "EUR", "", "payment_unavailable"});
  w.payments.push_back({"pay-3", "ord-3", "PENDING", 700, "EUR", ""});
  auto v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "order ord-3 is FAILED but payment pay-3 is still PENDING (with no intent)"));
  for (const char* ended : {"FAILED", "CANCELED"}) {
    w.payments.back().status = ended;
    CHECK(check_payments_agree(w).outcome == Outcome::passed);
  }
}

// A payment whose order row was lost passed (an outside probe deleted a FAILED order's row:
// `chaos --check` found nothing).
TEST_CASE("payments-agree reports a payment whose order does not exist") {
  auto w = clean_world();
  w.orders.erase(w.orders.begin() + 1);  // ord-2, FAILED; its payment pay-2 stays
  auto v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(
      v, "payment pay-2 (FAILED, 10.00 EUR) is for order ord-2, which order.db does not have"));
}

// A PAID order's payment row deleted: payments-agree passed (only paid-iff-captured failed,
// saying no intent was captured while naming the captured intent as orphaned; a probe).
TEST_CASE("payments-agree reports a PAID order whose payment is gone") {
  auto w = clean_world();
  w.payments.erase(w.payments.begin());  // pay-1, of the PAID ord-1
  auto v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v,
                 "order ord-1 is PAID (25.00 EUR) but payment.db has no payment for it (its "
                 "payment was pay-1)"));
  auto paid = check_paid_iff_captured(w);
  CHECK(mentions(paid,
                 "order ord-1 is PAID (25.00 EUR) but payment.db has no payment for it, so "
                 "no capture is tied to it"));
  CHECK(mentions(paid,
                 "intent pi-1 captured 25.00 EUR for payment pay-1, which payment.db does "
                 "not have"));
  CHECK_FALSE(mentions(paid, "no intent was captured"));
}

// orders.payment_id was never read (payment.db's order_id tied payments to orders): a PAID
// order naming no payment, a missing one or another order's, or saying its payment FAILED,
// passed while `serve`'s start found it (an outside probe edited copies of real folders).
TEST_CASE("payments-agree reports an order that names a payment not its own") {
  auto w = clean_world();
  w.orders[0].payment_id = "pay-9";
  auto v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "order ord-1 (PAID) names payment pay-9, which payment.db does not have"));
  w = clean_world();
  w.orders[0].payment_id = "pay-2";
  w.orders[1].payment_id = "pay-1";
  v = check_payments_agree(w);
  CHECK(mentions(v, "order ord-1 (PAID) names payment pay-2, which is order ord-2's"));
  CHECK(mentions(v, "order ord-2 (FAILED) names payment pay-1, which is order ord-1's"));
  w = clean_world();
  w.orders[0].payment_id.clear();
  CHECK(mentions(check_payments_agree(w), "order ord-1 is PAID but names no payment"));
  w = clean_world();
  w.orders[0].payment_status = "FAILED";
  CHECK(mentions(check_payments_agree(w),
                 "order ord-1 is PAID but says its payment pay-1 is FAILED"));
  // A FAILED order that never got a payment names none, and that is fine.
  w = clean_world();
  w.orders[1].payment_id.clear();
  w.orders[1].payment_status.clear();
  w.payments.pop_back();
  w.intents.pop_back();
  w.events.pop_back();
  w.transactions.pop_back();
  w.outbox.pop_back();
  w.recorded_events.erase("evt-2");
  CHECK(check_payments_agree(w).outcome == Outcome::passed);
}

// An order's lines were never read: a line's price raised by a cent beside an unchanged total
// passed (an outside probe).
TEST_CASE("sums-match reports an order whose lines do not add up to its total") {
  auto w = clean_world();
  w.orders[0].lines_total_cents = 2501;
  auto v = check_sums_match(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "order ord-1 totals 25.00 EUR but its lines add up to 25.01 EUR"));
  w = clean_world();
  w.orders[1].lines_miscounted = 1;
  CHECK(mentions(check_sums_match(w),
                 "order ord-2 has 1 line(s) whose total is not its quantity times its unit "
                 "price"));
  // Lines not read (an older reader's world): nothing said of them.
  w = clean_world();
  for (auto& o : w.orders) o.lines_total_cents.reset();
  CHECK(check_sums_match(w).outcome == Outcome::passed);
}

// payment.db's ledger was never read: a capture moved to a FAILED order's payment, its type
// or its amount changed, and a provider event rewritten beside its intent all passed (an
// outside probe edited copies of a chaos run's databases).
TEST_CASE("ledger-agrees reports a ledger row or a provider event that says another thing") {
  auto w = clean_world();
  w.transactions[0].payment_id = "pay-2";  // the capture filed against the declined payment
  auto v = check_ledger_agrees(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v,
                 "records event evt-1 as payment.succeeded of 25.00 EUR for payment pay-2; "
                 "the provider signed it as payment.succeeded of 25.00 EUR for payment pay-1"));
  CHECK(mentions(v, "a capture of 25.00 EUR (event evt-1) for payment pay-2, which is FAILED"));
  w = clean_world();
  w.transactions[0].type = "payment.failed";
  CHECK(mentions(check_ledger_agrees(w), "the provider signed it as payment.succeeded"));
  w = clean_world();
  w.transactions[0].amount_cents = 100;
  v = check_ledger_agrees(w);
  CHECK(
      mentions(v, "a capture of 1.00 EUR (event evt-1) for payment pay-1, which is for 25.00 EUR"));
  // A ledger row the provider never signed, and a payment captured twice in the ledger.
  w = clean_world();
  w.transactions.push_back({"evt-forged", "pay-1", "payment.succeeded", 2500, "EUR"});
  v = check_ledger_agrees(w);
  CHECK(mentions(v,
                 "event evt-forged (payment.succeeded of 25.00 EUR for payment pay-1), which "
                 "provider.db does not hold"));
  CHECK(mentions(v, "records 2 captures for payment pay-1: evt-1, evt-forged"));
  w = clean_world();
  w.transactions[0].payment_id = "pay-9";
  CHECK(mentions(check_ledger_agrees(w), "payment.db holds no such payment"));
  // The provider's own event, rewritten beside its intent.
  w = clean_world();
  w.events[0].type = "payment.failed";
  CHECK(mentions(check_ledger_agrees(w),
                 "provider event evt-1 is payment.failed but its intent pi-1 is succeeded"));
  w = clean_world();
  w.events[0].amount_cents = 9999;
  CHECK(mentions(check_ledger_agrees(w),
                 "provider event evt-1 says payment.succeeded of 99.99 "
                 "EUR for payment pay-1; its intent pi-1 is 25.00 EUR"));
  // A refund, in both files, and a second event for a settled intent: the provider settles an
  // intent once and makes no refunds, so the ledger said net nothing was received for a PAID
  // order and every check passed (an outside probe).
  w = clean_world();
  w.events.push_back({"evt-r", "pi-1", "payment.refunded", true, 1, "pay-1", 2500, "EUR"});
  w.transactions.push_back({"evt-r", "pay-1", "payment.refunded", 2500, "EUR"});
  v = check_ledger_agrees(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(
      mentions(v, "records event evt-r of type payment.refunded, which the provider never sends"));
  CHECK(mentions(v, "provider event evt-r is of type payment.refunded"));
  CHECK(mentions(v,
                 "provider event evt-r (payment.refunded) is for intent pi-1, whose one event "
                 "is evt-1"));
  w = clean_world();
  w.events.push_back({"evt-f", "pi-1", "payment.failed", true, 1, "pay-1", 2500, "EUR"});
  CHECK(mentions(check_ledger_agrees(w),
                 "provider event evt-f (payment.failed) is for intent pi-1, whose one event is "
                 "evt-1: the provider settles an intent once"));
  w = clean_world();
  w.have_provider = false;
  CHECK(check_ledger_agrees(w).outcome == Outcome::not_checked);
}

TEST_CASE("chaos reports an order left PAYMENT_PENDING") {
  auto w = clean_world();
  w.orders.push_back({"ord-3", "usr-1", "PAYMENT_PENDING", 700, "EUR", "", ""});
  auto v = check_orders_settled(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "ord-3"));
}

// A checkout that gave up waiting for payment failed its order at once, while payment went on
// to open the payment: an outside probe paid it later, money taken for a FAILED order, and
// chaos had passed the run.
TEST_CASE("chaos reports a FAILED order whose intent can still be paid") {
  auto w = clean_world();
  w.orders.push_back({"ord-3", "usr-1", "FAILED", 700, "EUR", "", "payment_unavailable"});
  w.payments.push_back({"pay-3", "ord-3", "PENDING", 700, "EUR", "pi-3"});
  w.intents.push_back({"pi-3", "pay-3", 700, "EUR", "requires_payment", ""});
  auto v = check_orders_settled(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v,
                 "ord-3 is FAILED (payment_unavailable) but intent pi-3 of payment pay-3 can "
                 "still be paid"));
  // Canceled on both sides: settled.
  w.payments.back().status = "CANCELED";
  w.intents.back().status = "canceled";
  CHECK(check_orders_settled(w).outcome == Outcome::passed);
  // A payment left PENDING without an intent recorded (payment answered 503: the provider's
  // answer was lost after it saved the intent) whose intent the provider holds, payable: not
  // settled (an outside probe paid one; this check had passed the run).
  w.payments.back().status = "PENDING";
  w.payments.back().intent_id.clear();
  w.intents.back().status = "requires_payment";
  auto unrecorded = check_orders_settled(w);
  CHECK(unrecorded.outcome == Outcome::failed);
  CHECK(mentions(unrecorded,
                 "ord-3 is FAILED (payment_unavailable) but intent pi-3 of payment pay-3 can "
                 "still be paid (payment recorded no intent for it)"));
  // And when the provider holds none (it was down), nothing can be paid: settled.
  w.intents.pop_back();
  CHECK(check_orders_settled(w).outcome == Outcome::passed);
}

// A SUCCEEDED payment that recorded another payment's canceled intent passed (an outside probe).
TEST_CASE("payments-agree reports a payment that records another payment's intent") {
  auto w = clean_world();
  w.payments.front().intent_id = "pi-2";
  auto v = check_payments_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "payment pay-1 records intent pi-2, which is payment pay-2's"));
}

// A capture whose provider event, ledger row and outbox row were removed passed: the ledger was
// one capture short of the money taken (an outside probe).
TEST_CASE("ledger-agrees reports a settled intent whose event provider.db does not hold") {
  auto w = clean_world();
  w.events.erase(w.events.begin());
  w.transactions.erase(w.transactions.begin());
  w.recorded_events.erase("evt-1");
  w.outbox.erase(w.outbox.begin());
  auto v = check_ledger_agrees(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v,
                 "intent pi-1 of payment pay-1 is succeeded (25.00 EUR captured) but "
                 "provider.db holds no event of it (evt-1)"));
  w.intents.front().event_id.clear();
  CHECK(mentions(check_ledger_agrees(w), "but provider.db holds no event of it"));
}

// An intent that can be paid for a payment payment.db lacks passed (its payment row deleted,
// the order's payment_id cleared), and a card was then charged on its pay link (an outside
// probe). One whose payment was opened while the files were read is not counted.
TEST_CASE("orders-settled reports an intent that can be paid for a payment the shop lacks") {
  auto w = clean_world();
  w.intents.push_back({"pi-9", "pay-9", 6900, "EUR", "requires_payment", ""});
  auto v = check_orders_settled(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v,
                 "intent pi-9 (69.00 EUR) can still be paid, but payment.db has no payment "
                 "pay-9 for it"));
  w.payments_after_read.insert("pay-9");
  CHECK(check_orders_settled(w).outcome == Outcome::passed);
  w.payments_after_read.clear();
  w.intents.back().status = "canceled";
  CHECK(check_orders_settled(w).outcome == Outcome::passed);
}

// Half checked is not checked: with payment.db unreadable, orders-settled said PASS while an
// intent of a FAILED order could still be paid (an outside probe). A violation it found stands.
TEST_CASE("orders-settled is not checked when its second half cannot be read") {
  auto w = clean_world();
  w.have_payments = false;
  auto v = check_orders_settled(w);
  CHECK(v.outcome == Outcome::not_checked);
  CHECK(v.note.find("needs payment.db and provider.db") != std::string::npos);
  w.orders.push_back({"ord-3", "usr-1", "PAYMENT_PENDING", 700, "EUR", "", ""});
  CHECK(check_orders_settled(w).outcome == Outcome::failed);
  w.have_payments = true;
  w.have_provider = false;
  w.orders.pop_back();
  CHECK(check_orders_settled(w).outcome == Outcome::not_checked);
}

// Past the evidence kept, the rest are counted ("... and more" did not say how many).
TEST_CASE("a verdict's evidence says how many violations it left out") {
  auto w = clean_world();
  for (int i = 0; i < 30; ++i)
    w.orders.push_back(
        {"ord-x" + std::to_string(i), "usr-1", "PAYMENT_PENDING", 700, "EUR", "", ""});
  auto v = check_orders_settled(w);
  REQUIRE(v.outcome == Outcome::failed);
  CHECK(v.evidence.back() == "... and 10 more");
  CHECK(v.unlisted == 10);
}

TEST_CASE("chaos reports a PAID order without a capture") {
  auto w = clean_world();
  w.intents[0].status = "requires_payment";
  auto v = check_paid_iff_captured(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "ord-1 is PAID"));
  CHECK(check_sums_match(w).outcome == Outcome::failed);
}

TEST_CASE("chaos reports a capture of another amount than the PAID total") {
  auto w = clean_world();
  w.intents[0].amount_cents = 2400;
  CHECK(mentions(check_paid_iff_captured(w), "captured 24.00 EUR"));
  auto sums = check_sums_match(w);
  CHECK(sums.outcome == Outcome::failed);
  CHECK(mentions(sums, "difference -1.00 EUR"));
}

// The provider takes intents up to 2^63 - 1 cents. Summed in 64 bits, captures of 2^63 - 1,
// 2^63 - 1 and 2 wrapped round to 0 and sums-match passed (red before; an outside probe).
TEST_CASE("chaos sums captures without wrapping round") {
  auto w = clean_world();
  const std::int64_t most = std::numeric_limits<std::int64_t>::max();
  w.intents.push_back({"pi-x1", "pay-x1", most, "EUR", "succeeded", ""});
  w.intents.push_back({"pi-x2", "pay-x2", most, "EUR", "succeeded", ""});
  w.intents.push_back({"pi-x3", "pay-x3", 2, "EUR", "succeeded", ""});
  auto sums = check_sums_match(w);
  CHECK(sums.outcome == Outcome::failed);
  CHECK(mentions(sums, "captured 184467440737095541.16 EUR, PAID orders total 25.00 EUR"));
}

TEST_CASE("chaos reports a capture for a FAILED order") {
  auto w = clean_world();
  w.intents[1].status = "succeeded";
  auto v = check_no_capture_for_failed(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "ord-2 is FAILED (card_declined) but intent pi-2"));
  CHECK(check_paid_iff_captured(w).outcome == Outcome::failed);
}

TEST_CASE("chaos reports an intent captured twice and an order with two captures") {
  auto w = clean_world();
  w.events.push_back({"evt-9", "pi-1", "payment.succeeded", true, 1, "pay-1", 2500, "EUR"});
  auto twice = check_no_double_capture(w);
  CHECK(twice.outcome == Outcome::failed);
  CHECK(mentions(twice, "intent pi-1 has 2 payment.succeeded events"));

  auto w2 = clean_world();
  w2.payments.push_back(
      {"pay-9", "ord-1", "SUCCEEDED", 2500, "EUR", "pi-9"});  // a second payment row
  w2.intents.push_back({"pi-9", "pay-9", 2500, "EUR", "succeeded", "evt-9"});
  CHECK(check_no_double_capture(w2).outcome == Outcome::failed);
}

TEST_CASE("chaos reports a capture that no order knows") {
  auto w = clean_world();
  w.intents.push_back({"pi-7", "pay-unknown", 900, "EUR", "succeeded", "evt-7"});
  auto v = check_paid_iff_captured(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "pi-7"));
}

TEST_CASE("chaos reports a 201 order that does not exist") {
  auto w = clean_world();
  w.history.push_back(
      op("POST /api/orders", 201, {{"order_id", "ord-ghost"}}, "r-0-3", "key-4", "trace-ghost"));
  auto v = check_answers_agree(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "ord-ghost was answered 201 (trace trace-ghost)"));
}

TEST_CASE("chaos reports a payment the shopper saw succeed whose order ends FAILED") {
  auto w = clean_world();
  w.history.push_back(
      op("POST {pay_url}", 200, {{"intent_id", "pi-2"}, {"status", "succeeded"}}, "r-0-1"));
  CHECK(mentions(check_answers_agree(w), "ord-2 ends FAILED"));
}

TEST_CASE("chaos reports a settled status the shopper read that later changed") {
  auto w = clean_world();
  w.history.push_back(
      op("GET /api/orders/{id}", 200, {{"order_id", "ord-2"}, {"status", "PAID"}}, "r-0-1"));
  CHECK(mentions(check_answers_agree(w), "read order ord-2 as PAID"));
}

TEST_CASE("chaos reports an Idempotency-Key that named two orders") {
  auto w = clean_world();
  w.orders.push_back({"ord-5", "usr-1", "FAILED", 2500, "EUR", "", "payment_expired"});
  w.history.push_back(
      op("POST /api/orders", 201, {{"order_id", "ord-5"}}, "r-0-0", "key-1", "trace-replay"));
  auto v = check_idempotency(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "key key-1"));
  CHECK(mentions(v, "trace-replay"));
}

TEST_CASE("chaos reports one cart that became two orders") {
  auto w = clean_world();
  w.orders.push_back({"ord-6", "usr-1", "FAILED", 2500, "EUR", "", "payment_expired"});
  w.history.push_back(op("POST /api/orders", 201, {{"order_id", "ord-6"}}, "r-0-0", "key-1-b"));
  auto v = check_one_order_per_cart(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "checkout r-0-0 (one cart) became 2 orders"));

  // From order.db alone: more orders than the shopper started checkouts.
  auto w2 = clean_world();
  w2.orders.push_back({"ord-7", "usr-1", "FAILED", 100, "EUR", "", ""});
  w2.orders.push_back({"ord-8", "usr-1", "FAILED", 100, "EUR", "", ""});
  CHECK(mentions(check_one_order_per_cart(w2), "started 3 checkouts but owns 4 orders"));
}

// Found by `shopctl chaos --crash --duration 45s --seed 5 --users 24`: tab B's first try met
// an injected 503; meanwhile tab A ordered the cart (p-044) and a late decline of an older
// order put its lines (p-017, p-010) back into the cart; B's retry ordered those. Two orders
// for one checkout, but from two contents of the cart: no product in common.
TEST_CASE("two orders of one checkout with no product in common are two carts, not one") {
  auto w = clean_world();
  const nlohmann::json first = {{"order_id", "ord-a"}, {"items", {{{"product_id", "p-044"}}}}};
  const nlohmann::json second = {{"order_id", "ord-b"},
                                 {"items", {{{"product_id", "p-017"}}, {{"product_id", "p-010"}}}}};
  w.history.push_back(op("POST /api/orders", 201, first, "r-9-0", "key-9-a"));
  w.history.push_back(op("POST /api/orders", 201, second, "r-9-0", "key-9-b"));
  auto v = check_one_order_per_cart(w);
  CHECK_FALSE(mentions(v, "checkout r-9-0"));
  // The same product in both: one cart became two orders.
  w.history.back().body["items"].push_back({{"product_id", "p-044"}});
  CHECK(mentions(check_one_order_per_cart(w), "checkout r-9-0 (one cart) became 2 orders"));
}

// Found by `shopctl chaos --seed 7` (two tabs): tab A's checkout failed with 503
// payment_unavailable (its order FAILED, the cart restored at once), then tab B checked the
// restored cart out. One attempt, two rows in order.db, and nothing wrong: only one of them
// could ever be paid.
TEST_CASE("a checkout failed before payment does not count against the shopper's checkouts") {
  auto w = clean_world();
  auto baseline = check_one_order_per_cart(w);
  REQUIRE(baseline.outcome == Outcome::passed);
  w.orders.push_back({"ord-7", "usr-1", "FAILED", 100, "EUR", "", "payment_unavailable"});
  w.orders.push_back({"ord-8", "usr-1", "FAILED", 100, "EUR", "pay-8", "checkout_interrupted"});
  CHECK(check_one_order_per_cart(w).outcome == Outcome::passed);
  // Orders that could be paid still count.
  w.orders.push_back({"ord-9", "usr-1", "FAILED", 100, "EUR", "pay-9", "payment_declined"});
  w.orders.push_back({"ord-10", "usr-1", "PAYMENT_PENDING", 100, "EUR", "pay-10", ""});
  CHECK(mentions(check_one_order_per_cart(w), "started 3 checkouts but owns 4 orders"));
}

TEST_CASE("chaos reports an undelivered provider event and an unfinished callback") {
  auto w = clean_world();
  w.events[0].delivered = false;
  w.events[0].attempts = 9;
  w.recorded_events.erase("evt-1");  // the shop never received it
  w.outbox[1].finished = false;
  auto v = check_callbacks_delivered(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "evt-1"));
  CHECK(mentions(v, "order ord-2"));
}

// The shop answers a webhook 2xx once it has recorded the event: a delivered event payment.db
// does not have is a lost record (both its rows deleted passed; an outside probe). One
// recorded while the files were read (seen by the second read) is not.
TEST_CASE("callbacks-delivered reports a delivered event payment.db lost") {
  auto w = clean_world();
  w.recorded_events.erase("evt-1");
  w.outbox.erase(w.outbox.begin());
  auto v = check_callbacks_delivered(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v,
                 "provider event evt-1 (payment.succeeded, intent pi-1) was delivered, but "
                 "payment.db has no record of it"));
  w.recorded_after_read.insert("evt-1");
  CHECK(check_callbacks_delivered(w).outcome == Outcome::passed);
}

// Payment records an event with its callback in one transaction: a recorded event with no
// callback row passed (an outside probe deleted the row).
TEST_CASE("chaos reports an event payment recorded with no callback for it") {
  auto w = clean_world();
  REQUIRE_FALSE(w.outbox.empty());
  const std::string event = w.outbox.front().event_id;
  REQUIRE(w.recorded_events.count(event));
  w.outbox.erase(w.outbox.begin());
  auto v = check_callbacks_delivered(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "payment recorded event " + event + " but holds no callback for it"));
}

TEST_CASE("chaos reports a callback the order service refused and payment gave up") {
  // It counted as finished: a paid order's result dropped after a 401 passed the invariant.
  auto w = clean_world();
  w.outbox[0].verdict = "rejected";
  auto v = check_callbacks_delivered(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "order ord-1"));
  CHECK(mentions(v, "refused"));
  w.outbox[0].verdict = "conflict";  // the order refusing a contradicting result on purpose
  CHECK(check_callbacks_delivered(w).outcome == Outcome::passed);
}

TEST_CASE(
    "an event the shop recorded counts as delivered even when the provider lost its record of it") {
  auto w = clean_world();
  w.recorded_events = {"evt-1", "evt-2"};
  w.events[0].delivered = false;
  auto v = check_callbacks_delivered(w);
  CHECK(v.outcome == Outcome::passed);
  CHECK(v.note.find("1 event(s)") != std::string::npos);
  w.recorded_events.erase("evt-1");
  CHECK(check_callbacks_delivered(w).outcome == Outcome::failed);
}

TEST_CASE("chaos reports a breaker left OPEN") {
  auto w = clean_world();
  w.breakers[0].state = "OPEN";
  auto v = check_breakers_closed(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(mentions(v, "order->catalog"));
}

TEST_CASE("chaos reports a 5xx the API does not document, and lets a 503 in the error shape pass") {
  auto w = clean_world();
  CHECK(check_no_unexpected_5xx(w).outcome == Outcome::passed);
  w.history.push_back(op("GET /api/orders/{id}", 500, nlohmann::json::value_t::discarded, "r-0-3",
                         "", "trace-500"));
  w.history.push_back(op("POST /api/orders", 503, "not the error shape", "r-0-3"));
  auto v = check_no_unexpected_5xx(w);
  CHECK(v.outcome == Outcome::failed);
  CHECK(v.evidence.size() == 2);
  CHECK(mentions(v, "trace-500"));
}

TEST_CASE("chaos reports a death of the shop it did not cause") {
  auto w = clean_world();
  w.unexpected_deaths.push_back("shopctl serve (pid 42) killed by signal Segmentation fault");
  CHECK(check_process_alive(w).outcome == Outcome::failed);
}

TEST_CASE("an invariant whose source could not be read is not checked, never passed") {
  auto w = clean_world();
  w.have_provider = false;
  w.have_breakers = false;
  w.watched_process = false;
  CHECK(check_paid_iff_captured(w).outcome == Outcome::not_checked);
  CHECK(check_sums_match(w).outcome == Outcome::not_checked);
  CHECK(check_breakers_closed(w).outcome == Outcome::not_checked);
  CHECK(check_process_alive(w).outcome == Outcome::not_checked);
  // Its first half reads order.db alone; its second needs provider.db: half checked is not
  // checked (it said passed; an outside probe).
  CHECK(check_orders_settled(w).outcome == Outcome::not_checked);
}

TEST_CASE("the chaos schedule is the same for a seed and differs between seeds") {
  ScheduleOptions o;
  o.seed = 7;
  o.duration = std::chrono::seconds(45);
  o.kill_process = true;
  auto a = make_schedule(o), b = make_schedule(o);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_json() == b[i].to_json());
  o.seed = 8;
  auto c = make_schedule(o);
  bool differs = c.size() != a.size();
  for (std::size_t i = 0; !differs && i < a.size(); ++i) differs = a[i].to_json() != c[i].to_json();
  CHECK(differs);
}

TEST_CASE(
    "the chaos schedule kills the process several times, and ends every fault and stop in time") {
  ScheduleOptions o;
  o.seed = 3;
  o.duration = std::chrono::seconds(60);
  o.kill_process = true;
  auto events = make_schedule(o);
  int kills = 0, on = 0, off = 0, stops = 0, starts = 0;
  std::chrono::milliseconds clock{0};
  for (const auto& e : events) {
    CHECK(e.at_s <= 60 * 0.85 + 1e-9);
    kills += e.kind == EventKind::kill_process;
    on += e.kind == EventKind::fault_on;
    off += e.kind == EventKind::fault_off;
    stops += e.kind == EventKind::stop || e.kind == EventKind::crash_service;
    starts += e.kind == EventKind::start;
    if (e.kind == EventKind::clock_advance) clock += e.advance;
  }
  CHECK(kills >= 2);
  CHECK(on > 0);
  CHECK(on == off);
  CHECK(stops == starts);
  CHECK(clock <= o.clock_budget);
}

TEST_CASE("chaos faults cover every fault type and reach every edge of the call graph") {
  std::set<std::string> types;
  for (const auto& edge : fault_edges())
    for (const auto& type : fault_types()) {
      auto f = fault_on_edge(edge, type, 0.5, "x", 1);
      CHECK(f["target"] == edge.callee);
      types.insert(f["type"].get<std::string>());
    }
  CHECK(types.size() == 7);
  CHECK(fault_edges().size() >= 9);
}

// --print-schedule's "off" lines named the fault ("fault chaos-1 off") that no "on" line showed
// ("fault reset on gateway->auth p=0.71"): with faults overlapping, which one an "off" ended
// could not be told.
TEST_CASE("each chaos fault's on line names the id that its off line names") {
  ScheduleOptions o;
  o.seed = 3;
  o.duration = std::chrono::seconds(60);
  std::map<std::string, std::string> on_line;  // fault id -> its "on" line
  int offs = 0;
  for (const auto& e : make_schedule(o)) {
    if (e.kind == EventKind::fault_on) {
      CHECK(e.describe().rfind("fault " + e.fault_id + " " + e.fault_type + " on " + e.edge, 0) ==
            0);
      on_line[e.fault_id] = e.describe();
    } else if (e.kind == EventKind::fault_off) {
      ++offs;
      CHECK(e.describe() == "fault " + e.fault_id + " off");
      CHECK(on_line.count(e.fault_id) == 1);
    }
  }
  CHECK(offs > 1);
  CHECK(on_line.size() == static_cast<std::size_t>(offs));
}

// The probe shoppers' unexpected answers were counted on the console ("1 not as expected") and
// named only in the JSON (an outside probe).
TEST_CASE("the chaos console names the probe shoppers' unexpected answers") {
  shopctl::chaos::ChaosResult r;
  r.probe.emplace();
  r.probe->users = 2;
  r.probe->errors_by_code["503 catalog_unavailable"] = 1;
  const std::string text = shopctl::chaos::text_report(r);
  const auto probe_at = text.find("Probe shoppers after healing");
  REQUIRE(probe_at != std::string::npos);
  CHECK(text.find("answers not as expected: 503 catalog_unavailable x1", probe_at) !=
        std::string::npos);
}

// --check on a folder a SIGKILL left: its failures read as a loss, with only "NOT quiescent"
// above to tell them apart (an outside probe). The failures are followed by what to do.
TEST_CASE("chaos --check on a folder not quiescent says its failures may be money in flight") {
  shopctl::chaos::ChaosResult r;
  r.files_only = true;
  r.quiescent = false;
  shopctl::chaos::Verdict failed;
  failed.name = "callbacks-delivered";
  failed.statement = "every payment result reached the order service";
  failed.outcome = shopctl::chaos::Outcome::failed;
  r.verdicts.push_back(failed);
  const std::string hint = "money still in flight fails these invariants as a loss would";
  CHECK(shopctl::chaos::text_report(r).find(hint) != std::string::npos);
  r.quiescent = true;  // settled: a failure is a failure
  CHECK(shopctl::chaos::text_report(r).find(hint) == std::string::npos);
  r.quiescent = false;
  r.verdicts.front().outcome = shopctl::chaos::Outcome::passed;  // nothing failed: nothing to say
  CHECK(shopctl::chaos::text_report(r).find(hint) == std::string::npos);
}
