#pragma once
// The order service's own database (order.db): carts, orders with their items and history,
// and checkout idempotency keys. Every change that touches more than one row runs in one
// transaction. All methods run the SQL on the store's database thread; the coroutine resumes
// on its own executor afterwards.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "platform/store/database.hpp"
#include "platform/store/store_database.hpp"
#include "services/order/cart_pricing.hpp"
#include "services/order/order_model.hpp"
#include "services/order/order_state.hpp"

namespace shopctl::order {

// A user's cart as stored: lines in the order they were added.
struct StoredCart {
  std::vector<CartLine> lines;
  std::string currency;  // empty for an empty cart
};

// What the Idempotency-Key table says about a checkout key.
struct IdempotencyClaim {
  enum Kind {
    claimed,      // the key is new and now belongs to this request
    in_progress,  // another request with this key is still running
    replay,       // a checkout with this key already answered: status and body below
  };
  Kind kind = claimed;
  int status = 0;
  std::string body;
  std::string checkout_claim;  // claimed with a cart: the cart's checkout claim (release it)
};

// A cart's checkout claim and the cart read with it.
struct CheckoutClaim {
  std::string claim_id;
  StoredCart cart;
};

// The checkouts running now, one per cart (a user has one cart): in memory, taken in the
// database job that reads the cart and released however the checkout ends. No checkout survives
// a stop, so a claim needs no storage; kept in a TEMP table of the store's connection, its
// release was a write that a full disk could refuse (grouped into one commit with writes to the
// database), and the claim then stayed: that cart's every checkout was 409 checkout_in_progress
// until a restart (an outside probe). A release in memory cannot fail. Thread-safe.
class CheckoutClaims {
 public:
  bool held(const std::string& user_id) const;
  // A new claim's id, or nullopt when the cart's checkout is claimed already.
  std::optional<std::string> take(const std::string& user_id);
  // Releases `claim_id` of the user's cart (only that one).
  void release(const std::string& user_id, const std::string& claim_id);
  void clear();

  // Releases the claim `claim_id` names, when set, unless keep() was called: a database job
  // that took a claim and then failed (or whose group's commit did) lets it go.
  class ReleaseUnlessKept {
   public:
    ReleaseUnlessKept(CheckoutClaims& claims, const std::string& user_id,
                      const std::string& claim_id)
        : claims_(claims), user_id_(user_id), claim_id_(claim_id) {}
    ~ReleaseUnlessKept() {
      if (!kept_ && !claim_id_.empty()) claims_.release(user_id_, claim_id_);
    }
    ReleaseUnlessKept(const ReleaseUnlessKept&) = delete;
    ReleaseUnlessKept& operator=(const ReleaseUnlessKept&) = delete;
    void keep() { kept_ = true; }

   private:
    CheckoutClaims& claims_;
    const std::string& user_id_;
    const std::string& claim_id_;
    bool kept_ = false;
  };

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> by_user_;
};

// A pending order whose payment is to be canceled now, and why (the FAILED entry's reason):
// checkout_interrupted (start-up recovery) or payment_expired.
struct OrderToCancel {
  std::string order_id;
  std::string reason;
  std::string trace_id;  // of the checkout that created the order; empty: unknown (older row)
  // The order already FAILED (payment_unavailable): only its payment, which payment may have
  // opened after the checkout gave up waiting, is to be canceled; the order stays as it is.
  bool after_failure = false;
};

// The result of applying a payment result to an order.
struct PaymentResultOutcome {
  TransitionDecision decision;
  Order order;  // after the decision
};

class OrderStore {
 public:
  // `synchronous`: what a commit promises (see platform::Synchronous).
  explicit OrderStore(std::filesystem::path file,
                      platform::Synchronous synchronous = platform::Synchronous::normal);
  ~OrderStore();

  // Opens (first time: creates) the database and migrates it. Claims on idempotency keys
  // whose checkout never created an order, and checkout claims of carts, are dropped: no
  // checkout survives a stop. Orders left PAYMENT_PENDING without a payment (a stop between
  // create_pending and record_payment) are marked interrupted, for cancel_due; a key bound to
  // one stays unanswered until apply_cancel_result ends the order.
  void open();
  // Finishes queued work and closes the database; later calls throw DatabaseError.
  void close();
  const std::filesystem::path& file() const { return db_.file(); }

  // Returns the user's cart.
  boost::asio::awaitable<StoredCart> cart(std::string user_id);
  // Adds `line.quantity` of a product, merging with an existing line (which keeps its name and
  // unit price: a price changed since is the checkout's 409 price_changed). Returns the cart.
  // Throws DomainError invalid `invalid_quantity` when the line would exceed 99, invalid
  // `cart_full` beyond 100 lines, conflict `currency_mismatch` when the product's currency differs
  // from the cart's.
  boost::asio::awaitable<StoredCart> add_item(std::string user_id, CartLine line,
                                              std::string currency);
  // Sets a line's quantity; 0 removes the line. Returns the cart. Throws DomainError not_found
  // `cart_item_not_found`.
  boost::asio::awaitable<StoredCart> set_quantity(std::string user_id, std::string product_id,
                                                  int quantity);
  // Removes a line if present. Returns the cart.
  boost::asio::awaitable<StoredCart> remove_item(std::string user_id, std::string product_id);
  // Gives the cart's lines of these products their latest unit prices (one transaction).
  boost::asio::awaitable<void> reprice_cart(std::string user_id,
                                            std::map<std::string, std::int64_t> latest_prices);

  // Claims `key` for a checkout of `user_id`, or reports the first answer given for it. When
  // `cart` is given, a new key also claims the cart's checkout in the same transaction
  // (`checkout_claim`; DomainError conflict `checkout_in_progress` when another checkout holds it,
  // and then the key is not claimed either), and `cart` receives the user's cart, read right after
  // the claim in the same database job (the checkout's first step, without a second hand-off).
  boost::asio::awaitable<IdempotencyClaim> claim_idempotency_key(std::string user_id,
                                                                 std::string key,
                                                                 std::int64_t now_ms,
                                                                 StoredCart* cart = nullptr);
  // Claims the checkout of `user_id`'s cart (one checkout per cart at a time) and reads the
  // cart in the same database job. Throws DomainError conflict `checkout_in_progress` when another
  // checkout holds the claim.
  boost::asio::awaitable<CheckoutClaim> claim_checkout(std::string user_id);
  // How many orders one user may have PAYMENT_PENDING when a checkout begins; 0: no limit.
  // Past it a checkout claim throws DomainError conflict `too_many_unpaid_orders`.
  // Thread-safe (set at run time).
  void set_max_unpaid_orders(std::int64_t most) { max_unpaid_orders_.store(most); }
  // Releases a checkout claim (only that one: a claim taken after a restart stays). In memory:
  // it cannot fail (CheckoutClaims).
  void release_checkout(const std::string& user_id, const std::string& claim_id);
  // Frees a claimed key whose checkout created nothing, so that the same key may be retried.
  boost::asio::awaitable<void> release_idempotency_key(std::string user_id, std::string key);
  // Stores the answer a checkout gave, for later requests with the same key, unless the key
  // already has one (the first answer stays).
  boost::asio::awaitable<void> save_idempotent_answer(std::string user_id, std::string key,
                                                      int status, std::string body);

  // Creates `order` (status PAYMENT_PENDING, its first history entry) and takes the checked
  // out quantities out of the cart, in one transaction; binds the order to `key` when given.
  // Lines added to the cart meanwhile stay in it. The order keeps `trace_id`, the checkout's
  // trace, for the background work about it (expiry, start-up recovery).
  boost::asio::awaitable<void> create_pending(Order order, std::vector<CartLine> checked_out,
                                              std::optional<std::string> key, std::string trace_id);
  // Where record_payment also stores a checkout's answer for its Idempotency-Key: `render`
  // turns the recorded order into the answer's body (status `status`).
  struct AnswerForKey {
    std::string user_id;
    std::string key;
    int status = 0;
    std::function<std::string(const Order&)> render;
  };
  // Records the payment opened for an order (the payment id only if none is recorded yet: a
  // callback may have been faster). Returns the order. With `answer`, the answer rendered from
  // that order is stored for the key in the same transaction (as save_idempotent_answer does).
  boost::asio::awaitable<Order> record_payment(std::string order_id, OrderPayment payment,
                                               std::int64_t now_ms,
                                               std::optional<AnswerForKey> answer = std::nullopt);
  // Fails a still pending order with `reason` and puts its items back into the owner's cart
  // (quantities merge, capped at 99), in one transaction. Returns the order. `cancel_payment`:
  // payment may have opened a payment for it all the same (it did not answer in time), which
  // cancel_due lists until payment_canceled_after_failure.
  boost::asio::awaitable<Order> fail_and_restore_cart(std::string order_id, std::string reason,
                                                      std::int64_t now_ms,
                                                      bool cancel_payment = false);
  // Applies a payment result with the order state machine, in one transaction; an order that
  // fails this way (a declined card) puts its items back into the cart, as fail_and_restore_cart
  // does. Returns nullopt for an unknown order.
  boost::asio::awaitable<std::optional<PaymentResultOutcome>> apply_payment_result(
      std::string order_id, std::string payment_id, PaymentOutcome outcome, std::string reason,
      std::int64_t now_ms);

  // A checkout that ended with an error after it created its order, whose order it could not
  // fail (the database refused that write: a full disk): cancel_due lists the order as
  // interrupted, as open() marks the orders a stop cut short, while it is pending without a
  // payment. Before, the order stayed PAYMENT_PENDING with its cart emptied and its key "still
  // running" until it expired 30 minutes later. Kept in memory: a restart marks them anyway.
  void note_interrupted(std::string order_id);

  // Orders whose payment is to be canceled now, at most `limit`: first failed checkouts whose
  // payment may have been opened after they gave up (payment_unavailable, `after_failure`),
  // then pending orders marked interrupted at open() (checkout_interrupted), then pending
  // orders created at or before `created_before_ms` (payment_expired), oldest first.
  boost::asio::awaitable<std::vector<OrderToCancel>> cancel_due(std::int64_t created_before_ms,
                                                                std::size_t limit);
  // Applies the answer to a cancel of the order's payment (`payment_id` empty: the order had
  // none) with the order state machine, in one transaction: CANCELED and FAILED fail a pending
  // order with `reason` and put its items back into the cart, as fail_and_restore_cart does;
  // SUCCEEDED makes it PAID. An Idempotency-Key bound to the order without an answer yet (an
  // interrupted checkout) gets the order as it is now, status 201. Returns nullopt for an
  // unknown order.
  boost::asio::awaitable<std::optional<PaymentResultOutcome>> apply_cancel_result(
      std::string order_id, std::string payment_id, CancelOutcome outcome, std::string reason,
      std::int64_t now_ms);

  // The payment of a failed checkout (`after_failure`) has been canceled, or has otherwise
  // ended: cancel_due no longer lists the order.
  boost::asio::awaitable<void> payment_canceled_after_failure(std::string order_id);

  // Returns the order, whoever owns it, or nullopt.
  boost::asio::awaitable<std::optional<Order>> find(std::string order_id);
  // Returns the user's newest orders, newest first, at most `limit`.
  boost::asio::awaitable<std::vector<Order>> list_for_user(std::string user_id, std::size_t limit);

 private:
  using Decide = std::function<TransitionDecision(OrderStatus, std::string_view current_payment)>;
  using After = std::function<void(platform::Database&, const Order&)>;
  // In one transaction: loads the order, lets `decide` judge a payment's news against its
  // status and current payment id, applies the transition when the decision is to, then runs
  // `after` (when given) on the order as it is now. nullopt: no such order.
  boost::asio::awaitable<std::optional<PaymentResultOutcome>> settle(
      const std::string& order_id, const std::string& payment_id, std::string_view payment_status,
      const std::string& reason, std::int64_t now_ms, const Decide& decide,
      const After& after = {});

  platform::StoreDatabase db_;
  CheckoutClaims claims_;
  std::atomic<std::int64_t> max_unpaid_orders_{0};
  std::mutex noted_mu_;
  std::set<std::string> noted_interrupted_;
};

namespace detail {
// The statement that answers, from now on, the Idempotency-Key of a checkout whose order
// ended without one (bound: the answer's body, the order's user, the order). It names the
// user so that it searches that user's keys by the primary key: without it, every cancelled
// order read the whole table, which grows by one row per checkout.
extern const char* const kAnswerEndedCheckoutKeySql;
}  // namespace detail

}  // namespace shopctl::order
