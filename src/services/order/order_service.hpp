#pragma once
// The order service: carts, checkout and orders, behind the gateway. It owns order.db, asks
// the catalog for products and prices (typed client, edge order->catalog) and the payment
// service for payments (typed client, edge order->payment), and takes the payment service's
// payment-result callback.
//
// Routes (the gateway strips /api): GET /cart, POST /cart/items, PATCH and DELETE
// /cart/items/{product_id}, POST /orders (checkout), GET /orders, GET /orders/{id}, all for
// the gateway only and for the user it names in X-User-Id; POST
// /internal/orders/{id}/payment-result for the payment service only.
//
// In the background it ends unpaid orders: an order PAYMENT_PENDING for longer than
// `payment_timeout` on the shop clock, or left without a payment by a stop mid-checkout
// (start-up recovery), has its payment canceled through the payment service and ends FAILED
// (payment_expired, checkout_interrupted) with its items back in the cart, or PAID when the
// provider had captured the payment first.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>

#include "platform/background_loop.hpp"
#include "platform/resilient_caller.hpp"
#include "platform/service.hpp"
#include "services/order/catalog_client.hpp"
#include "services/order/order_store.hpp"
#include "services/order/payment_client.hpp"

namespace shopctl::order {

struct OrderSettings {
  std::uint16_t port = 0;
  platform::EdgeSettings catalog;  // order->catalog
  platform::EdgeSettings payment;  // order->payment
  std::uint64_t seed = 0;          // retry jitter
  // How long an order may stay PAYMENT_PENDING (shop clock) before its payment is canceled
  // and the order fails with payment_expired.
  std::chrono::milliseconds payment_timeout{std::chrono::minutes(30)};
  // How many orders one user may have PAYMENT_PENDING when a checkout begins; 0: no limit.
  std::int64_t max_unpaid_orders = 100;
  // The gateway's upstream deadline (gateway.upstream_timeout): a shopper's request through the
  // gateway is answered 504 past it, so the calls a cart add or a checkout makes end before it.
  std::chrono::milliseconds answer_within{10'000};
};

class OrderService : public platform::Service {
 public:
  OrderService(platform::ServiceContext& ctx, OrderSettings settings);
  ~OrderService() override;

  std::filesystem::path database_file() const override { return store_.file(); }

  // The protected edges (order->catalog, order->payment), for the shop's runtime config.
  std::vector<platform::ResilientCaller*> edges() override {
    return {&catalog_.edge(), &payments_.edge()};
  }
  // Changes payment_timeout at run time (thread-safe): the next expiry pass judges every
  // PAYMENT_PENDING order by it, counted from the order's checkout.
  void set_payment_timeout(std::chrono::milliseconds timeout) {
    payment_timeout_ms_.store(timeout.count());
  }
  // Changes order.max_unpaid_orders at run time (thread-safe): the next checkout counts by it.
  void set_max_unpaid_orders(std::int64_t most) { store_.set_max_unpaid_orders(most); }

 protected:
  void open_storage() override;
  void close_storage() override;
  void start_background() override;
  void stop_background() override;

 private:
  // What a checkout answered, and whether it created an order (then an Idempotency-Key
  // remembers the answer).
  struct CheckoutAnswer {
    http::Response response;
    bool order_created = false;
    bool answer_saved = false;  // already stored for the Idempotency-Key
  };

  void add_routes();
  boost::asio::awaitable<http::Response> add_cart_item(http::Request& req);
  boost::asio::awaitable<http::Response> checkout_route(http::Request& req);
  // `cart`: the user's cart when already read (with the key's claim), else nullopt.
  // `created_order`: the id of the order it created, once created (also when it then throws).
  boost::asio::awaitable<CheckoutAnswer> checkout(const http::Request& req,
                                                  const std::string& user_id,
                                                  const std::optional<std::string>& key,
                                                  std::optional<StoredCart> cart,
                                                  std::string& created_order);
  boost::asio::awaitable<http::Response> payment_result(http::Request& req);
  // One pass of the expiry: cancels the payment of each order that is due (interrupted at
  // start-up, or pending longer than payment_timeout) through the payment service, and
  // applies the outcome. Ends the pass when payment cannot be reached (the next pass retries);
  // an order whose cancel payment answers with an error is parked with a growing pause (1 s
  // doubling to 60 s) while the pass goes on with the others.
  boost::asio::awaitable<void> cancel_due_orders(const std::atomic<bool>& stopping);

  // When the answer to a shopper's request that begins now is due: before the gateway's
  // deadline, with room for the answer to travel back to it.
  platform::ResilientCaller::Deadline answer_due() const;
  OrderSettings settings_;
  std::atomic<std::int64_t> payment_timeout_ms_;  // settings_.payment_timeout, changed at run time
  OrderStore store_;
  CatalogClient catalog_;
  PaymentClient payments_;
  platform::BackgroundLoop expiry_;   // unpaid orders' expiry and start-up recovery
  bool payment_unreachable_ = false;  // logged once per outage; touched only by expiry_'s pass
  // Orders whose cancel payment answered with an error, and when to ask again: the pass goes
  // on to the other due orders meanwhile. Touched only by expiry_'s pass.
  struct Parked {
    std::chrono::steady_clock::time_point retry_at;
    int failures = 0;
  };
  std::unordered_map<std::string, Parked> parked_;
};

}  // namespace shopctl::order
