#include "services/payment/order_client.hpp"

namespace shopctl::payment {

namespace asio = boost::asio;

OrderClient::OrderClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                         platform::Metrics* metrics, std::uint64_t seed)
    : edge_(ctx, "payment", "order", std::move(settings), metrics, seed) {}

asio::awaitable<CallbackAnswer> OrderClient::send_payment_result(const std::string& order_id,
                                                                 std::string body,
                                                                 const std::string& trace_id) {
  http::Request request;
  request.method = "POST";
  request.target = "/internal/orders/" + order_id + "/payment-result";
  request.route = "/internal/orders/{id}/payment-result";
  request.headers.set("Content-Type", "application/json; charset=utf-8");
  request.body = std::move(body);
  CallbackAnswer answer;
  try {
    auto response = co_await edge_.call(std::move(request), false, trace_id);
    answer.status = response.status;
    if (response.status >= 300) {
      answer.error =
          "order answered " + std::to_string(response.status) + ": " + response.body.substr(0, 200);
    }
  } catch (const http::TransportError& e) {
    answer.error = std::string(http::to_string(e.kind())) + ": " + e.what();
    if (e.kind() == http::TransportErrorKind::not_permitted)
      answer.breaker_wait = edge_.refusal_wait_left();
  }
  co_return answer;
}

}  // namespace shopctl::payment
