#include "chaos/invariants.hpp"

#include <map>

namespace shopctl::chaos {

namespace {

// Evidence lists stay readable: the first violations in full, then a count.
constexpr std::size_t kMaxEvidence = 20;

Verdict make(std::string name, std::string statement) {
  Verdict v;
  v.name = std::move(name);
  v.statement = std::move(statement);
  return v;
}

void violation(Verdict& v, std::string line) {
  v.outcome = Outcome::failed;
  if (v.evidence.size() < kMaxEvidence) {
    v.evidence.push_back(std::move(line));
    return;
  }
  // How many are left out, counted ("... and more" did not say: 10 or 10,000).
  ++v.unlisted;
  if (v.evidence.size() == kMaxEvidence) v.evidence.emplace_back();
  v.evidence.back() = "... and " + std::to_string(v.unlisted) + " more";
}

Verdict not_checked(Verdict v, std::string why) {
  v.outcome = Outcome::not_checked;
  v.note = std::move(why);
  return v;
}

// Sums of amounts are 128-bit: the provider takes intents up to 2^63 - 1 cents, and two such
// captures summed in 64 bits wrapped round to "captured -0.02 EUR" (an outside probe), which
// chosen amounts could make equal to the PAID orders' total.
using Sum = __int128;

std::string digits(unsigned __int128 n) {
  std::string out;
  do {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(n % 10)));
    n /= 10;
  } while (n != 0);
  return out;
}

std::string money(Sum cents, const std::string& currency) {
  const bool negative = cents < 0;
  const unsigned __int128 abs =
      negative ? -static_cast<unsigned __int128>(cents) : static_cast<unsigned __int128>(cents);
  auto rest = digits(abs % 100);
  return (negative ? "-" : "") + digits(abs / 100) + "." + (rest.size() < 2 ? "0" : "") + rest +
         (currency.empty() ? "" : " " + currency);
}

std::string with_trace(const std::string& trace) {
  return trace.empty() ? "" : " (trace " + trace + ")";
}

// The joins every money checker needs: payment by order, captures by order.
struct Joined {
  std::map<std::string, const OrderRow*> orders;              // by order_id
  std::map<std::string, const PaymentRow*> payments;          // by payment_id
  std::map<std::string, const PaymentRow*> payment_of_order;  // by order_id
  std::map<std::string, const IntentRow*> intents;            // by intent_id
  std::map<std::string, std::vector<const IntentRow*>> captures_of_order;
  std::vector<const IntentRow*> orphan_captures;  // no payment or no order knows them

  explicit Joined(const World& w) {
    for (const auto& o : w.orders) orders[o.order_id] = &o;
    for (const auto& p : w.payments) {
      payments[p.payment_id] = &p;
      payment_of_order[p.order_id] = &p;
    }
    for (const auto& i : w.intents) {
      intents[i.intent_id] = &i;
      if (i.status != "succeeded") continue;
      auto p = payments.find(i.payment_id);
      if (p == payments.end() || !orders.count(p->second->order_id)) {
        orphan_captures.push_back(&i);
        continue;
      }
      captures_of_order[p->second->order_id].push_back(&i);
    }
  }
  const std::vector<const IntentRow*>& captures(const std::string& order_id) const {
    static const std::vector<const IntentRow*> none;
    auto it = captures_of_order.find(order_id);
    return it == captures_of_order.end() ? none : it->second;
  }
};

bool have_money(const World& w) {
  return w.have_orders && w.have_payments && w.have_provider;
}
const char* kNeedMoney = "needs order.db, payment.db and provider.db";

std::string error_code(const nlohmann::json& body) {
  if (body.is_object() && body.contains("error") && body["error"].is_object())
    return body["error"].value("code", std::string());
  return "";
}

std::string string_field(const nlohmann::json& body, const char* name) {
  if (body.is_object() && body.contains(name) && body[name].is_string())
    return body[name].get<std::string>();
  return "";
}

// The two types of event the simulated provider sends.
bool known_event_type(const std::string& type) {
  return type == "payment.succeeded" || type == "payment.failed";
}

}  // namespace

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::passed:
      return "PASS";
    case Outcome::failed:
      return "FAIL";
    case Outcome::not_checked:
      return "NOT CHECKED";
  }
  return "?";
}

bool is_documented_5xx(int status, const nlohmann::json& body) {
  return (status == 503 || status == 504) && !error_code(body).empty();
}

Verdict check_orders_settled(const World& w) {
  auto v = make("orders-settled",
                "every order ends PAID or FAILED; none stays PAYMENT_PENDING, and no intent of a "
                "FAILED order, or of a payment the shop does not hold, can still be paid");
  if (!w.have_orders) return not_checked(v, "needs order.db");
  for (const auto& o : w.orders) {
    ++v.checked;
    if (o.status == "PAID" || o.status == "FAILED") continue;
    violation(v, "order " + o.order_id + " is " + o.status +
                     (o.payment_id.empty() ? " with no payment recorded"
                                           : " (payment " + o.payment_id + ")"));
  }
  // A FAILED order whose intent stayed payable: a checkout that gave up waiting for payment
  // (payment_unavailable) while payment went on to open the payment and its intent. Anyone
  // with its pay link could pay for an order that failed (found by an outside probe). The
  // provider's intents are looked up by the payment's id, not by the intent id payment
  // recorded: a payment left PENDING without one (payment answered 503 provider_unavailable
  // because the provider's answer was lost after it saved the intent) had a payable intent
  // that this did not see (another probe).
  // Half checked is not checked: it said PASS while an intent of a FAILED order could still be
  // paid in a payment.db it could not read (an outside probe). A violation found stands.
  if (!w.have_payments || !w.have_provider) {
    if (v.outcome == Outcome::failed) return v;
    return not_checked(v,
                       "its second part (no intent of a FAILED order can still be paid) "
                       "needs payment.db and provider.db; every order was PAID or FAILED");
  }
  Joined j(w);
  std::multimap<std::string, const IntentRow*> intents_of_payment;
  for (const auto& i : w.intents) intents_of_payment.emplace(i.payment_id, &i);
  // An intent that can still be paid for a payment payment.db does not hold: money the shop
  // would take for no order it knows (its payment row lost, or removed). Found only through
  // payment.db's payments, it passed, and a card was charged on its pay link (an outside probe).
  std::set<std::string> payment_ids;
  for (const auto& p : w.payments) payment_ids.insert(p.payment_id);
  for (const auto& i : w.intents) {
    if (i.status != "requires_payment" || payment_ids.count(i.payment_id) ||
        w.payments_after_read.count(i.payment_id))
      continue;
    ++v.checked;
    violation(v, "intent " + i.intent_id + " (" + money(i.amount_cents, i.currency) +
                     ") can still be paid, but payment.db has no payment " + i.payment_id +
                     " for it");
  }
  for (const auto& p : w.payments) {
    auto o = j.orders.find(p.order_id);
    if (o == j.orders.end() || o->second->status != "FAILED") continue;
    ++v.checked;
    const auto [first, last] = intents_of_payment.equal_range(p.payment_id);
    for (auto i = first; i != last; ++i) {
      if (i->second->status != "requires_payment") continue;
      violation(v, "order " + p.order_id + " is FAILED" +
                       (o->second->reason.empty() ? "" : " (" + o->second->reason + ")") +
                       " but intent " + i->second->intent_id + " of payment " + p.payment_id +
                       " can still be paid" +
                       (p.intent_id.empty() ? " (payment recorded no intent for it)" : ""));
    }
  }
  return v;
}

Verdict check_paid_iff_captured(const World& w) {
  auto v = make("paid-iff-captured",
                "an order is PAID if and only if one intent of the same amount was captured");
  if (!have_money(w)) return not_checked(v, kNeedMoney);
  Joined j(w);
  for (const auto& o : w.orders) {
    ++v.checked;
    const auto& caps = j.captures(o.order_id);
    if (o.status == "PAID") {
      if (caps.empty()) {
        // Captures are tied to an order through its payment: without one, a capture of it
        // is "which no order knows" below, not missing.
        violation(v, "order " + o.order_id + " is PAID (" + money(o.total_cents, o.currency) +
                         (j.payment_of_order.count(o.order_id)
                              ? ") but no intent was captured for it"
                              : ") but payment.db has no payment for it, so no capture is tied "
                                "to it"));
      } else if (caps.size() == 1 &&
                 (caps[0]->amount_cents != o.total_cents || caps[0]->currency != o.currency)) {
        violation(v, "order " + o.order_id + " is PAID for " + money(o.total_cents, o.currency) +
                         " but intent " + caps[0]->intent_id + " captured " +
                         money(caps[0]->amount_cents, caps[0]->currency));
      } else if (caps.size() > 1) {
        violation(v, "order " + o.order_id + " is PAID with " + std::to_string(caps.size()) +
                         " captures");
      }
    } else if (!caps.empty()) {
      violation(v, "order " + o.order_id + " is " + o.status + " but intent " + caps[0]->intent_id +
                       " captured " + money(caps[0]->amount_cents, caps[0]->currency));
    }
  }
  for (const auto* i : j.orphan_captures) {
    ++v.checked;
    const auto p = j.payments.find(i->payment_id);
    violation(v, "intent " + i->intent_id + " captured " + money(i->amount_cents, i->currency) +
                     " for payment " + i->payment_id +
                     (p == j.payments.end()
                          ? ", which payment.db does not have"
                          : " of order " + p->second->order_id + ", which order.db does not have"));
  }
  return v;
}

Verdict check_no_double_capture(const World& w) {
  auto v = make("no-double-capture", "no intent is captured twice and no order has two captures");
  if (!have_money(w)) return not_checked(v, kNeedMoney);
  std::map<std::string, int> succeeded_events;
  for (const auto& e : w.events)
    if (e.type == "payment.succeeded") ++succeeded_events[e.intent_id];
  for (const auto& [intent, n] : succeeded_events) {
    ++v.checked;
    if (n > 1)
      violation(v, "intent " + intent + " has " + std::to_string(n) + " payment.succeeded events");
  }
  Joined j(w);
  for (const auto& [order, caps] : j.captures_of_order) {
    ++v.checked;
    if (caps.size() < 2) continue;
    std::string ids;
    for (const auto* c : caps) ids += (ids.empty() ? "" : ", ") + c->intent_id;
    violation(v,
              "order " + order + " was captured " + std::to_string(caps.size()) + " times: " + ids);
  }
  return v;
}

Verdict check_no_capture_for_failed(const World& w) {
  auto v = make("no-capture-for-failed", "no capture stands for a FAILED order");
  if (!have_money(w)) return not_checked(v, kNeedMoney);
  Joined j(w);
  for (const auto& o : w.orders) {
    if (o.status != "FAILED") continue;
    ++v.checked;
    for (const auto* c : j.captures(o.order_id))
      violation(v, "order " + o.order_id + " is FAILED" +
                       (o.reason.empty() ? "" : " (" + o.reason + ")") + " but intent " +
                       c->intent_id + " captured " + money(c->amount_cents, c->currency));
  }
  return v;
}

Verdict check_sums_match(const World& w) {
  auto v = make("sums-match",
                "the sum of captures equals the sum of PAID totals, and each order's total is "
                "the sum of its lines");
  if (!w.have_orders || !w.have_provider) return not_checked(v, "needs order.db and provider.db");
  std::map<std::string, Sum> captured, paid;  // by currency
  for (const auto& i : w.intents)
    if (i.status == "succeeded") {
      captured[i.currency] += i.amount_cents;
      ++v.checked;
    }
  for (const auto& o : w.orders)
    if (o.status == "PAID") {
      paid[o.currency] += o.total_cents;
      ++v.checked;
    }
  // A total is what its lines add up to, each line its quantity times its unit price: a line's
  // price raised by a cent beside an unchanged total passed (an outside probe).
  for (const auto& o : w.orders) {
    if (!o.lines_total_cents) continue;
    ++v.checked;
    if (*o.lines_total_cents != o.total_cents)
      violation(v, "order " + o.order_id + " totals " + money(o.total_cents, o.currency) +
                       " but its lines add up to " + money(*o.lines_total_cents, o.currency));
    if (o.lines_miscounted > 0)
      violation(v, "order " + o.order_id + " has " + std::to_string(o.lines_miscounted) +
                       " line(s) whose total is not its quantity times its unit price, or whose "
                       "price is negative or quantity outside 1 to 99");
  }
  std::set<std::string> currencies;
  for (const auto& [c, _] : captured) currencies.insert(c);
  for (const auto& [c, _] : paid) currencies.insert(c);
  for (const auto& c : currencies) {
    if (captured[c] == paid[c]) continue;
    violation(v, "captured " + money(captured[c], c) + ", PAID orders total " + money(paid[c], c) +
                     " (difference " + money(captured[c] - paid[c], c) + ")");
  }
  return v;
}

// payment.db is the only record that money was taken: it must say what the order and the
// provider say. A payment whose status or amount contradicted both passed every check.
Verdict check_payments_agree(const World& w) {
  auto v = make("payments-agree",
                "each payment's order exists and its amount is the order's total, an order "
                "names its own payment, a PAID order's payment SUCCEEDED, "
                "a FAILED order's payment is not PENDING, and a payment SUCCEEDED if and only if "
                "its intent was captured");
  if (!have_money(w)) return not_checked(v, kNeedMoney);
  Joined j(w);
  std::multimap<std::string, const IntentRow*> intents_of_payment;
  for (const auto& i : w.intents) intents_of_payment.emplace(i.payment_id, &i);
  std::map<std::string, const IntentRow*> intent_by_id;
  for (const auto& i : w.intents) intent_by_id.emplace(i.intent_id, &i);
  for (const auto& p : w.payments) {
    ++v.checked;
    const auto order = j.orders.find(p.order_id);
    // Every payment is made for an order the order service saved first: one whose order is
    // gone is money the shop can no longer account for (an order row deleted passed).
    if (order == j.orders.end())
      violation(v, "payment " + p.payment_id + " (" + p.status + ", " +
                       money(p.amount_cents, p.currency) + ") is for order " + p.order_id +
                       ", which order.db does not have");
    if (order != j.orders.end()) {
      const OrderRow& o = *order->second;
      if (p.amount_cents != o.total_cents || p.currency != o.currency)
        violation(v, "payment " + p.payment_id + " is for " + money(p.amount_cents, p.currency) +
                         " but order " + o.order_id + " totals " +
                         money(o.total_cents, o.currency));
      if (o.status == "PAID" && p.status != "SUCCEEDED")
        violation(
            v, "order " + o.order_id + " is PAID but payment " + p.payment_id + " is " + p.status);
      // A FAILED order's payment is ended too: one the provider refused to open stayed PENDING
      // for ever, with no intent that reconciliation could look up (an outside probe).
      if (o.status == "FAILED" && p.status == "PENDING")
        violation(v, "order " + o.order_id + " is FAILED but payment " + p.payment_id +
                         " is still PENDING" + (p.intent_id.empty() ? " (with no intent)" : ""));
    }
    // The provider's intents of this payment, found by the payment's id as orders-settled
    // finds them: a payment whose intent id was never recorded (the provider's answer was lost
    // after it saved the intent) still has its intent, captured or not.
    const IntentRow* captured = nullptr;
    std::string uncaptured;  // "intent pi_... is canceled, intent pi_... is requires_payment"
    const auto [first, last] = intents_of_payment.equal_range(p.payment_id);
    for (auto i = first; i != last; ++i) {
      if (i->second->status == "succeeded") {
        if (captured == nullptr) captured = i->second;
      } else {
        uncaptured += (uncaptured.empty() ? "intent " : ", intent ") + i->second->intent_id +
                      " is " + i->second->status;
      }
    }
    const std::string unrecorded =
        p.intent_id.empty() ? " (payment recorded no intent for it)" : "";
    // The intent a payment recorded is one of its own: a SUCCEEDED payment pointed at another
    // payment's canceled intent passed (an outside probe), and the shop looks intents up by it.
    if (!p.intent_id.empty()) {
      const auto recorded = intent_by_id.find(p.intent_id);
      if (recorded != intent_by_id.end() && recorded->second->payment_id != p.payment_id)
        violation(v, "payment " + p.payment_id + " records intent " + p.intent_id +
                         ", which is payment " + recorded->second->payment_id + "'s");
    }
    if (captured != nullptr && (p.status == "FAILED" || p.status == "CANCELED"))
      violation(v, "payment " + p.payment_id + " is " + p.status + " but intent " +
                       captured->intent_id + " captured " +
                       money(captured->amount_cents, captured->currency) + unrecorded);
    if (p.status == "SUCCEEDED" && captured == nullptr)
      violation(v, "payment " + p.payment_id + " is SUCCEEDED but " +
                       (uncaptured.empty() ? std::string("no intent of it exists") : uncaptured));
    if (captured != nullptr &&
        (captured->amount_cents != p.amount_cents || captured->currency != p.currency))
      violation(v, "payment " + p.payment_id + " is for " + money(p.amount_cents, p.currency) +
                       " but intent " + captured->intent_id + " captured " +
                       money(captured->amount_cents, captured->currency) + unrecorded);
  }
  // The order's own link to its payment (orders.payment_id, which the order service reads to
  // take or refuse a payment's result, and the shopper sees): a PAID order pointing at no
  // payment, at another order's, or saying its payment FAILED passed, while `serve`'s start
  // found it (an outside probe).
  for (const auto& o : w.orders) {
    if (o.payment_id.empty()) {
      if (o.status == "PAID") {
        ++v.checked;
        violation(v, "order " + o.order_id + " is PAID but names no payment");
      }
      continue;
    }
    ++v.checked;
    const auto named = j.payments.find(o.payment_id);
    if (named == j.payments.end())
      violation(v, "order " + o.order_id + " (" + o.status + ") names payment " + o.payment_id +
                       ", which payment.db does not have");
    else if (named->second->order_id != o.order_id)
      violation(v, "order " + o.order_id + " (" + o.status + ") names payment " + o.payment_id +
                       ", which is order " + named->second->order_id + "'s");
    if (o.status == "PAID" && !o.payment_status.empty() && o.payment_status != "SUCCEEDED")
      violation(v, "order " + o.order_id + " is PAID but says its payment " + o.payment_id +
                       " is " + o.payment_status);
  }
  // A PAID order whose payment row is gone: payment.db no longer says money was taken for it
  // (a deleted row passed, with only paid-iff-captured failing).
  for (const auto& o : w.orders) {
    if (o.status != "PAID" || j.payment_of_order.count(o.order_id)) continue;
    ++v.checked;
    violation(v, "order " + o.order_id + " is PAID (" + money(o.total_cents, o.currency) +
                     ") but payment.db has no payment for it" +
                     (o.payment_id.empty() ? "" : " (its payment was " + o.payment_id + ")"));
  }
  return v;
}

Verdict check_answers_agree(const World& w) {
  auto v = make(
      "answers-agree",
      "every answer a shopper saw agrees with the end state (a 201 order exists, a payment seen "
      "to succeed ends PAID, a decline ends FAILED, a settled status never changes)");
  if (!w.have_history || !w.have_orders)
    return not_checked(v, "needs the shoppers' history and order.db");
  Joined j(w);
  auto order_of_intent = [&](const std::string& intent_id) -> const OrderRow* {
    auto i = j.intents.find(intent_id);
    if (i == j.intents.end()) return nullptr;
    auto p = j.payments.find(i->second->payment_id);
    if (p == j.payments.end()) return nullptr;
    auto o = j.orders.find(p->second->order_id);
    return o == j.orders.end() ? nullptr : o->second;
  };
  // A pay answer names its intent; the checkout attempt names its order.
  std::map<std::string, std::string> order_of_attempt;
  for (const auto& op : w.history)
    if (op.route == "POST /api/orders" && op.status == 201 &&
        !string_field(op.body, "order_id").empty())
      order_of_attempt[op.attempt] = string_field(op.body, "order_id");
  for (const auto& op : w.history) {
    if (op.route == "POST /api/orders" && op.status == 201) {
      ++v.checked;
      auto id = string_field(op.body, "order_id");
      if (id.empty())
        violation(v, "a 201 to POST /api/orders without an order_id" + with_trace(op.trace_id));
      else if (!j.orders.count(id))
        violation(v, "order " + id + " was answered 201" + with_trace(op.trace_id) +
                         " but does not exist");
    } else if (op.route == "POST {pay_url}" && op.status == 200) {
      auto seen = string_field(op.body, "status");
      if (seen != "succeeded" && seen != "failed") continue;
      ++v.checked;
      const OrderRow* order = nullptr;
      if (w.have_payments && w.have_provider)
        order = order_of_intent(string_field(op.body, "intent_id"));
      if (!order) {
        auto a = order_of_attempt.find(op.attempt);
        if (a != order_of_attempt.end()) {
          auto o = j.orders.find(a->second);
          if (o != j.orders.end()) order = o->second;
        }
      }
      if (!order) continue;  // the 201 check reports a missing order
      auto want = seen == "succeeded" ? "PAID" : "FAILED";
      if (order->status != want)
        violation(v, "the shopper saw the payment " + seen + " (intent " +
                         string_field(op.body, "intent_id") + ")" + with_trace(op.trace_id) +
                         " but order " + order->order_id + " ends " + order->status);
    } else if (op.route == "GET /api/orders/{id}" && op.status == 200) {
      auto seen = string_field(op.body, "status");
      if (seen != "PAID" && seen != "FAILED") continue;
      ++v.checked;
      auto id = string_field(op.body, "order_id");
      auto o = j.orders.find(id);
      if (o == j.orders.end())
        violation(v, "the shopper read order " + id + " as " + seen + with_trace(op.trace_id) +
                         " but it does not exist");
      else if (o->second->status != seen)
        violation(v, "the shopper read order " + id + " as " + seen + with_trace(op.trace_id) +
                         " but it ends " + o->second->status);
    }
  }
  return v;
}

Verdict check_idempotency(const World& w) {
  auto v = make("idempotency-one-order", "an Idempotency-Key never names two orders");
  if (!w.have_history) return not_checked(v, "needs the shoppers' history");
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>>
      named;  // (email,key) -> order -> trace
  for (const auto& op : w.history) {
    if (op.route != "POST /api/orders" || op.idempotency_key.empty()) continue;
    auto id = string_field(op.body, "order_id");
    if ((op.status != 201 && op.status != 200) || id.empty()) continue;
    named[{op.email, op.idempotency_key}].emplace(id, op.trace_id);
  }
  for (const auto& [who, orders] : named) {
    ++v.checked;
    if (orders.size() < 2) continue;
    std::string list;
    for (const auto& [id, trace] : orders)
      list += (list.empty() ? "" : ", ") + id + with_trace(trace);
    violation(v, "key " + who.second + " of " + who.first + " was answered with " +
                     std::to_string(orders.size()) + " orders: " + list);
  }
  if (w.have_orders) {
    std::map<std::string, const OrderRow*> orders;
    for (const auto& o : w.orders) orders[o.order_id] = &o;
    std::map<std::pair<std::string, std::string>, const IdempotencyRow*> rows;
    for (const auto& r : w.idempotency) rows[{r.user_id, r.key}] = &r;
    for (const auto& [who, answered] : named) {
      for (const auto& [id, trace] : answered) {
        auto o = orders.find(id);
        if (o == orders.end()) continue;
        auto r = rows.find({o->second->user_id, who.second});
        if (r == rows.end() || r->second->order_id.empty() || r->second->order_id == id) continue;
        violation(v, "key " + who.second + " names order " + r->second->order_id +
                         " in order.db but the shopper was answered " + id + with_trace(trace));
      }
    }
  }
  return v;
}

Verdict check_one_order_per_cart(const World& w) {
  auto v = make("one-order-per-cart", "one cart never becomes two orders");
  if (!w.have_history) return not_checked(v, "needs the shoppers' history");
  std::map<std::string, std::map<std::string, std::string>>
      per_attempt;                                                 // attempt -> order -> trace
  std::map<std::string, std::set<std::string>> products_of_order;  // from the 201's items
  std::map<std::string, std::string> user_of_email;
  std::map<std::string, std::set<std::string>> attempts_of_email;
  for (const auto& op : w.history) {
    if (op.route != "POST /api/orders") continue;
    attempts_of_email[op.email].insert(op.attempt);
    auto id = string_field(op.body, "order_id");
    if ((op.status == 201 || op.status == 200) && !id.empty()) {
      per_attempt[op.attempt].emplace(id, op.trace_id);
      auto& products = products_of_order[id];
      if (op.body.is_object() && op.body.contains("items") && op.body["items"].is_array()) {
        for (const auto& item : op.body["items"]) products.insert(string_field(item, "product_id"));
      }
    }
  }
  // Two orders answered to one checkout (two tabs) came from one cart when they share a
  // product. Orders with no product in common came from different contents of the cart: a
  // failed order's lines put back into it (a late decline, an expiry) between the two tabs'
  // checkouts are a new cart's worth, and ordering them is what the shopper asked for. An order
  // whose items the history does not show counts as sharing.
  const auto share_a_product = [&](const std::map<std::string, std::string>& orders) {
    std::set<std::string> seen;
    for (const auto& [id, trace] : orders) {
      const auto& products = products_of_order[id];
      if (products.empty()) return true;
      for (const auto& p : products)
        if (!seen.insert(p).second) return true;
    }
    return false;
  };
  for (const auto& [attempt, orders] : per_attempt) {
    ++v.checked;
    if (orders.size() < 2 || !share_a_product(orders)) continue;
    std::string list;
    for (const auto& [id, trace] : orders)
      list += (list.empty() ? "" : ", ") + id + with_trace(trace);
    violation(v, "checkout " + attempt + " (one cart) became " + std::to_string(orders.size()) +
                     " orders: " + list);
  }
  // From order.db: a shopper never has more orders than checkouts it started.
  if (w.have_orders) {
    std::map<std::string, const OrderRow*> orders;
    for (const auto& o : w.orders) orders[o.order_id] = &o;
    // One pass over the history (a 10-minute run holds about a million operations).
    std::map<std::string, std::string> email_of_attempt;
    for (const auto& op : w.history) email_of_attempt.emplace(op.attempt, op.email);
    for (const auto& [attempt, answered] : per_attempt) {
      auto e = email_of_attempt.find(attempt);
      auto o = orders.find(answered.begin()->first);
      if (e != email_of_attempt.end() && o != orders.end())
        user_of_email[e->second] = o->second->user_id;
    }
    // A checkout that failed before the shopper could pay (`payment_unavailable`: the payment
    // could not be opened; `checkout_interrupted`: a crash cut it short) restored the cart at
    // once. Checking out that cart again, from a second tab or after the 503, is a new
    // checkout of a cart that is no longer an order, so those orders are not counted.
    std::map<std::string, std::size_t> orders_of_user;
    for (const auto& o : w.orders) {
      bool never_payable = o.status == "FAILED" && (o.reason == "payment_unavailable" ||
                                                    o.reason == "checkout_interrupted");
      if (!never_payable) ++orders_of_user[o.user_id];
    }
    for (const auto& [email, user] : user_of_email) {
      ++v.checked;
      auto have = orders_of_user[user];
      auto started = attempts_of_email[email].size();
      if (have > started)
        violation(v, email + " started " + std::to_string(started) + " checkouts but owns " +
                         std::to_string(have) +
                         " orders in order.db (not counting checkouts failed before payment)");
    }
  }
  return v;
}

Verdict check_callbacks_delivered(const World& w) {
  auto v = make("callbacks-delivered",
                "every provider event reached the shop and every outbox callback finished");
  if (!w.have_payments || !w.have_provider)
    return not_checked(v, "needs payment.db and provider.db");
  std::size_t record_lost = 0;
  for (const auto& e : w.events) {
    ++v.checked;
    // The shop answered 2xx to it, which it does once the event is recorded: payment.db has
    // lost it (an older copy put back, a row deleted), and with it what the shop knew of the
    // payment. Both rows deleted passed (an outside probe).
    if (e.delivered && !w.recorded_events.count(e.event_id) &&
        !w.recorded_after_read.count(e.event_id)) {
      violation(v, "provider event " + e.event_id + " (" + e.type + ", intent " + e.intent_id +
                       ") was delivered, but payment.db has no record of it");
      continue;
    }
    if (e.delivered) continue;
    // The shop has it, the provider's record of the delivery was lost (a kill between the
    // answer and its bookkeeping): delivered, as far as money goes.
    if (w.recorded_events.count(e.event_id)) {
      ++record_lost;
      continue;
    }
    violation(v, "provider event " + e.event_id + " (" + e.type + ", intent " + e.intent_id +
                     ") undelivered after " + std::to_string(e.attempts) + " attempts");
  }
  if (record_lost)
    v.note = std::to_string(record_lost) +
             " event(s) the shop recorded are still marked undelivered in provider.db (the "
             "provider lost its record "
             "of the delivery)";
  // Payment records an event and its callback in one transaction, and keeps both: an event it
  // recorded with no callback row is one whose result nothing will pass to the order (a folder
  // with the row deleted passed; an outside probe).
  std::set<std::string> with_callback;
  for (const auto& c : w.outbox) with_callback.insert(c.event_id);
  for (const auto& event_id : w.recorded_events) {
    ++v.checked;
    if (!with_callback.contains(event_id))
      violation(v, "payment recorded event " + event_id + " but holds no callback for it");
  }
  for (const auto& c : w.outbox) {
    ++v.checked;
    if (!c.finished) {
      violation(v, "callback " + std::to_string(c.id) + " for order " + c.order_id + " (event " +
                       c.event_id + ") unfinished after " + std::to_string(c.attempts) +
                       " attempts" + with_trace(c.trace_id));
    } else if (c.verdict == "rejected") {
      // Finished, but because the order refused it (an unknown order, a malformed result): the
      // result never reached the order, so this is not a delivery. (A 409, "conflict", is the
      // order refusing a contradicting result on purpose.)
      violation(v, "callback " + std::to_string(c.id) + " for order " + c.order_id + " (event " +
                       c.event_id + ") was refused by the order service and given up" +
                       with_trace(c.trace_id));
    }
  }
  return v;
}

Verdict check_breakers_closed(const World& w) {
  auto v = make("breakers-closed", "no circuit breaker is left OPEN after healing");
  if (!w.have_breakers)
    return not_checked(v, "needs the services' admin planes (GET /_admin/circuit-breakers)");
  for (const auto& b : w.breakers) {
    ++v.checked;
    if (b.state == "OPEN" || b.state == "FORCED_OPEN")
      violation(v, "breaker " + b.edge + " (" + b.service + ") is " + b.state);
  }
  return v;
}

Verdict check_no_unexpected_5xx(const World& w) {
  auto v = make("no-unexpected-5xx", "no 5xx besides the documented 503/504 in the error shape");
  if (!w.have_history) return not_checked(v, "needs the shoppers' history");
  for (const auto& op : w.history) {
    if (op.status == 0) continue;
    ++v.checked;
    if (op.status >= 500 && !is_documented_5xx(op.status, op.body)) {
      auto code = error_code(op.body);
      violation(v, op.route + " answered " + std::to_string(op.status) +
                       (code.empty() ? "" : " " + code) + with_trace(op.trace_id));
    }
  }
  return v;
}

Verdict check_process_alive(const World& w) {
  auto v = make("process-alive", "the shop never died unless chaos killed it");
  if (!w.watched_process) return not_checked(v, "a shop chaos did not start cannot be watched");
  v.checked = 1;
  for (const auto& d : w.unexpected_deaths) violation(v, d);
  return v;
}

// payment.db's ledger (`transactions`) is what the shop says it received from the provider:
// a capture moved to another payment, its type or its amount changed, passed every check,
// which read the payments and the intents only; so did a provider event rewritten beside its
// intent (an outside probe edited copies of a chaos run's databases).
Verdict check_ledger_agrees(const World& w) {
  auto v = make("ledger-agrees",
                "payment.db's ledger records each provider event as the provider signed it, "
                "for a payment it holds, a capture only for a SUCCEEDED payment of its amount "
                "and at most one a payment; each provider event is its intent's one event, "
                "for its payment and amount, a succeeded intent's a payment.succeeded, and a "
                "settled intent has its event; no event of a type the provider never sends");
  if (!w.have_payments || !w.have_provider)
    return not_checked(v, "needs payment.db and provider.db");
  std::map<std::string, const EventRow*> events;
  for (const auto& e : w.events) events[e.event_id] = &e;
  std::map<std::string, const PaymentRow*> payments;
  for (const auto& p : w.payments) payments[p.payment_id] = &p;
  std::map<std::string, const IntentRow*> intents;
  for (const auto& i : w.intents) intents[i.intent_id] = &i;
  auto said = [](const std::string& type, std::int64_t cents, const std::string& currency,
                 const std::string& payment) {
    return (type.empty() ? std::string("(no type)") : type) + " of " + money(cents, currency) +
           " for payment " + (payment.empty() ? std::string("(none)") : payment);
  };
  std::map<std::string, std::vector<std::string>> captures_of_payment;
  for (const auto& t : w.transactions) {
    ++v.checked;
    const std::string recorded = said(t.type, t.amount_cents, t.currency, t.payment_id);
    const auto e = events.find(t.event_id);
    if (e == events.end()) {
      violation(v, "payment.db's ledger records event " + t.event_id + " (" + recorded +
                       "), which provider.db does not hold: no event the provider signed");
    } else {
      const EventRow& ev = *e->second;
      if (ev.type != t.type || ev.payment_id != t.payment_id || ev.amount_cents != t.amount_cents ||
          ev.currency != t.currency)
        violation(v, "payment.db's ledger records event " + t.event_id + " as " + recorded +
                         "; the provider signed it as " +
                         said(ev.type, ev.amount_cents, ev.currency, ev.payment_id));
    }
    const auto p = payments.find(t.payment_id);
    if (p == payments.end()) {
      violation(v, "payment.db's ledger records event " + t.event_id + " (" + recorded +
                       "), and payment.db holds no such payment");
      continue;
    }
    if (t.type != "payment.succeeded") continue;
    captures_of_payment[t.payment_id].push_back(t.event_id);
    const PaymentRow& pay = *p->second;
    if (pay.status != "SUCCEEDED")
      violation(v, "payment.db's ledger records a capture of " + money(t.amount_cents, t.currency) +
                       " (event " + t.event_id + ") for payment " + pay.payment_id + ", which is " +
                       pay.status);
    else if (pay.amount_cents != t.amount_cents || pay.currency != t.currency)
      violation(v, "payment.db's ledger records a capture of " + money(t.amount_cents, t.currency) +
                       " (event " + t.event_id + ") for payment " + pay.payment_id +
                       ", which is for " + money(pay.amount_cents, pay.currency));
  }
  // The provider settles an intent once, with one event of these two types; it makes no
  // refunds (money.md). A `payment.refunded` row in both files, or a second `payment.failed`
  // for a captured intent, passed (an outside probe): the ledger said net nothing was received
  // for a PAID order.
  for (const auto& t : w.transactions)
    if (!known_event_type(t.type))
      violation(v, "payment.db's ledger records event " + t.event_id + " of type " +
                       (t.type.empty() ? std::string("(none)") : t.type) +
                       ", which the provider never sends (it sends payment.succeeded and "
                       "payment.failed only)");
  for (const auto& [payment, captures] : captures_of_payment) {
    if (captures.size() < 2) continue;
    std::string ids;
    for (const auto& id : captures) ids += (ids.empty() ? "" : ", ") + id;
    violation(v, "payment.db's ledger records " + std::to_string(captures.size()) +
                     " captures for payment " + payment + ": " + ids);
  }
  for (const auto& e : w.events) {
    ++v.checked;
    const auto i = intents.find(e.intent_id);
    if (i == intents.end()) {
      violation(v, "provider event " + e.event_id + " is for intent " + e.intent_id +
                       ", which provider.db does not hold");
      continue;
    }
    const IntentRow& in = *i->second;
    if (e.payment_id != in.payment_id || e.amount_cents != in.amount_cents ||
        e.currency != in.currency)
      violation(v, "provider event " + e.event_id + " says " +
                       said(e.type, e.amount_cents, e.currency, e.payment_id) + "; its intent " +
                       in.intent_id + " is " + money(in.amount_cents, in.currency) +
                       " for payment " + in.payment_id);
    if (!known_event_type(e.type))
      violation(v, "provider event " + e.event_id + " is of type " +
                       (e.type.empty() ? std::string("(none)") : e.type) +
                       ", which the provider never sends");
    if (in.event_id != e.event_id)
      violation(v, "provider event " + e.event_id + " (" + (e.type.empty() ? "no type" : e.type) +
                       ") is for intent " + in.intent_id + ", whose one event is " +
                       (in.event_id.empty() ? std::string("none yet") : in.event_id) +
                       ": the provider settles an intent once");
    if (in.event_id == e.event_id && (e.type == "payment.succeeded") != (in.status == "succeeded"))
      violation(v, "provider event " + e.event_id + " is " +
                       (e.type.empty() ? std::string("of no type") : e.type) + " but its intent " +
                       in.intent_id + " is " + in.status);
  }
  // The provider settles an intent and writes its event in one transaction: a settled intent
  // whose event provider.db does not hold has lost the only record of what was taken. A
  // capture whose event, ledger row and outbox row were removed passed, the ledger then one
  // capture short of the money taken (an outside probe).
  for (const auto& i : w.intents) {
    if (i.status != "succeeded" && i.status != "failed") continue;
    ++v.checked;
    if (i.event_id.empty() || !events.count(i.event_id))
      violation(
          v, "intent " + i.intent_id + " of payment " + i.payment_id + " is " + i.status +
                 (i.status == "succeeded" ? " (" + money(i.amount_cents, i.currency) + " captured)"
                                          : std::string()) +
                 " but provider.db holds no event of it" +
                 (i.event_id.empty() ? std::string() : " (" + i.event_id + ")"));
  }
  return v;
}

std::vector<Verdict> check_all(const World& w) {
  return {check_orders_settled(w),        check_paid_iff_captured(w),   check_no_double_capture(w),
          check_no_capture_for_failed(w), check_sums_match(w),          check_payments_agree(w),
          check_ledger_agrees(w),         check_answers_agree(w),       check_idempotency(w),
          check_one_order_per_cart(w),    check_callbacks_delivered(w), check_breakers_closed(w),
          check_no_unexpected_5xx(w),     check_process_alive(w)};
}

}  // namespace shopctl::chaos
