#include "services/provider/provider_service.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/error.hpp"
#include "platform/json_body.hpp"
#include "platform/security/webhook_signature.hpp"

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
      webhook_client_(http::ClientOptions{[&ctx] { return ctx.peers.get("gateway"); }}) {
  add_routes();
}

ProviderService::~ProviderService() {
  stop();
}

void ProviderService::open_storage() {
  store_.open();
}

void ProviderService::close_storage() {
  store_.close();
}

void ProviderService::start_background() {
  poller_.start(ctx_.io, kPollInterval,
                 [this](const std::atomic<bool>& stopping) { return retry_undelivered(stopping); },
                 [this](const std::exception& e) {
                   ctx_.log.warn("webhook retry failed", {{"service", "provider"}, {"error", e.what()}});
                 });
}

void ProviderService::stop_background() {
  poller_.stop(settings_.webhook_timeout + std::chrono::seconds(2), !ctx_.running_in_io_thread());
}

std::string ProviderService::pay_url(const std::string& intent_id) const {
  return "http://127.0.0.1:" + std::to_string(host_.port()) + "/pay/" + intent_id;
}

nlohmann::json ProviderService::intent_json(const Intent& intent,
                                            const std::optional<StoredEvent>& event) const {
  auto optional_text = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  return {{"intent_id", intent.intent_id},
          {"payment_id", intent.payment_id},
          {"amount_cents", intent.amount_cents},
          {"currency", intent.currency},
          {"status", intent.status},
          {"failure_reason", optional_text(intent.failure_reason)},
          {"event_id", optional_text(intent.event_id)},
          {"pay_url", pay_url(intent.intent_id)},
          {"event", event ? nlohmann::json::parse(event->body, nullptr, false)
                          : nlohmann::json(nullptr)}};
}

void ProviderService::add_routes() {
  auto& routes = host_.routes();
  routes.add("POST", "/v1/payment_intents", http::Access::only({"payment"}),
             [this](Request& req) { return create_intent(req); });
  routes.add("GET", "/pay/{intent_id}", http::Access::anyone(),
             [this](Request& req) -> asio::awaitable<Response> {
               auto intent = co_await store_.find_intent(req.param("intent_id"));
               if (!intent) {
                 throw ApiError(404, "intent_not_found",
                                "no payment intent " + req.param("intent_id").substr(0, 100));
               }
               std::optional<StoredEvent> event;
               if (!intent->event_id.empty()) event = co_await store_.find_event(intent->event_id);
               co_return Response::json(200, intent_json(*intent, event));
             });
  routes.add("POST", "/pay/{intent_id}", http::Access::anyone(),
             [this](Request& req) { return pay(req); });
  routes.add("POST", "/v1/payment_intents/{intent_id}/cancel", http::Access::only({"payment"}),
             [this](Request& req) { return cancel_intent(req); });
  routes.add("POST", "/v1/events/{event_id}/resend", http::Access::anyone(),
             [this](Request& req) { return resend(req); });
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
  if (currency.empty()) {
    throw ApiError(400, "invalid_field", "currency must not be empty", {{"field", "currency"}});
  }
  auto result =
      co_await store_.create_intent(payment_id, amount_cents, currency, ctx_.clock.unix_millis());
  std::optional<StoredEvent> event;
  if (!result.intent.event_id.empty()) event = co_await store_.find_event(result.intent.event_id);
  co_return Response::json(result.created ? 201 : 200, intent_json(result.intent, event));
}

asio::awaitable<Response> ProviderService::cancel_intent(Request& req) {
  auto canceled = co_await store_.cancel_intent(req.param("intent_id"), ctx_.clock.unix_millis());
  if (canceled.intent.status != "canceled") {
    // The payment was decided first: the shop gets the decision and its event, to record it
    // as the webhook would have.
    throw ApiError(409, "intent_already_processed",
                   "this payment intent was already paid or declined; it cannot be canceled",
                   {{"intent", intent_json(canceled.intent, canceled.event)}});
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
  auto settled = co_await store_.settle(intent_id, *decision, settings_.webhook_secret,
                                        ctx_.clock.unix_seconds(), ctx_.clock.unix_millis());
  Delivery delivery = co_await send_event(settled.event.body, settled.event.signature);
  std::optional<std::int64_t> next_attempt;
  if (!delivery.delivered()) {
    ctx_.log.warn(
        "webhook not delivered",
        {{"service", "provider"},
         {"event_id", settled.event.event_id},
         {"status", delivery.status ? nlohmann::json(*delivery.status) : nlohmann::json()},
         {"error", delivery.error.substr(0, 200)}});
    if (delivery.retryable()) {
      next_attempt = ctx_.clock.unix_millis() + webhook_retry_backoff(1).count();
    }
  }
  co_await store_.record_delivery(settled.event.event_id, delivery.delivered(), delivery.status, 1,
                                  next_attempt);
  auto optional_text = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  co_return Response::json(200, {{"intent_id", intent_id},
                                 {"status", settled.intent.status},
                                 {"failure_reason", optional_text(settled.intent.failure_reason)},
                                 {"event_id", settled.event.event_id},
                                 {"webhook_delivered", delivery.delivered()}});
}

asio::awaitable<Response> ProviderService::resend(Request& req) {
  const std::string event_id = req.param("event_id");
  auto event = co_await store_.find_event(event_id);
  if (!event) throw ApiError(404, "event_not_found", "no event " + event_id.substr(0, 100));
  // The same bytes with the same signature: after 300 s the shop must call it stale.
  Delivery delivery = co_await send_event(event->body, event->signature);
  if (delivery.delivered()) {
    co_await store_.record_delivery(event_id, true, delivery.status, event->attempts + 1,
                                    std::nullopt);
  }
  co_return Response::json(
      200,
      {{"event_id", event_id},
       {"delivered", delivery.delivered()},
       {"gateway_status", delivery.status ? nlohmann::json(*delivery.status) : nlohmann::json()},
       {"signed_at", event->signed_at}});
}

asio::awaitable<ProviderService::Delivery> ProviderService::send_event(
    const std::string& body, const std::string& signature) {
  auto trace = platform::TraceContext::fresh();
  Request request;
  request.method = "POST";
  request.target = std::string(kWebhookPath);
  request.headers.set("Content-Type", "application/json; charset=utf-8");
  request.headers.set(std::string(platform::security::kWebhookSignatureHeader), signature);
  request.headers.set("traceparent", trace.traceparent());
  request.body = body;

  platform::CallRecord record;
  record.caller = "provider";
  record.callee = "gateway";
  record.method = request.method;
  record.route = std::string(kWebhookPath);
  record.trace_id = trace.trace_id;
  record.at_ms = ctx_.clock.unix_millis();
  Delivery delivery;
  const auto started = std::chrono::steady_clock::now();
  try {
    auto response = co_await webhook_client_.send(std::move(request), settings_.webhook_timeout);
    delivery.status = response.status;
    if (response.status >= 300) delivery.error = response.body.substr(0, 200);
    record.status = response.status;
    record.outcome = response.status >= 500   ? "server_error"
                     : response.status >= 400 ? "client_error"
                                              : "ok";
  } catch (const http::TransportError& e) {
    delivery.error = std::string(http::to_string(e.kind())) + ": " + e.what();
    record.outcome = std::string(http::to_string(e.kind()));
  }
  record.duration = std::chrono::steady_clock::now() - started;
  host_.metrics().observe_call("gateway", record.outcome, record.duration);
  ctx_.calls.record(std::move(record));
  co_return delivery;
}

asio::awaitable<void> ProviderService::retry_undelivered(const std::atomic<bool>& stopping) {
  auto due = co_await store_.due_events(ctx_.clock.unix_millis());
  for (const StoredEvent& event : due) {
    if (stopping) break;
    // A retry is signed anew, as real providers do: the original signature may be stale.
    const auto signature = platform::security::sign_webhook(
        settings_.webhook_secret, ctx_.clock.unix_seconds(), event.body);
    Delivery delivery = co_await send_event(event.body, signature);
    const int attempts = event.attempts + 1;
    std::optional<std::int64_t> next_attempt;
    if (!delivery.delivered()) {
      const bool more = delivery.retryable() && attempts <= kWebhookBackgroundRetries;
      if (more) {
        next_attempt = ctx_.clock.unix_millis() + webhook_retry_backoff(attempts).count();
      }
      ctx_.log.warn(more ? "webhook retry not delivered" : "webhook given up",
                    {{"service", "provider"},
                     {"event_id", event.event_id},
                     {"attempts", attempts},
                     {"error", delivery.error.substr(0, 200)}});
    }
    co_await store_.record_delivery(event.event_id, delivery.delivered(), delivery.status,
                                    attempts, next_attempt);
  }
}

}  // namespace shopctl::provider
