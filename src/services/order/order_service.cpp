#include "services/order/order_service.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "platform/error.hpp"
#include "platform/idempotency_key.hpp"
#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/security/random.hpp"

namespace shopctl::order {

namespace asio = boost::asio;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {

constexpr std::size_t kMaxPaymentIdLength = 100;
constexpr std::size_t kMaxReasonLength = 200;
// How often the expiry looks for orders to end (real time). Due-ness itself is judged on the
// shop clock, so advance_clock makes an unpaid order expire on the next pass.
constexpr std::chrono::milliseconds kExpiryPollInterval{250};
constexpr std::size_t kExpiryBatch = 32;

// The user the gateway vouches for. Throws ApiError 401 `unauthenticated` when it names none.
const std::string& require_user(const Request& req) {
  if (req.user_id.empty()) {
    throw ApiError(401, "unauthenticated", "this route needs a signed-in user");
  }
  return req.user_id;
}

int quantity_field(const nlohmann::json& body, bool allow_zero) {
  auto it = body.find("quantity");
  return validate_quantity(it == body.end() ? nlohmann::json(nullptr) : *it, allow_zero);
}

ApiError catalog_unavailable(const CatalogUnavailable& e) {
  ApiError error(503, "catalog_unavailable",
                 "the catalog cannot answer right now; try again shortly",
                 {{"cause", std::string(e.what()).substr(0, 200)}});
  error.with_retry_after(e.retry_after_seconds());
  return error;
}

}  // namespace

OrderService::OrderService(platform::ServiceContext& ctx, OrderSettings settings)
    : Service(ctx, "order", settings.port),
      settings_(std::move(settings)),
      payment_timeout_ms_(settings_.payment_timeout.count()),
      store_(ctx.data_dir / "order.db", ctx.synchronous_for("order")),
      catalog_(ctx, settings_.catalog, &host_.metrics(), settings_.seed),
      payments_(ctx, settings_.payment, &host_.metrics(), settings_.seed) {
  store_.set_max_unpaid_orders(settings_.max_unpaid_orders);
  add_routes();
  platform::expose_breakers(host_, {&catalog_.edge(), &payments_.edge()});
}

OrderService::~OrderService() {
  stop();
}

void OrderService::open_storage() {
  store_.open();
}

void OrderService::close_storage() {
  store_.close();
}

void OrderService::start_background() {
  // The first pass runs at once: it is the start-up recovery of interrupted checkouts.
  expiry_.start(
      ctx_.io, kExpiryPollInterval,
      [this](const std::atomic<bool>& stopping) { return cancel_due_orders(stopping); },
      [this](const std::exception& e) {
        ctx_.log.warn("order expiry pass failed", {{"service", "order"}, {"error", e.what()}});
      });
}

void OrderService::stop_background() {
  // The pass under way finishes its current cancel (at most the edge's attempts' time). An io
  // thread must not block on it; the loop then ends on its own.
  expiry_.stop(settings_.payment.timeout * 2 + std::chrono::seconds(2),
               !ctx_.running_in_io_thread());
}

void OrderService::add_routes() {
  auto& routes = host_.routes();
  const auto gateway = http::Access::only({"gateway"});

  routes.add("GET", "/cart", gateway, [this](Request& req) -> asio::awaitable<Response> {
    auto cart = co_await store_.cart(require_user(req));
    co_return Response::json(200, cart_json(cart.lines, cart.currency));
  });

  routes.add("POST", "/cart/items", gateway, [this](Request& req) { return add_cart_item(req); });

  routes.add("PATCH", "/cart/items/{product_id}", gateway,
             [this](Request& req) -> asio::awaitable<Response> {
               const auto& user = require_user(req);
               const auto& product_id = req.param("product_id");
               validate_product_id(product_id, "product_id");
               const int quantity = quantity_field(platform::json_object_body(req), true);
               auto cart = co_await store_.set_quantity(user, product_id, quantity);
               co_return Response::json(200, cart_json(cart.lines, cart.currency));
             });

  routes.add("DELETE", "/cart/items/{product_id}", gateway,
             [this](Request& req) -> asio::awaitable<Response> {
               const auto& user = require_user(req);
               const auto& product_id = req.param("product_id");
               validate_product_id(product_id, "product_id");
               auto cart = co_await store_.remove_item(user, product_id);
               co_return Response::json(200, cart_json(cart.lines, cart.currency));
             });

  routes.add("POST", "/orders", gateway, [this](Request& req) { return checkout_route(req); });

  routes.add("GET", "/orders", gateway, [this](Request& req) -> asio::awaitable<Response> {
    auto orders = co_await store_.list_for_user(require_user(req), kMaxOrdersListed);
    nlohmann::json items = nlohmann::json::array();
    for (const Order& order : orders) items.push_back(to_json(order));
    co_return Response::json(200, {{"items", std::move(items)}});
  });

  routes.add("GET", "/orders/{id}", gateway, [this](Request& req) -> asio::awaitable<Response> {
    const auto& user = require_user(req);
    auto order = co_await store_.find(req.param("id"));
    // Another user's order is as unknown as a missing one: ids are not to be probed.
    if (!order || order->user_id != user) {
      throw ApiError(404, "order_not_found", "no such order", {{"order_id", req.param("id")}});
    }
    co_return Response::json(200, to_json(*order));
  });

  routes.add("POST", "/internal/orders/{id}/payment-result", http::Access::only({"payment"}),
             [this](Request& req) { return payment_result(req); });
}

namespace {

// A price above the contract's highest (a catalog database of an earlier release may hold one)
// is kept out of every cart: 422 amount_too_large, the cart as it was.
void refuse_price_above_limit(const std::string& product_id, std::int64_t price_cents) {
  if (price_cents <= kMaxUnitPriceCents) return;
  throw ApiError(422, "amount_too_large",
                 "the catalog prices " + product_id + " at " + std::to_string(price_cents) +
                     " cents, above the most a cart takes (" + std::to_string(kMaxUnitPriceCents) +
                     "); its price must be set again on the catalog's admin plane",
                 {{"product_id", product_id},
                  {"price_cents", price_cents},
                  {"max_price_cents", kMaxUnitPriceCents}});
}

}  // namespace

platform::ResilientCaller::Deadline OrderService::answer_due() const {
  const auto margin = std::clamp<std::chrono::milliseconds>(
      settings_.answer_within / 20, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  return std::chrono::steady_clock::now() + settings_.answer_within - margin;
}

asio::awaitable<Response> OrderService::add_cart_item(Request& req) {
  const auto due = answer_due();
  const auto& user = require_user(req);
  auto body = platform::json_object_body(req);
  const auto product_id = platform::required_string(body, "product_id");
  validate_product_id(product_id, "product_id");
  const int quantity = quantity_field(body, false);

  std::optional<ProductSnapshot> product;
  try {
    product = co_await catalog_.product(product_id, req.trace_id, due);
  } catch (const CatalogUnavailable& e) {
    throw catalog_unavailable(e);
  }
  if (!product) {
    throw ApiError(404, "product_not_found", "the catalog has no product " + product_id,
                   {{"product_id", product_id}});
  }
  if (!product->available) {
    throw ApiError(409, "product_unavailable", product->name + " is not available",
                   {{"product_id", product_id}});
  }
  // Refused before the cart changes: the line was saved, then the cart's answer failed 422,
  // and every later read of the cart with it (an outside probe, on a catalog database of an
  // earlier release).
  refuse_price_above_limit(product->id, product->price_cents);
  // Named, not a braced temporary in the co_await: GCC 12 destroys such temporaries twice.
  CartLine line{product->id, product->name, quantity, product->price_cents};
  auto cart = co_await store_.add_item(user, std::move(line), product->currency);
  co_return Response::json(200, cart_json(cart.lines, cart.currency));
}

asio::awaitable<Response> OrderService::checkout_route(Request& req) {
  const std::string user = require_user(req);
  std::optional<std::string> key;
  if (auto header = req.headers.get(platform::kIdempotencyKeyHeader)) {
    platform::validate_idempotency_key(*header);
    key = std::string(*header);
  }
  // One checkout per cart: the claim is taken in the database job that reads the cart (with
  // the key's claim when there is a key), and released however the checkout ends.
  std::optional<StoredCart> cart;
  std::string checkout_claim;
  if (key) {
    StoredCart claimed_cart;
    auto claim =
        co_await store_.claim_idempotency_key(user, *key, ctx_.clock.unix_millis(), &claimed_cart);
    if (claim.kind == IdempotencyClaim::claimed) {
      cart = std::move(claimed_cart);
      checkout_claim = std::move(claim.checkout_claim);
    }
    if (claim.kind == IdempotencyClaim::replay) {
      Response replay;
      replay.status = claim.status;
      replay.body = std::move(claim.body);
      replay.headers.set("Content-Type", "application/json; charset=utf-8");
      replay.headers.set("Idempotent-Replayed", "true");
      if (replay.status == 201) {
        const auto stored = platform::parse_json_or_discarded(replay.body);
        if (stored.is_object() && stored.value("order_id", nlohmann::json()).is_string()) {
          replay.headers.set("Location", "/orders/" + stored["order_id"].get<std::string>());
        }
      }
      co_return replay;
    }
    if (claim.kind == IdempotencyClaim::in_progress) {
      throw ApiError(409, "idempotency_key_in_use",
                     "a checkout with this Idempotency-Key is still running; try again shortly",
                     {{"header", "Idempotency-Key"}})
          .with_retry_after(1);
    }
  } else {
    auto claim = co_await store_.claim_checkout(user);
    cart = std::move(claim.cart);
    checkout_claim = std::move(claim.claim_id);
  }

  CheckoutAnswer answer;
  std::exception_ptr failure;
  std::string created_order;
  try {
    answer = co_await checkout(req, user, key, std::move(cart), created_order);
  } catch (...) {
    failure = std::current_exception();
  }
  // An error after the order was created (the database refused to fail it or to record its
  // payment: a full disk): the order is pending without a payment, its cart emptied. The
  // expiry pass ends it as an interrupted checkout, as start-up recovery does: cancels its
  // payment if one opened, fails it, puts the items back and answers the key.
  if (failure && !created_order.empty()) store_.note_interrupted(created_order);
  store_.release_checkout(user, checkout_claim);
  if (key) {
    // Only a checkout that created an order binds its key; otherwise nothing happened and the
    // same key may be used again (for example after a 409 price_changed or a 503).
    if (failure && !created_order.empty()) {
      // Bound to the order: "still running" until the expiry pass ends the order and stores
      // the order as it ended for the key (released, it would let the key order twice).
    } else if (failure || !answer.order_created) {
      co_await store_.release_idempotency_key(user, *key);
    } else if (!answer.answer_saved) {
      co_await store_.save_idempotent_answer(user, *key, answer.response.status,
                                             answer.response.body);
    }
  }
  if (failure) std::rethrow_exception(failure);
  // 201 Created names what it created (RFC 9110 15.3.2); the gateway maps the path to the
  // public one (/api/orders/...).
  if (answer.response.status == 201 && !created_order.empty()) {
    answer.response.headers.set("Location", "/orders/" + created_order);
  }
  co_return std::move(answer.response);
}

asio::awaitable<OrderService::CheckoutAnswer> OrderService::checkout(
    const Request& req, const std::string& user_id, const std::optional<std::string>& key,
    std::optional<StoredCart> claimed_cart, std::string& created_order) {
  // The catalog's read and the payment's creation end before the gateway's deadline: a
  // shopper told 504 (retries of 12 s apart) had the order created two seconds later, and the
  // cart emptied (an outside probe). Past it, the checkout answers 503 with nothing created.
  const auto due = answer_due();
  // 1. The caller's cart (read with the key's claim when there is a key).
  StoredCart cart = claimed_cart ? std::move(*claimed_cart) : co_await store_.cart(user_id);
  if (cart.lines.empty()) {
    throw ApiError(400, "cart_empty", "the cart is empty; add products before checking out");
  }
  // A cart holds at most 100 lines (cart_full), and the catalog reads at most 100 ids at once.
  // A cart past that (a database written before restores kept the cap) is the shopper's to
  // trim: the catalog's 400 was reported as 503 catalog_unavailable, retried for ever.
  if (cart.lines.size() > kMaxCartLines) {
    throw ApiError(400, "cart_full",
                   "a cart holds at most " + std::to_string(kMaxCartLines) +
                       " different products; this one holds " + std::to_string(cart.lines.size()) +
                       ": remove some before checking out",
                   {{"max_lines", kMaxCartLines}, {"lines", cart.lines.size()}});
  }

  // 2. Every product of the cart, in one catalog call.
  std::vector<std::string> ids;
  ids.reserve(cart.lines.size());
  for (const CartLine& line : cart.lines) ids.push_back(line.product_id);
  std::map<std::string, ProductSnapshot> products;
  try {
    products = co_await catalog_.products(ids, req.trace_id, due);
  } catch (const CatalogUnavailable& e) {
    throw catalog_unavailable(e);
  }
  const auto latest_prices = latest_cart_prices(cart.lines, cart.currency, products);
  const auto changes = detect_price_changes(cart.lines, latest_prices);
  if (!changes.empty()) {
    std::map<std::string, std::int64_t> new_prices;
    for (const PriceChange& change : changes) {
      refuse_price_above_limit(change.product_id, change.new_price_cents);
      new_prices[change.product_id] = change.new_price_cents;
    }
    co_await store_.reprice_cart(user_id, std::move(new_prices));
    throw ApiError(409, "price_changed",
                   "prices changed since the products were added; the cart has the new prices",
                   price_changed_details(changes));
  }

  // 3. The order at the latest prices, and the cart emptied, in one transaction.
  const PricedCart priced = price_cart(cart.lines, cart.currency);
  // A cart of free products alone: every order is paid through a payment at the provider, and
  // one of 0 asked for a card that could be declined (an outside probe; Stripe takes no
  // payment under 50 cents). Nothing is created; the cart stays.
  // Every amount the shop answers is an integer a JSON reader holds exactly (under 2^53, I-JSON;
  // docs/api.md). Today's prices keep any cart under it; a database from an earlier release,
  // whose limit was higher, may not (an outside probe checked out 9.8e15 cents).
  if (priced.total_cents >= kMaxTotalCents) {
    throw ApiError(422, "amount_too_large",
                   "the cart's total is too large to charge: at most " +
                       std::to_string(kMaxTotalCents - 1) + " cents",
                   {{"max_total_cents", kMaxTotalCents - 1}, {"total_cents", priced.total_cents}});
  }
  if (priced.total_cents == 0) {
    throw ApiError(400, "nothing_to_pay",
                   "this cart costs nothing: every order is paid for with a card at the "
                   "provider, and an order of 0 cannot be; add a product that has a price",
                   {{"total_cents", 0}});
  }
  Order order = new_pending_order(platform::security::new_id("ord_"), user_id, priced,
                                  ctx_.clock.unix_millis());
  co_await store_.create_pending(order, cart.lines, key, req.trace_id);
  created_order = order.order_id;

  // 4. A payment for the order's total. The order id is the payment's idempotency key, so
  // retries (ours and the edge's) open one payment at most.
  std::optional<PaymentHandle> payment;
  std::string failure;
  int retry_after = 1;
  bool payment_may_be_open = false;
  try {
    payment = co_await payments_.create_payment(order.order_id, order.total_cents, order.currency,
                                                "order:" + order.order_id, req.trace_id, due);
  } catch (const PaymentUnavailable& e) {
    failure = e.what();
    retry_after = e.retry_after_seconds();
    payment_may_be_open = e.may_have_opened();
  }
  if (!payment) {
    ctx_.log.warn("checkout could not open a payment", {{"service", "order"},
                                                        {"order_id", order.order_id},
                                                        {"cause", failure.substr(0, 200)},
                                                        {"trace_id", req.trace_id}});
    // Payment may have opened the payment all the same (it answered after our time limit, or
    // its answer was lost), with an intent anyone holding its pay link could pay for an order
    // that failed: the expiry pass cancels it in the background (payment keeps a tombstone,
    // so a create still on its way opens nothing). Only when an attempt went unheard or was
    // answered with a 5xx (payment may have opened the payment, and the provider its intent,
    // before the failure it answered): when payment answered every attempt with a 4xx, or
    // none reached it (refused connections, an open breaker), it opened no payable payment,
    // and background cancels would only add failures to an edge that is down (they opened
    // order -> payment's breaker in front of the next checkout).
    const Order ended =
        co_await store_.fail_and_restore_cart(order.order_id, std::string(kPaymentUnavailable),
                                              ctx_.clock.unix_millis(), payment_may_be_open);
    const bool ended_here = ended.status == OrderStatus::FAILED && !ended.history.empty() &&
                            ended.history.back().reason == kPaymentUnavailable;
    if (!ended_here) {
      // The order ended otherwise while payment was waited for, and the answer is the order
      // as it ended. PAID: the provider saved the intent, it was paid, and its result reached
      // the order while payment still waited for the provider's answer; a 503 said the order
      // had failed and the cart was restored (an outside probe). FAILED by the expiry pass
      // (the shop's clock passed the payment timeout during the checkout): the pass gave the
      // Idempotency-Key that answer (201, the order as it ended), and this checkout answered
      // 503 payment_unavailable, so the same key replayed another answer than it gave (an
      // outside probe). Both now say the same.
      co_return CheckoutAnswer{Response::json(201, to_json(ended)), true};
    }
    platform::DomainError unavailable(platform::ErrorKind::unavailable, "payment_unavailable",
                                      std::string("the payment service cannot open a payment "
                                                  "right now; the order failed and the cart was "
                                                  "restored") +
                                          (key ? ": check out again with a new Idempotency-Key "
                                                 "(this one keeps this answer)"
                                               : ""),
                                      {{"order_id", order.order_id}});
    unavailable.with_retry_after(retry_after);
    // Answered, not thrown: the order was created (and failed), so a key binds this answer.
    co_return CheckoutAnswer{platform::error_response(unavailable, req.trace_id), true};
  }

  // 5. The order with its pay_url; with a key, the answer is stored for it in the same
  // transaction.
  OrderPayment opened{payment->payment_id, payment->status, payment->pay_url};
  CheckoutAnswer created;
  created.order_created = true;
  std::optional<OrderStore::AnswerForKey> answer;
  if (key) {
    answer = OrderStore::AnswerForKey{user_id, *key, 201, [&created](const Order& recorded) {
                                        created.response = Response::json(201, to_json(recorded));
                                        return created.response.body;
                                      }};
  }
  Order stored = co_await store_.record_payment(order.order_id, std::move(opened),
                                                ctx_.clock.unix_millis(), std::move(answer));
  if (key) {
    created.answer_saved = true;
  } else {
    created.response = Response::json(201, to_json(stored));
  }
  co_return created;
}

asio::awaitable<Response> OrderService::payment_result(Request& req) {
  const auto& order_id = req.param("id");
  auto body = platform::json_object_body(req);
  const auto payment_id = platform::required_string(body, "payment_id", kMaxPaymentIdLength);
  const auto status = platform::required_string(body, "status", 32);
  const auto outcome = parse_payment_outcome(status);
  if (!outcome) {
    throw ApiError(400, "invalid_field", "status must be SUCCEEDED or FAILED",
                   {{"field", "status"}, {"allowed", {"SUCCEEDED", "FAILED"}}});
  }
  const auto reason = platform::optional_string(body, "reason", kMaxReasonLength).value_or("");

  auto result = co_await store_.apply_payment_result(order_id, payment_id, *outcome, reason,
                                                     ctx_.clock.unix_millis());
  if (!result) {
    throw ApiError(404, "order_not_found", "no order " + order_id, {{"order_id", order_id}});
  }
  const auto& decision = result->decision;
  const std::string order_status(to_string(result->order.status));
  if (decision.kind == TransitionDecision::conflict) {
    ctx_.log.error("payment result contradicts the order",
                   {{"service", "order"},
                    {"order_id", order_id},
                    {"order_status", order_status},
                    {"payment_id", payment_id},
                    {"result", status},
                    {"reason", std::string(decision.reason)},
                    {"trace_id", req.trace_id}});
    throw ApiError(409, "state_conflict",
                   "the payment result contradicts the order's state, which stays " + order_status,
                   {{"order_id", order_id},
                    {"order_status", order_status},
                    {"payment_id", payment_id},
                    {"result", status},
                    {"reason", std::string(decision.reason)}});
  }
  if (decision.kind == TransitionDecision::apply) {
    ctx_.log.info("payment result recorded", {{"service", "order"},
                                              {"order_id", order_id},
                                              {"status", order_status},
                                              {"payment_id", payment_id},
                                              {"trace_id", req.trace_id}});
  }
  co_return Response::json(
      200,
      {{"order_id", order_id}, {"status", order_status}, {"result", std::string(decision.reason)}});
}

asio::awaitable<void> OrderService::cancel_due_orders(const std::atomic<bool>& stopping) {
  // While order -> payment's breaker is open, every cancel would be refused at once: each pass
  // (4 a second) logged a "call refused by circuit breaker" and recorded a refused call for the
  // same order, 2,635 warnings in a 21-minute soak with outages, pushing the useful records out
  // of the call log (an outside probe). The pass waits for the breaker's wait to end instead;
  // its first call after it is the half-open trial.
  if (payments_.edge().refuses_calls_now()) co_return;
  const std::int64_t created_before_ms = ctx_.clock.unix_millis() - payment_timeout_ms_.load();
  // Parked orders come back in the batch (oldest first) but are skipped until their time:
  // asking for that many more keeps them from filling the batch and starving the others.
  const std::size_t limit = kExpiryBatch + parked_.size();
  auto due = co_await store_.cancel_due(created_before_ms, limit);
  if (due.size() < limit) {
    // Every due order is in `due`: a parked one that is not has ended otherwise (paid, say).
    std::erase_if(parked_, [&](const auto& entry) {
      return std::none_of(due.begin(), due.end(),
                          [&](const OrderToCancel& o) { return o.order_id == entry.first; });
    });
  }
  for (const OrderToCancel& order : due) {
    if (stopping) co_return;
    const auto now = std::chrono::steady_clock::now();
    if (auto p = parked_.find(order.order_id); p != parked_.end() && now < p->second.retry_at)
      continue;
    // The cancel continues the trace of the checkout that created the order: background work
    // belongs to the trace of its subject. An order from before that was stored gets a new one.
    const std::string trace_id =
        order.trace_id.empty() ? platform::TraceContext::fresh().trace_id : order.trace_id;
    std::optional<PaymentCancellation> canceled;
    std::string failure;
    bool answered = false;
    try {
      canceled = co_await payments_.cancel_payment(order.order_id, order.reason, trace_id);
    } catch (const PaymentUnavailable& e) {
      failure = e.what();
      answered = e.answered();
    }
    if (!canceled && answered) {
      // Payment is there but could not end this order's payment (the provider refused this
      // one cancel, say): only this order waits. It used to end the pass, so one such order
      // held back the expiry of every later one, and each pass's 503 counted against the
      // order -> payment breaker until checkouts were refused.
      auto& parked = parked_[order.order_id];
      ++parked.failures;
      parked.retry_at = now + std::min<std::chrono::steady_clock::duration>(
                                  std::chrono::seconds(1L << std::min(parked.failures - 1, 6)),
                                  std::chrono::seconds(60));
      if ((parked.failures & (parked.failures - 1)) == 0) {  // the 1st, 2nd, 4th, 8th, ...
        ctx_.log.warn("cannot cancel an unpaid order's payment; will retry it",
                      {{"service", "order"},
                       {"order_id", order.order_id},
                       {"reason", order.reason},
                       {"failures", parked.failures},
                       {"cause", failure.substr(0, 200)},
                       {"trace_id", trace_id}});
      }
      payment_unreachable_ = false;
      continue;
    }
    if (!canceled) {
      // Payment (or the provider behind it) is unreachable: the order stays pending, and the
      // next pass asks again. Logged once per outage.
      if (!payment_unreachable_) {
        ctx_.log.warn("cannot cancel an unpaid order's payment; will retry",
                      {{"service", "order"},
                       {"order_id", order.order_id},
                       {"reason", order.reason},
                       {"cause", failure.substr(0, 200)},
                       {"trace_id", trace_id}});
      }
      payment_unreachable_ = true;
      co_return;
    }
    payment_unreachable_ = false;
    parked_.erase(order.order_id);
    if (order.after_failure) {
      // The order FAILED when its checkout gave up; only its payment was left to end. CANCELED
      // (or no payment at all, which payment answers CANCELED with a tombstone) and FAILED
      // leave no money moved. SUCCEEDED means someone paid through a link the shopper was
      // never given: money taken for a failed order, an error for an operator (chaos --check
      // reports it too).
      co_await store_.payment_canceled_after_failure(order.order_id);
      const nlohmann::json fields = {{"service", "order"},
                                     {"order_id", order.order_id},
                                     {"payment_id", canceled->payment_id},
                                     {"payment_status", std::string(to_string(canceled->outcome))},
                                     {"trace_id", trace_id}};
      if (canceled->outcome == CancelOutcome::SUCCEEDED) {
        ctx_.log.error("a failed checkout's payment was captured", fields);
      } else {
        ctx_.log.info("a failed checkout's payment ended", fields);
      }
      continue;
    }
    // The FAILED entry's reason: why we canceled, or the provider's reason for a decline that
    // came first.
    std::string reason;
    if (canceled->outcome == CancelOutcome::CANCELED) reason = order.reason;
    if (canceled->outcome == CancelOutcome::FAILED) reason = canceled->failure_reason;
    auto result = co_await store_.apply_cancel_result(
        order.order_id, canceled->payment_id, canceled->outcome, reason, ctx_.clock.unix_millis());
    if (!result) continue;
    const nlohmann::json fields = {{"service", "order"},
                                   {"order_id", order.order_id},
                                   {"why", order.reason},
                                   {"payment_id", canceled->payment_id},
                                   {"payment_status", std::string(to_string(canceled->outcome))},
                                   {"status", std::string(to_string(result->order.status))},
                                   {"result", std::string(result->decision.reason)},
                                   {"trace_id", trace_id}};
    if (result->decision.kind == TransitionDecision::conflict) {
      ctx_.log.error("a canceled payment contradicts the order", fields);
    } else {
      ctx_.log.info("unpaid order ended", fields);
    }
  }
}

}  // namespace shopctl::order
