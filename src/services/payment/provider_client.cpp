#include "services/payment/provider_client.hpp"

#include <nlohmann/json.hpp>

#include "platform/domain_error.hpp"
#include "platform/json_text.hpp"

namespace shopctl::payment {

namespace asio = boost::asio;

namespace {

std::string transport_failure(const http::TransportError& e) {
  return std::string(http::to_string(e.kind())) + ": " + e.what();
}

// The code of an error answer ({"error": {"code": ...}}), or empty.
std::string error_code_of(const std::string& body) {
  auto j = platform::parse_json_or_discarded(body);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return {};
  auto code = j["error"].find("code");
  return code != j["error"].end() && code->is_string() ? code->get<std::string>() : std::string();
}

}  // namespace

ProviderClient::ProviderClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                               platform::Metrics* metrics, std::uint64_t seed)
    : edge_(ctx, "payment", "provider", std::move(settings), metrics, seed) {}

asio::awaitable<OpenedIntent> ProviderClient::open_intent(const std::string& payment_id,
                                                          std::int64_t amount_cents,
                                                          const std::string& currency,
                                                          const std::string& trace_id) {
  http::Request open;
  open.method = "POST";
  open.target = "/v1/payment_intents";
  open.headers.set("Content-Type", "application/json; charset=utf-8");
  open.headers.set("Idempotency-Key", payment_id);
  open.body =
      nlohmann::json{
          {"amount_cents", amount_cents}, {"currency", currency}, {"payment_id", payment_id}}
          .dump();
  OpenedIntent opened;
  std::optional<http::Response> answer;
  bool unheard = false;
  try {
    answer = co_await edge_.call(std::move(open), true, trace_id, &unheard);
  } catch (const http::TransportError& e) {
    opened.failure = transport_failure(e);
  }
  opened.may_exist = unheard || (answer && answer->status >= 500);
  if (answer && (answer->status == 201 || answer->status == 200)) {
    auto intent = platform::parse_json_or_discarded(answer->body);
    if (intent.is_object() && intent.value("intent_id", nlohmann::json()).is_string() &&
        intent.value("pay_url", nlohmann::json()).is_string()) {
      opened.intent_id = intent["intent_id"].get<std::string>();
      opened.pay_url = intent["pay_url"].get<std::string>();
    } else {
      opened.failure = "the provider answered without intent_id or pay_url";
      opened.may_exist = true;
    }
  } else if (answer) {
    opened.failure = "the provider answered " + std::to_string(answer->status);
    opened.refused = answer->status >= 400 && answer->status < 500;
  }
  co_return opened;
}

asio::awaitable<IntentCancellation> ProviderClient::cancel_intent(const std::string& intent_id,
                                                                  const std::string& trace_id) {
  http::Request request;
  request.method = "POST";
  request.target = "/v1/payment_intents/" + intent_id + "/cancel";
  request.route = "/v1/payment_intents/{intent_id}/cancel";
  IntentCancellation result;
  std::optional<http::Response> reply;
  try {
    reply = co_await edge_.call(std::move(request), true, trace_id);
  } catch (const http::TransportError& e) {
    result.failure = transport_failure(e);
  }
  if (reply && reply->status == 200) {
    auto intent = platform::parse_json_or_discarded(reply->body);
    if (intent.is_object() && intent.value("status", "") == "canceled") {
      result.outcome = IntentCancellation::Outcome::canceled;
      co_return result;
    }
    result.failure = "the provider's cancel answer is not a canceled intent";
  } else if (reply && reply->status == 409) {
    try {
      result.event = event_of_decided_intent(platform::parse_json_or_discarded(reply->body));
      result.outcome = IntentCancellation::Outcome::decided;
    } catch (const platform::DomainError& e) {
      result.failure = std::string("the provider's 409 carries no usable event: ") + e.what();
    }
  } else if (reply && reply->status == 404 && error_code_of(reply->body) == "intent_not_found") {
    // The provider's own answer (an injected fault answers with its own code): it has no
    // such intent, so nothing can ever be captured on it; its pay page answers 404 too.
    result.outcome = IntentCancellation::Outcome::unknown;
    result.failure = "the provider knows no intent " + intent_id.substr(0, 100);
  } else if (reply) {
    result.failure = "the provider answered " + std::to_string(reply->status);
  }
  result.answered = reply.has_value() && result.outcome == IntentCancellation::Outcome::unavailable;
  co_return result;
}

asio::awaitable<IntentLook> ProviderClient::look_up(const std::string& intent_id,
                                                    const std::string& trace_id) {
  http::Request look;
  look.method = "GET";
  look.target = "/v1/payment_intents/" + intent_id;
  look.route = "/v1/payment_intents/{intent_id}";
  IntentLook result;
  try {
    auto answer = co_await edge_.call(std::move(look), true, trace_id);
    auto intent = platform::parse_json_or_discarded(answer.body);
    if (answer.status != 200) {
      result.problem = "the provider answered " + std::to_string(answer.status);
    } else if (!intent.is_object()) {
      result.problem = "the provider answered 200 without a JSON intent";
    } else if (intent.contains("event") && intent["event"].is_object()) {
      result.event = parse_provider_event(intent["event"]);
    }
  } catch (const http::TransportError& e) {
    result.problem = transport_failure(e);
  } catch (const platform::DomainError& e) {
    result.problem = std::string("the intent's event is malformed: ") + e.what();
  }
  co_return result;
}

}  // namespace shopctl::payment
