#include "services/provider/provider_service.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/error.hpp"
#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/security/compare.hpp"
#include "platform/security/hmac.hpp"
#include "platform/security/webhook_signature.hpp"
#include "platform/store/database.hpp"
#include "services/provider/pay_page.hpp"

namespace shopctl::provider {

namespace asio = boost::asio;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {

constexpr std::string_view kWebhookPath = "/api/payments/webhook";
constexpr std::chrono::milliseconds kPollInterval{100};
constexpr std::size_t kMaxIdLength = 100;

}  // namespace

ProviderService::ProviderService(platform::ServiceContext& ctx, ProviderSettings settings)
    : Service(ctx, "provider", settings.port),
      settings_(std::move(settings)),
      store_(ctx.data_dir / "provider.db", ctx.synchronous_for("provider")),
      // The provider is outside the shop: its webhooks carry no service credential, only the
      // Payment-Signature.
      webhooks_(ctx, "provider", "gateway", &host_.metrics(), platform::EdgeCredential::none()) {
  add_routes();
  // Only the payment service holds the shop's API key: faults `from: payment` keep working.
  host_.set_outside_caller([this](const Request& req) {
    return carries_api_key(req) ? std::string("payment") : std::string();
  });
}

ProviderService::~ProviderService() {
  stop();
}

void ProviderService::open_storage() {
  // The events kept undelivered are due at once (ProviderStore::open), and their waits begin
  // again with this run (next_webhook_attempt's up_for). After a shop was down for hours, its
  // captured orders stayed PAYMENT_PENDING ~14 minutes after the restart, until each event's
  // stored try came (an outside probe).
  started_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                    std::memory_order_relaxed);
  store_.open(ctx_.clock.unix_millis());
}

void ProviderService::close_storage() {
  store_.close();
}

void ProviderService::start_background() {
  poller_.start(
      ctx_.io, kPollInterval,
      [this](const std::atomic<bool>& stopping) { return retry_undelivered(stopping); },
      [this](const std::exception& e) {
        ctx_.log.warn("webhook retry failed", {{"service", "provider"}, {"error", e.what()}});
      });
}

void ProviderService::stop_background() {
  poller_.stop(settings_.webhook_timeout + std::chrono::seconds(2), !ctx_.running_in_io_thread());
}

std::string ProviderService::pay_url(const std::string& intent_id) const {
  if (!settings_.public_url.empty()) return settings_.public_url + "/pay/" + intent_id;
  return ctx_.local_url(host_.port()) + "/pay/" + intent_id;
}

nlohmann::json ProviderService::intent_json(const Intent& intent) const {
  auto optional_text = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  // Field by field (no brace form: it builds a two-element array per field first).
  nlohmann::json j(nlohmann::json::value_t::object);
  j["intent_id"] = intent.intent_id;
  j["payment_id"] = intent.payment_id;
  j["amount_cents"] = intent.amount_cents;
  j["currency"] = intent.currency;
  j["status"] = intent.status;
  j["failure_reason"] = optional_text(intent.failure_reason);
  j["event_id"] = optional_text(intent.event_id);
  j["pay_url"] = pay_url(intent.intent_id);
  j["event"] = intent.event_body.empty() ? nlohmann::json(nullptr)
                                         : platform::parse_json_or_discarded(intent.event_body);
  return j;
}

bool ProviderService::carries_api_key(const Request& req) const {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view presented;
  // The scheme in any letter case (RFC 9110 11.1), as the gateway takes it: "bearer" was 401.
  if (auto header = req.headers.get("Authorization");
      header && header->size() > kBearer.size() &&
      http::iequals(header->substr(0, kBearer.size()), kBearer)) {
    presented = header->substr(kBearer.size());
  }
  return !settings_.api_key.empty() && !presented.empty() &&
         platform::security::secrets_equal(presented, settings_.api_key);
}

void ProviderService::require_api_key(const Request& req) const {
  if (!carries_api_key(req)) {
    throw ApiError(401, "invalid_api_key",
                   "the provider's API needs the shop's API key in Authorization: Bearer <key>");
  }
}

void ProviderService::add_routes() {
  auto& routes = host_.routes();
  // The shop's API: open at the host (the provider is an outside party: the shop's internal
  // service credential means nothing here), guarded by the shop's API key before the handler.
  auto shop_api = [this, &routes](std::string method, std::string pattern, http::Handler handler) {
    routes.add(std::move(method), std::move(pattern), http::Access::anyone(),
               [this, handler = std::move(handler)](Request& req) {
                 require_api_key(req);
                 return handler(req);
               });
  };
  shop_api("POST", "/v1/payment_intents", [this](Request& req) { return create_intent(req); });
  shop_api("GET", "/v1/payment_intents",
           [this](Request& req) { return find_intent_by_payment(req); });
  shop_api("GET", "/v1/payment_intents/{intent_id}",
           [this](Request& req) { return get_intent(req); });
  routes.add("GET", "/pay/{intent_id}", http::Access::anyone(),
             [this](Request& req) -> asio::awaitable<Response> {
               auto intent = co_await store_.find_intent(req.param("intent_id"));
               // A browser opening pay_url gets the hosted pay page (pay_page.hpp), also when
               // the intent is unknown or the return URL refused: the page asks again for JSON
               // and says why in words; the status is the error's.
               if (wants_pay_page(req)) {
                 int status = intent ? 200 : 404;
                 try {
                   checked_return_url(req, ctx_.peers.get("gateway"), ctx_.allowed_hosts.get());
                 } catch (const ApiError& refused) {
                   if (intent) status = refused.status();
                 }
                 auto page = pay_page_response(req, status);
                 page.headers.set("Vary", "Accept");  // one URL, two answers
                 co_return page;
               }
               // The JSON answers say Vary: Accept too, the errors included (they did not).
               std::optional<std::string> return_url;
               try {
                 if (!intent) {
                   throw ApiError(404, "intent_not_found",
                                  "no payment intent " + req.param("intent_id").substr(0, 100));
                 }
                 return_url =
                     checked_return_url(req, ctx_.peers.get("gateway"), ctx_.allowed_hosts.get());
               } catch (const ApiError& e) {
                 auto refused = platform::error_response(e, req.trace_id);
                 refused.headers.set("Vary", "Accept");
                 co_return refused;
               }
               auto body = intent_json(*intent);
               if (return_url) body["return_url"] = *return_url;
               // The page's URL, answered as JSON: never to be shown for the page on Back, and
               // the intent's state changes.
               auto answer = Response::json(200, body);
               answer.headers.set("Vary", "Accept");
               answer.headers.set("Cache-Control", "no-store");
               co_return answer;
             });
  add_pay_page_routes(host_);
  routes.add("POST", "/pay/{intent_id}", http::Access::anyone(),
             [this](Request& req) { return pay(req); });
  // A pay link cut short or run on (`/pay`, `/pay/`, `/pay/pi_x/more`) names no intent: a
  // browser gets the pay page saying so, not raw JSON (an outside probe); other clients get
  // the 404 they got before. After the static files' routes, which come first.
  for (const char* pattern : {"/pay", "/pay/{intent_id}/{*rest}"}) {
    routes.add(
        "GET", pattern, http::Access::anyone(), [](Request& req) -> asio::awaitable<Response> {
          auto answer =
              wants_pay_page(req) ? pay_page_response(req, 404) : platform::route_not_found(req);
          answer.headers.set("Vary", "Accept");
          co_return answer;
        });
  }
  shop_api("POST", "/v1/payment_intents/{intent_id}/cancel",
           [this](Request& req) { return cancel_intent(req); });
  shop_api("POST", "/v1/events/{event_id}/resend", [this](Request& req) { return resend(req); });
  host_.admin_routes().add("GET", "/_admin/webhooks", http::Access::anyone(),
                           [this](Request&) -> asio::awaitable<Response> {
                             co_return Response::json(200, co_await store_.webhook_report(50));
                           });
}

asio::awaitable<Response> ProviderService::get_intent(Request& req) {
  auto intent = co_await store_.find_intent(req.param("intent_id"));
  if (!intent) {
    throw ApiError(404, "intent_not_found",
                   "no payment intent " + req.param("intent_id").substr(0, kMaxIdLength));
  }
  co_return Response::json(200, intent_json(*intent));
}

asio::awaitable<Response> ProviderService::find_intent_by_payment(Request& req) {
  auto payment_id = req.query_param("payment_id");
  if (!payment_id || payment_id->empty() || payment_id->size() > kMaxIdLength) {
    throw ApiError(400, "invalid_query",
                   "payment_id must be given, 1 to " + std::to_string(kMaxIdLength) + " characters",
                   {{"parameter", "payment_id"}});
  }
  auto intent = co_await store_.find_intent_by_payment(*payment_id);
  if (!intent) {
    throw ApiError(404, "intent_not_found", "no payment intent for payment " + *payment_id,
                   {{"payment_id", *payment_id}});
  }
  co_return Response::json(200, intent_json(*intent));
}

asio::awaitable<Response> ProviderService::create_intent(Request& req) {
  auto body = platform::json_object_body(req);
  const auto payment_id = platform::required_string(body, "payment_id", kMaxIdLength);
  const auto amount_cents = platform::required_integer(body, "amount_cents");
  const auto currency = platform::required_string(body, "currency", 16);
  if (payment_id.empty()) {
    throw ApiError(400, "invalid_field", "payment_id must not be empty", {{"field", "payment_id"}});
  }
  if (amount_cents < 0) {
    throw ApiError(400, "invalid_field", "amount_cents must not be negative",
                   {{"field", "amount_cents"}});
  }
  // An ISO 4217 code, as the shop sends it: "eur" and "EURO" were taken.
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    throw ApiError(400, "invalid_field",
                   "currency must be a three-letter ISO 4217 code in capitals, like EUR",
                   {{"field", "currency"}});
  }
  auto result =
      co_await store_.create_intent(payment_id, amount_cents, currency, ctx_.clock.unix_millis());
  co_return Response::json(result.created ? 201 : 200, intent_json(result.intent));
}

asio::awaitable<Response> ProviderService::cancel_intent(Request& req) {
  auto canceled = co_await store_.cancel_intent(req.param("intent_id"), ctx_.clock.unix_millis());
  if (canceled.intent.status != "canceled") {
    // The payment was decided first: the shop gets the decision and its event, to record it
    // as the webhook would have.
    throw ApiError(409, "intent_already_processed",
                   "this payment intent was already paid or declined; it cannot be canceled",
                   {{"intent", intent_json(canceled.intent)}});
  }
  co_return Response::json(200, intent_json(canceled.intent));
}

asio::awaitable<Response> ProviderService::pay(Request& req) {
  const std::string intent_id = req.param("intent_id");
  auto intent = co_await store_.find_intent(intent_id);
  if (!intent) {
    throw ApiError(404, "intent_not_found", "no payment intent " + intent_id.substr(0, 100));
  }
  if (intent->status == "canceled") {
    throw ApiError(409, "intent_canceled",
                   "this payment intent was canceled; it can no longer be paid",
                   {{"intent_id", intent_id}, {"status", intent->status}});
  }
  if (intent->status != "requires_payment") {
    throw ApiError(409, "intent_already_processed",
                   "this payment intent was already paid or declined",
                   {{"intent_id", intent_id}, {"status", intent->status}});
  }
  auto body = platform::json_object_body(req);
  const auto card_number = platform::required_string(body, "card_number", 64);
  auto decision = decide_card(card_number);
  if (!decision) {
    throw ApiError(400, "invalid_card",
                   is_sixteen_digits(card_number)
                       ? "the card number is not accepted; use a test card"
                       : "card_number must be 16 digits",
                   {{"field", "card_number"},
                    {"test_cards", {"4242424242424242", "4000000000000002", "4000000000009995"}}});
  }

  // Decide and store the signed event first, then deliver it before answering, so that the
  // shop has heard of the payment by the time the user sees the answer.
  // The event and its first retry time are stored together: if the delivery below never
  // happens (a crash), the poller sends it. The first retry waits one initial backoff, so in
  // normal operation the inline delivery has recorded its outcome by then.
  const auto now_ms = ctx_.clock.unix_millis();
  auto settled = co_await store_.settle(
      intent_id, *decision, settings_.webhook_secret, ctx_.clock.unix_seconds(), now_ms,
      now_ms + webhook_retry_backoff(1, webhook_retry()).count(), req.trace_id);
  Delivery delivery = co_await deliver_and_record(settled.event, 0, "inline");
  auto optional_text = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  co_return Response::json(200, {{"intent_id", intent_id},
                                 {"status", settled.intent.status},
                                 {"failure_reason", optional_text(settled.intent.failure_reason)},
                                 {"event_id", settled.event.event_id},
                                 {"webhook_delivered", delivery.delivered()}});
}

void ProviderService::set_webhook_retry(const WebhookRetryPolicy& policy) {
  std::lock_guard lock(retry_mu_);
  settings_.webhook_retry = policy;
}

WebhookRetryPolicy ProviderService::webhook_retry() const {
  std::lock_guard lock(retry_mu_);
  return settings_.webhook_retry;
}

asio::awaitable<Response> ProviderService::resend(Request& req) {
  const std::string event_id = req.param("event_id");
  auto event = co_await store_.find_event(event_id);
  if (!event) throw ApiError(404, "event_not_found", "no event " + event_id.substr(0, 100));
  // The same bytes, signed afresh (a resend long after the event is no stale replay), in the
  // trace of the resend request: it is what caused this delivery.
  Delivery delivery = co_await send_event(*event, req.trace_id);
  if (delivery.delivered()) {
    co_await store_.record_delivery(event_id, true, delivery.status, event->attempts + 1,
                                    std::nullopt);
  }
  co_return Response::json(
      200,
      {{"event_id", event_id},
       {"delivered", delivery.delivered()},
       {"gateway_status", delivery.status ? nlohmann::json(*delivery.status) : nlohmann::json()},
       {"in_flight", delivery.skipped},
       // null when nothing was signed (another delivery of the event was in flight): 0 read as
       // a time in 1970 (an outside probe).
       {"signed_at", delivery.skipped ? nlohmann::json() : nlohmann::json(delivery.signed_at)}});
}

asio::awaitable<ProviderService::Delivery> ProviderService::send_event(
    const StoredEvent& event, const std::string& trace_id) {
  Delivery delivery;
  {
    std::lock_guard lock(sending_mu_);
    if (!sending_.insert(event.event_id).second) {
      delivery.skipped = true;
      co_return delivery;
    }
  }
  struct Release {
    ProviderService* service;
    const std::string& event_id;
    ~Release() {
      std::lock_guard lock(service->sending_mu_);
      service->sending_.erase(event_id);
    }
  } release{this, event.event_id};

  delivery.signed_at = ctx_.clock.unix_seconds();
  const auto signature =
      platform::security::sign_webhook(settings_.webhook_secret, delivery.signed_at, event.body);
  Request request;
  request.method = "POST";
  request.target = std::string(kWebhookPath);
  request.headers.set("Content-Type", "application/json; charset=utf-8");
  request.headers.set(std::string(platform::security::kWebhookSignatureHeader), signature);
  request.body = event.body;
  try {
    // A new span of the given trace (the provider knows no trace of the shop's: the one it
    // continues began with a request to the provider itself), or a new trace; the caller
    // records the call (provider->gateway) and its metrics.
    auto result = co_await webhooks_.call(std::move(request), settings_.webhook_timeout, trace_id);
    delivery.status = result.response.status;
    if (result.response.status >= 300) delivery.error = result.response.body.substr(0, 200);
  } catch (const http::TransportError& e) {
    delivery.error = std::string(http::to_string(e.kind())) + ": " + e.what();
  }
  co_return delivery;
}

asio::awaitable<ProviderService::Delivery> ProviderService::deliver_and_record(
    const StoredEvent& event, int failed_before, std::string_view how) {
  Delivery delivery = co_await send_event(event, event.trace_id);
  if (delivery.skipped) co_return delivery;
  const int attempts = failed_before + 1;
  std::optional<std::int64_t> next_attempt;
  if (!delivery.delivered()) {
    // Any answer but a 2xx is tried again, as real providers do: the shop may be down, or
    // refusing while it is being fixed; payment dedups by event_id.
    const auto up_for = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch() -
        std::chrono::steady_clock::duration(started_ns_.load(std::memory_order_relaxed)));
    next_attempt = next_webhook_attempt(attempts, event.created_at_ms, ctx_.clock.unix_millis(),
                                        webhook_retry(), up_for);
    nlohmann::json fields = {
        {"service", "provider"},
        {"event_id", event.event_id},
        {"intent_id", event.intent_id},
        {"delivery", how},
        {"attempts", attempts},
        {"status", delivery.status ? nlohmann::json(*delivery.status) : nlohmann::json()},
        {"error", delivery.error.substr(0, 200)}};
    if (next_attempt) {
      fields["next_attempt_at_ms"] = *next_attempt;
      ctx_.log.warn("webhook not delivered; will retry", fields);
    } else {
      ctx_.log.error("webhook given up", fields);
    }
  }
  // Bookkeeping, after the money: the capture (or decline) is committed and its event stored
  // with a retry time, so a delivery whose outcome cannot be written (a full disk) is only sent
  // again by the poller, which payment dedups. It must not turn the pay page's answer into a
  // 503 "nothing was acknowledged" after the card was charged (an outside probe filled the disk
  // and was told 503, then 409 intent_already_processed on retrying).
  try {
    co_await store_.record_delivery(event.event_id, delivery.delivered(), delivery.status, attempts,
                                    next_attempt);
    std::lock_guard lock(held_back_mu_);
    held_back_.erase(event.event_id);
  } catch (const platform::DatabaseError& e) {
    {
      // Not before what the record would have said (a delivered event: one initial backoff,
      // as payment dedups it anyway).
      constexpr std::size_t kMostHeld = 10'000;
      const std::int64_t not_before = next_attempt.value_or(
          ctx_.clock.unix_millis() + webhook_retry_backoff(1, webhook_retry()).count());
      std::lock_guard lock(held_back_mu_);
      if (held_back_.size() < kMostHeld || held_back_.contains(event.event_id))
        held_back_[event.event_id] = not_before;
    }
    ctx_.log.warn("a webhook delivery could not be recorded; the poller will send it again",
                  {{"service", "provider"},
                   {"event_id", event.event_id},
                   {"delivery", how},
                   {"delivered", delivery.delivered()},
                   {"error", std::string(e.what()).substr(0, 200)}});
  }
  co_return delivery;
}

asio::awaitable<void> ProviderService::retry_undelivered(const std::atomic<bool>& stopping) {
  const std::int64_t now = ctx_.clock.unix_millis();
  auto due = co_await store_.due_events(now);
  for (const StoredEvent& event : due) {
    if (stopping) break;
    {
      std::lock_guard lock(held_back_mu_);
      if (const auto held = held_back_.find(event.event_id); held != held_back_.end()) {
        if (held->second > now) continue;
        held_back_.erase(held);
      }
    }
    co_await deliver_and_record(event, event.attempts, "retry");
  }
}

}  // namespace shopctl::provider
