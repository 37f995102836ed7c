#include "services/payment/payment_service.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/error.hpp"
#include "platform/idempotency_key.hpp"
#include "platform/json_body.hpp"
#include "platform/security/webhook_signature.hpp"

namespace shopctl::payment {

namespace asio = boost::asio;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {

// How often the outbox poller looks for due callbacks (real time). Due-ness itself is judged
// on the shop clock, so advance_clock makes postponed callbacks due at once.
constexpr std::chrono::milliseconds kPollInterval{75};
constexpr std::size_t kPollBatch = 32;
// Reconciliation: how often it looks for due payments (real time; due-ness on the shop
// clock), how many per pass, and the longest wait between two looks at one payment.
constexpr std::chrono::milliseconds kReconcileInterval{200};
constexpr std::size_t kReconcileBatch = 16;
constexpr std::chrono::milliseconds kReconcileMaxWait{3'600'000};
constexpr std::size_t kFinishedKept = 4096;
// How long (shop clock) a PENDING payment without an intent stays untouched before
// reconciliation ends it at the provider, and then waits between two tries: far longer than
// any create takes (the provider edge's attempts, seconds).
constexpr std::chrono::milliseconds kUnopenedAfter{10 * 60 * 1000};

nlohmann::json payment_json(const Payment& payment) {
  return {{"payment_id", payment.payment_id},
          {"order_id", payment.order_id},
          {"status", payment.status},
          {"pay_url", payment.pay_url},
          {"amount_cents", payment.amount_cents},
          {"currency", payment.currency}};
}

}  // namespace

PaymentService::PaymentService(platform::ServiceContext& ctx, PaymentSettings settings)
    : Service(ctx, "payment", settings.port),
      settings_(std::move(settings)),
      store_(ctx.data_dir / "payment.db", ctx.synchronous_for("payment")),
      order_(ctx, settings_.order, &host_.metrics(), settings_.seed),
      provider_(ctx, settings_.provider, &host_.metrics(), settings_.seed),
      runtime_{settings_.outbox_initial_backoff, settings_.outbox_max_backoff,
               settings_.webhook_tolerance, settings_.reconcile_after} {
  add_routes();
  platform::expose_breakers(host_, edges());
  host_.metrics().add_gauge("shopctl_payment_outbox_depth",
                            "Payment-result callbacks to the order service not yet acknowledged",
                            "outbox", [this] {
                              return std::vector<std::pair<std::string, double>>{
                                  {"order_callbacks", static_cast<double>(store_.outbox_depth())}};
                            });
}

PaymentService::~PaymentService() {
  stop();
}

void PaymentService::open_storage() {
  // The callbacks kept from before are due at once (PaymentStore::open), and their waits begin
  // again with this run (outbox_retry_wait).
  started_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                    std::memory_order_relaxed);
  store_.open(ctx_.clock.unix_millis());
}

void PaymentService::close_storage() {
  store_.close();
}

void PaymentService::start_background() {
  poller_.start(
      ctx_.io, kPollInterval,
      [this](const std::atomic<bool>& stopping) { return poll_outbox(stopping); },
      [this](const std::exception& e) {
        ctx_.log.warn("outbox poll failed", {{"service", "payment"}, {"error", e.what()}});
      });
  reconciler_.start(
      ctx_.io, kReconcileInterval,
      [this](const std::atomic<bool>& stopping) { return reconcile(stopping); },
      [this](const std::exception& e) {
        ctx_.log.warn("reconciliation pass failed", {{"service", "payment"}, {"error", e.what()}});
      });
}

void PaymentService::stop_background() {
  // The pass under way finishes its current delivery (at most one attempt's time limit). An
  // io thread must not block on it; the loop then ends on its own.
  poller_.stop(settings_.order.timeout + std::chrono::seconds(2), !ctx_.running_in_io_thread());
  // A look takes at most the provider edge's attempts, then possibly one callback delivery.
  reconciler_.stop(settings_.provider.timeout * std::max(1, settings_.provider.retry.max_attempts) +
                       settings_.order.timeout + std::chrono::seconds(2),
                   !ctx_.running_in_io_thread());
}

void PaymentService::add_routes() {
  host_.routes().add("POST", "/internal/payments", http::Access::only({"order"}),
                     [this](Request& req) { return create_payment(req); });
  host_.routes().add("POST", "/internal/payments/cancel", http::Access::only({"order"}),
                     [this](Request& req) { return cancel_payment(req); });
  host_.routes().add("POST", "/payments/webhook", http::Access::only({"gateway"}),
                     [this](Request& req) { return webhook(req); });
  host_.admin_routes().add("GET", "/_admin/outbox", http::Access::anyone(),
                           [this](Request&) -> asio::awaitable<Response> {
                             co_return Response::json(200, co_await store_.outbox_report(100));
                           });
}

asio::awaitable<Response> PaymentService::create_payment(Request& req) {
  auto header = req.headers.get("Idempotency-Key");
  if (!header) {
    throw ApiError(400, "missing_idempotency_key",
                   "opening a payment needs an Idempotency-Key header",
                   {{"header", "Idempotency-Key"}});
  }
  platform::validate_idempotency_key(*header);
  const std::string key(*header);
  auto body = platform::json_object_body(req);
  const auto order_id = platform::required_string(body, "order_id", kMaxIdLength);
  if (order_id.empty()) {
    throw ApiError(400, "invalid_field", "order_id must not be empty", {{"field", "order_id"}});
  }
  const auto amount_cents = platform::required_integer(body, "amount_cents");
  if (amount_cents < 0) {
    throw ApiError(400, "invalid_field", "amount_cents must not be negative",
                   {{"field", "amount_cents"}});
  }
  const auto currency = platform::required_string(body, "currency", 16);
  validate_currency(currency, "currency");

  Payment payment = co_await store_.create_or_get(key, order_id, amount_cents, currency,
                                                  ctx_.clock.unix_millis(), req.trace_id);
  if (payment.pay_url.empty()) payment = co_await open_intent(std::move(payment), req.trace_id);
  co_return Response::json(201, payment_json(payment));
}

asio::awaitable<Payment> PaymentService::open_intent(Payment payment, const std::string& trace_id) {
  // Open the intent at the provider. The payment id makes the request idempotent there, so
  // the edge may retry it, and a later request with the same key finishes the job.
  const OpenedIntent intent = co_await provider_.open_intent(
      payment.payment_id, payment.amount_cents, payment.currency, trace_id);
  if (!intent.opened()) {
    ctx_.log.warn("payment provider unavailable", {{"service", "payment"},
                                                   {"payment_id", payment.payment_id},
                                                   {"order_id", payment.order_id},
                                                   {"cause", intent.failure.substr(0, 200)},
                                                   {"trace_id", trace_id}});
    // Whether the provider may hold an intent all the same: order then has the payment
    // canceled, which finds it (the create is idempotent at the provider).
    const bool in_doubt = co_await store_.intent_in_doubt(payment.payment_id, intent.may_exist);
    if (intent.refused && !in_doubt) {
      // The provider was reached and refused this payment (400, 409, 429...): payment works,
      // so the answer is no 5xx, which order would retry and its order -> payment breaker
      // count against every checkout (three refusals opened it for 30 s; an outside probe).
      // As a refused cancel: 424. Only when no intent can exist: order takes a 4xx as "no
      // payment opened", and an intent left in doubt must be canceled (the 503 below).
      ApiError error(424, "provider_refused", "the payment provider refused to open this payment",
                     {{"payment_id", payment.payment_id},
                      {"intent_may_exist", false},
                      {"cause", intent.failure.substr(0, 200)}});
      throw error;
    }
    ApiError error(503, "provider_unavailable",
                   "the payment provider cannot open a payment right now",
                   {{"payment_id", payment.payment_id}, {"intent_may_exist", in_doubt}});
    error.with_retry_after(provider_.edge().retry_after_seconds());
    throw error;
  }
  const auto now_ms = ctx_.clock.unix_millis();
  payment = co_await store_.attach_intent(payment.payment_id, intent.intent_id, intent.pay_url,
                                          now_ms, now_ms + runtime().reconcile_after.count());
  co_return payment;
}

asio::awaitable<Response> PaymentService::cancel_payment(Request& req) {
  const CancelRequest cancel = parse_cancel_request(platform::json_object_body(req));
  auto answer = [&cancel](const std::optional<Payment>& payment) {
    auto optional_text = [](const std::string& text) {
      return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
    };
    return Response::json(
        200,
        {{"order_id", cancel.order_id},
         {"payment_id", payment ? nlohmann::json(payment->payment_id) : nlohmann::json()},
         {"status", payment ? payment->status : std::string(kCanceled)},
         {"reason", payment && payment->status == kFailed ? optional_text(payment->failure_reason)
                                                          : nlohmann::json(nullptr)}});
  };

  // 1. The order's payment; none: the order keeps a tombstone and the answer is CANCELED.
  std::optional<Payment> payment =
      co_await store_.begin_cancel(cancel.order_id, cancel.reason, ctx_.clock.unix_millis());
  if (!payment || payment->status != kPending) co_return answer(payment);
  std::optional<ApiError> unreachable;
  try {
    co_return answer(co_await end_at_provider(std::move(*payment), cancel.reason, req.trace_id));
  } catch (const ApiError& e) {
    if (e.status() != 503) throw;
    unreachable = e;
  }
  // The provider cannot be reached (its breaker open, a transport error): payment itself
  // works, so a cancel is answered 424, as one the provider refused. A 503 counted against the
  // order -> payment breaker, and cancels failing at the provider (a hang or 500s on its
  // /cancel alone) opened it in front of every checkout (an outside probe). The order asks
  // again later for this one order (docs/money.md, "Expiry").
  ApiError error(424, "provider_unavailable",
                 "the payment provider cannot be reached to cancel this payment; ask again later",
                 unreachable->details());
  error.with_retry_after(provider_.edge().retry_after_seconds());
  throw error;
}

asio::awaitable<Payment> PaymentService::end_at_provider(Payment payment, std::string reason,
                                                         std::string trace_id) {
  // 2. A payment whose intent was never opened gets it first (the create is idempotent at the
  // provider: an intent opened by a request whose answer was lost is found again).
  if (payment.intent_id.empty()) {
    payment = co_await open_intent(std::move(payment), trace_id);
  }

  // 3. Cancel the intent. The provider decides capture against cancel in one transaction:
  // either it is canceled now (or was before), or it was paid or declined first and its
  // answer carries that decision's event.
  const IntentCancellation reply = co_await provider_.cancel_intent(payment.intent_id, trace_id);
  if (reply.outcome == IntentCancellation::Outcome::unknown) {
    // The provider has no such intent (its data was reset, or the shop now talks to another
    // provider): nothing can be captured on it, and its pay page answers 404. Cancel it here,
    // or the order would stay unpaid for ever and its cancel be retried without end.
    ctx_.log.warn("the provider knows no intent for this payment; canceled here",
                  {{"service", "payment"},
                   {"order_id", payment.order_id},
                   {"payment_id", payment.payment_id},
                   {"intent_id", payment.intent_id},
                   {"trace_id", trace_id}});
  }
  if (reply.outcome == IntentCancellation::Outcome::canceled ||
      reply.outcome == IntentCancellation::Outcome::unknown) {
    payment = co_await store_.mark_canceled(payment.payment_id, reason, ctx_.clock.unix_millis());
    ctx_.log.info("payment canceled", {{"service", "payment"},
                                       {"order_id", payment.order_id},
                                       {"payment_id", payment.payment_id},
                                       {"reason", reason},
                                       {"trace_id", trace_id}});
    co_return std::move(payment);
  }
  if (reply.outcome == IntentCancellation::Outcome::decided) {
    const ProviderEvent& event = *reply.event;
    // Recorded exactly as the webhook would have been: once per event, with the callback to
    // the order service in the outbox in the same transaction.
    // No try here: the poller delivers it at once.
    const auto now_ms = ctx_.clock.unix_millis();
    auto recorded = co_await store_.record_event(event, trace_id, now_ms, now_ms);
    warn_if_contradicts(recorded, event, trace_id);
    ctx_.log.info("payment decided before its cancel", {{"service", "payment"},
                                                        {"order_id", payment.order_id},
                                                        {"payment_id", event.payment_id},
                                                        {"event_id", event.event_id},
                                                        {"type", event.type},
                                                        {"duplicate", recorded.duplicate},
                                                        {"trace_id", trace_id}});
    co_return std::move(recorded.payment);
  }
  ctx_.log.warn(reply.answered ? "payment provider refused a cancel"
                               : "payment provider unavailable for a cancel",
                {{"service", "payment"},
                 {"order_id", payment.order_id},
                 {"payment_id", payment.payment_id},
                 {"cause", reply.failure.substr(0, 200)},
                 {"trace_id", trace_id}});
  if (reply.answered) {
    // The provider was reached and refused this one cancel. Payment itself works, so the
    // answer is not a 5xx: one order the provider will not cancel must not count against the
    // order -> payment breaker (a 5xx does) and close it for every checkout. 424 Failed
    // Dependency says what happened; the order asks again later (docs/money.md, "Expiry").
    ApiError error(424, "provider_refused",
                   "the payment provider refused to cancel this payment; ask again later",
                   {{"payment_id", payment.payment_id}, {"cause", reply.failure.substr(0, 200)}});
    error.with_retry_after(provider_.edge().retry_after_seconds());
    throw error;
  }
  ApiError error(503, "provider_unavailable",
                 "the payment provider cannot cancel the payment right now",
                 {{"payment_id", payment.payment_id}});
  error.with_retry_after(provider_.edge().retry_after_seconds());
  throw error;
}

void PaymentService::set_outbox_backoff(std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max) {
  std::lock_guard lock(runtime_mu_);
  runtime_.outbox_initial_backoff = initial;
  runtime_.outbox_max_backoff = max;
}

void PaymentService::set_webhook_tolerance(std::chrono::seconds tolerance) {
  std::lock_guard lock(runtime_mu_);
  runtime_.webhook_tolerance = tolerance;
}

void PaymentService::set_reconcile_after(std::chrono::milliseconds after) {
  std::lock_guard lock(runtime_mu_);
  runtime_.reconcile_after = after;
}

PaymentService::Runtime PaymentService::runtime() const {
  std::lock_guard lock(runtime_mu_);
  return runtime_;
}

std::int64_t PaymentService::inline_callback_due_at() const {
  // The outbox row of a callback tried at once becomes due for the poller one initial backoff
  // later (the provider's first retry waits likewise), so the poller does not take it from
  // under the first try: when it did (every 75 ms it looks), that try was skipped and the
  // webhook answered before the order had the result, whose callback was then recorded after
  // the shopper's payment had been answered. A crash before the try leaves the row for the
  // poller, one initial backoff later.
  return ctx_.clock.unix_millis() + runtime().outbox_initial_backoff.count();
}

asio::awaitable<Response> PaymentService::webhook(Request& req) {
  auto signature = req.headers.get(platform::security::kWebhookSignatureHeader);
  if (!signature) {
    throw ApiError(400, "bad_signature", "the event carries no Payment-Signature header",
                   {{"check", "missing"}});
  }
  const auto tolerance = runtime().webhook_tolerance.count();
  const auto check = platform::security::verify_webhook(
      *signature, req.body, settings_.webhook_secret, ctx_.clock.unix_seconds(), tolerance);
  if (check == platform::security::WebhookCheck::stale) {
    throw ApiError(400, "stale_event",
                   "the event's signature timestamp is more than " + std::to_string(tolerance) +
                       " s away from now",
                   {{"tolerance_seconds", tolerance}});
  }
  if (check != platform::security::WebhookCheck::ok) {
    // A forged event, or a provider that signs with another webhook_secret than this
    // process's: then every payment is captured at the provider while its order stays
    // PAYMENT_PENDING, and payment said nothing (an outside probe on a split shop).
    const auto taken = ctx_.log.enabled(platform::LogLevel::warn) ? unverified_webhook_lines_.take()
                                                                  : platform::LineBudget::Taken{};
    if (taken.unlogged > 0) {
      ctx_.log.warn(
          "webhooks whose signature does not verify not logged",
          {{"service", "payment"}, {"count", taken.unlogged}, {"why", "more than 20 in a second"}});
    }
    if (taken.log) {
      ctx_.log.warn(
          "a webhook's signature does not verify: a forged event, or the provider signs "
          "with another secrets.webhook_secret than this process's",
          {{"service", "payment"},
           {"check", std::string(platform::security::to_string(check))},
           {"trace_id", req.trace_id}});
    }
    throw ApiError(400, "bad_signature", "the event's Payment-Signature does not verify",
                   {{"check", std::string(platform::security::to_string(check))}});
  }
  const auto event = parse_provider_event(platform::json_object_body(req));
  auto recorded = co_await store_.record_event(event, req.trace_id, ctx_.clock.unix_millis(),
                                               inline_callback_due_at());
  warn_if_contradicts(recorded, event, req.trace_id);
  if (recorded.duplicate) {
    co_return Response::json(
        200, {{"received", true}, {"duplicate", true}, {"event_id", event.event_id}});
  }
  ctx_.log.info("payment event recorded", {{"service", "payment"},
                                           {"event_id", event.event_id},
                                           {"payment_id", event.payment_id},
                                           {"type", event.type},
                                           {"trace_id", req.trace_id}});
  std::optional<CallbackVerdict> verdict;
  if (recorded.callback) verdict = co_await deliver(*recorded.callback);
  // What the order service did with the result: `callback_delivered` alone said true for a
  // callback the order refused as contradicting it (an outside probe).
  const char* outcome = !verdict                                    ? "will_retry"
                        : *verdict == CallbackVerdict::acknowledged ? "applied"
                        : *verdict == CallbackVerdict::conflict     ? "refused_contradicts_order"
                                                                    : "refused";
  co_return Response::json(200, {{"received", true},
                                 {"duplicate", false},
                                 {"event_id", event.event_id},
                                 {"payment_id", recorded.payment.payment_id},
                                 {"payment_status", recorded.payment.status},
                                 {"callback_delivered", verdict.has_value()},
                                 {"callback_outcome", outcome},
                                 {"contradicts_payment", recorded.contradicts}});
}

void PaymentService::warn_if_contradicts(const RecordedEvent& recorded, const ProviderEvent& event,
                                         const std::string& trace_id) {
  if (!recorded.contradicts) return;
  ctx_.log.warn("payment event contradicts the payment's result; the order is told the first",
                {{"service", "payment"},
                 {"order_id", recorded.payment.order_id},
                 {"payment_id", event.payment_id},
                 {"event_id", event.event_id},
                 {"type", event.type},
                 {"payment_status", recorded.payment.status},
                 {"trace_id", trace_id}});
}

asio::awaitable<std::optional<CallbackVerdict>> PaymentService::deliver(OutboxEntry entry) {
  {
    std::lock_guard lock(in_flight_mu_);
    if (finished_.count(entry.id) || !in_flight_.insert(entry.id).second) co_return std::nullopt;
  }
  struct Release {
    PaymentService* service;
    std::int64_t id;
    ~Release() {
      std::lock_guard lock(service->in_flight_mu_);
      service->in_flight_.erase(id);
    }
  } release{this, entry.id};

  const CallbackAnswer reply =
      co_await order_.send_payment_result(entry.order_id, entry.body, entry.trace_id);
  const std::optional<int>& status = reply.status;
  const std::string& error = reply.error;
  const CallbackVerdict verdict = status ? judge_callback_answer(*status) : CallbackVerdict::retry;
  const std::int64_t now_ms = ctx_.clock.unix_millis();
  const nlohmann::json fields = {{"service", "payment"},          {"outbox_id", entry.id},
                                 {"order_id", entry.order_id},    {"payment_id", entry.payment_id},
                                 {"attempt", entry.attempts + 1}, {"trace_id", entry.trace_id}};
  if (verdict == CallbackVerdict::retry) {
    const int attempts = entry.attempts + 1;
    const Runtime now = runtime();
    const auto up_for = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch() -
        std::chrono::steady_clock::duration(started_ns_.load(std::memory_order_relaxed)));
    const auto wait = outbox_retry_wait(attempts, now.outbox_initial_backoff,
                                        now.outbox_max_backoff, up_for, reply.breaker_wait);
    auto log_fields = fields;
    log_fields["error"] = error.substr(0, 200);
    log_fields["retry_in_ms"] = wait.count();
    ctx_.log.warn("payment-result callback not delivered; will retry", log_fields);
    co_await store_.postpone_callback(entry.id, attempts, now_ms + wait.count(), error);
    co_return std::nullopt;
  }
  if (verdict == CallbackVerdict::conflict) {
    auto log_fields = fields;
    log_fields["answer"] = error.substr(0, 200);
    // An error, as docs/money.md says: the provider's decision and the order disagree (money
    // captured for an order that failed, say), which an operator must look at.
    ctx_.log.error("order refused a contradicting payment result", log_fields);
  } else if (verdict == CallbackVerdict::rejected) {
    auto log_fields = fields;
    log_fields["answer"] = error.substr(0, 200);
    ctx_.log.error("order rejected a payment-result callback; giving up", log_fields);
  }
  co_await store_.finish_callback(entry.id, verdict, *status, now_ms);
  {
    std::lock_guard lock(in_flight_mu_);
    finished_.insert(entry.id);
    if (finished_.size() > kFinishedKept) finished_.erase(finished_.begin());
  }
  co_return verdict;
}

asio::awaitable<void> PaymentService::poll_outbox(const std::atomic<bool>& stopping) {
  auto due = co_await store_.due_callbacks(ctx_.clock.unix_millis(), kPollBatch);
  for (auto& entry : due) {
    if (stopping) break;
    co_await deliver(std::move(entry));
  }
}

asio::awaitable<void> PaymentService::reconcile(const std::atomic<bool>& stopping) {
  // Payments that never got their intent and that nothing works on any more: their order
  // failed (payment could not reach the provider, or the provider refused the create), and a
  // payment stayed PENDING for ever with no intent to look up (`shopctl chaos` found twelve in
  // 20 s once payments-agree asked). Payment cannot know that no intent exists (a create cut
  // short by a crash, or still at the provider, may have left one), so each is ended as a
  // cancel ends it: the intent opened (the provider finds any that exists), then canceled.
  const auto now_ms = ctx_.clock.unix_millis();
  for (auto& unopened :
       co_await store_.take_unopened(now_ms, now_ms - kUnopenedAfter.count(), kReconcileBatch)) {
    if (stopping) break;
    const std::string payment_id = unopened.payment_id, order_id = unopened.order_id;
    const std::string trace_id = platform::TraceContext::fresh().trace_id;
    std::string failure, status;
    try {
      status = (co_await end_at_provider(std::move(unopened), "never_opened", trace_id)).status;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      ctx_.log.info("a payment that never got its intent was ended at the provider",
                    {{"service", "payment"},
                     {"payment_id", payment_id},
                     {"order_id", order_id},
                     {"status", status},
                     {"trace_id", trace_id}});
    } else {
      ctx_.log.warn(
          "a payment that never got its intent could not be ended yet; tried again "
          "in 10 minutes",
          {{"service", "payment"},
           {"payment_id", payment_id},
           {"order_id", order_id},
           {"cause", failure.substr(0, 200)},
           {"trace_id", trace_id}});
    }
  }
  auto due = co_await store_.due_reconciliations(ctx_.clock.unix_millis(), kReconcileBatch);
  for (auto& item : due) {
    if (stopping) break;
    co_await reconcile_one(std::move(item));
  }
}

asio::awaitable<void> PaymentService::reconcile_one(ReconcileItem item) {
  // A look continues the trace of the request that opened the payment (a checkout's), as the
  // callback it may lead to does: background work belongs to the trace of its subject. A
  // payment from before that was stored gets a new trace.
  const std::string trace_id =
      item.trace_id.empty() ? platform::TraceContext::fresh().trace_id : item.trace_id;
  nlohmann::json fields = {{"service", "payment"},
                           {"payment_id", item.payment_id},
                           {"intent_id", item.intent_id},
                           {"trace_id", trace_id}};
  IntentLook look = co_await provider_.look_up(item.intent_id, trace_id);
  std::optional<ProviderEvent> event = std::move(look.event);
  std::string problem = std::move(look.problem);  // empty with no event: not decided yet
  if (event && event->payment_id != item.payment_id) {
    problem = "the intent's event names another payment";
    event.reset();
  }
  if (event) {
    try {
      auto recorded = co_await store_.record_event(*event, trace_id, ctx_.clock.unix_millis(),
                                                   inline_callback_due_at());
      warn_if_contradicts(recorded, *event, trace_id);
      auto log_fields = fields;
      log_fields["event_id"] = event->event_id;
      log_fields["type"] = event->type;
      log_fields["duplicate"] = recorded.duplicate;
      ctx_.log.info("payment reconciled from the provider", log_fields);
      if (recorded.callback) co_await deliver(*recorded.callback);
      co_return;
    } catch (const platform::DomainError& e) {
      // amount_mismatch, payment_not_found: never recorded; looked at again later (and logged
      // each time), as a webhook with the same event would be refused each time.
      problem = std::string("the intent's event was refused: ") + e.what();
    }
  }
  const int checks = item.checks + 1;
  // Never longer than the service has been up, as for the outbox: in a split shop payment may
  // start before the provider, and the look made due by the start would fail and wait an hour.
  const auto up_for = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch() -
      std::chrono::steady_clock::duration(started_ns_.load(std::memory_order_relaxed)));
  const auto wait =
      outbox_retry_wait(checks + 1, runtime().reconcile_after, kReconcileMaxWait, up_for);
  auto log_fields = fields;
  log_fields["checks"] = checks;
  log_fields["next_look_in_ms"] = wait.count();
  if (!problem.empty()) {
    log_fields["problem"] = problem.substr(0, 200);
    ctx_.log.warn("reconciliation could not learn the intent's outcome", log_fields);
  } else {
    ctx_.log.info("reconciliation: intent not decided yet", log_fields);
  }
  co_await store_.postpone_reconciliation(item.payment_id, checks,
                                          ctx_.clock.unix_millis() + wait.count());
}

}  // namespace shopctl::payment
