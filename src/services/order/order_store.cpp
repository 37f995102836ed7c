#include "services/order/order_store.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include "platform/domain_error.hpp"
#include "platform/security/random.hpp"

namespace shopctl::order {

namespace asio = boost::asio;
using platform::Database;
using platform::DomainError;
using platform::Durability;
using platform::ErrorKind;

namespace {

const std::vector<std::string_view> kMigrations = {
    R"sql(
CREATE TABLE cart_items (
  user_id          TEXT    NOT NULL,
  product_id       TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
  unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
  currency         TEXT    NOT NULL,
  position         INTEGER NOT NULL,
  PRIMARY KEY (user_id, product_id)
) WITHOUT ROWID;

CREATE TABLE orders (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id       TEXT    NOT NULL UNIQUE,
  user_id        TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('PAYMENT_PENDING', 'PAID', 'FAILED')),
  total_cents    INTEGER NOT NULL,
  currency       TEXT    NOT NULL,
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  payment_id     TEXT,
  payment_status TEXT,
  pay_url        TEXT
);
CREATE INDEX orders_by_user ON orders (user_id, seq);

CREATE TABLE order_items (
  order_id         TEXT    NOT NULL REFERENCES orders (order_id),
  position         INTEGER NOT NULL,
  product_id       TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  quantity         INTEGER NOT NULL,
  unit_price_cents INTEGER NOT NULL,
  line_total_cents INTEGER NOT NULL,
  PRIMARY KEY (order_id, position)
) WITHOUT ROWID;

CREATE TABLE order_history (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id TEXT    NOT NULL REFERENCES orders (order_id),
  status   TEXT    NOT NULL,
  at_ms    INTEGER NOT NULL,
  reason   TEXT
);
CREATE INDEX order_history_by_order ON order_history (order_id, seq);

CREATE TABLE idempotency_keys (
  user_id         TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  order_id        TEXT,
  response_status INTEGER,
  response_body   TEXT,
  created_at_ms   INTEGER NOT NULL,
  PRIMARY KEY (user_id, idempotency_key)
) WITHOUT ROWID;
)sql",
    R"sql(
-- Set at start-up on an order a stop cut short between its creation and the recording of
-- its payment: start-up recovery cancels it at once.
ALTER TABLE orders ADD COLUMN checkout_interrupted INTEGER NOT NULL DEFAULT 0;
-- The expiry pass reads pending orders by age.
CREATE INDEX orders_by_status ON orders (status, created_at_ms);

)sql",
    R"sql(
-- The trace of the checkout that created the order: its expiry (or start-up recovery), which
-- cancels its payment in the background, continues that trace. NULL (orders from before): a
-- new trace.
ALTER TABLE orders ADD COLUMN trace_id TEXT;
)sql",
    R"sql(
-- Set on an order whose checkout failed because payment did not answer in time: payment may
-- have opened a payment (and a payable intent) all the same, which the expiry pass cancels in
-- the background; cleared once payment has answered the cancel.
ALTER TABLE orders ADD COLUMN payment_cancel_due INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_payment_cancel_due ON orders (created_at_ms) WHERE payment_cancel_due = 1;
)sql",
    R"sql(
-- A user's unpaid orders, counted at each checkout (order.max_unpaid_orders).
CREATE INDEX orders_pending_by_user ON orders (user_id) WHERE status = 'PAYMENT_PENDING';
)sql",
    R"sql(
-- How many of the line's units the order took out of the cart when it was written: fewer
-- than it ordered when the shopper lowered the quantity, or removed the line, while the
-- checkout ran. A failed order puts back these, not `quantity`: it put back all it ordered,
-- and a quantity lowered from 5 to 2 during a checkout that then failed came back as 5 (an
-- outside probe). NULL (orders from before): `quantity`.
ALTER TABLE order_items ADD COLUMN taken_from_cart INTEGER;
)sql",
};

StoredCart load_cart(Database& db, const std::string& user_id) {
  StoredCart cart;
  auto st = db.prepare(
      "SELECT product_id, name, quantity, unit_price_cents, currency FROM cart_items "
      "WHERE user_id = ? ORDER BY position");
  st.bind_all(user_id);
  while (st.step()) {
    cart.lines.push_back({st.column_text(0), st.column_text(1), static_cast<int>(st.column_int(2)),
                          st.column_int(3)});
    if (cart.currency.empty()) cart.currency = st.column_text(4);
  }
  return cart;
}

std::int64_t next_cart_position(Database& db, const std::string& user_id) {
  auto st = db.prepare("SELECT COALESCE(MAX(position), 0) + 1 FROM cart_items WHERE user_id = ?");
  st.bind_all(user_id);
  st.step();
  return st.column_int(0);
}

std::optional<Order> load_order(Database& db, const std::string& order_id) {
  Order order;
  {
    auto st = db.prepare(
        "SELECT order_id, user_id, status, total_cents, currency, created_at_ms, updated_at_ms, "
        "payment_id, payment_status, pay_url FROM orders WHERE order_id = ?");
    st.bind_all(order_id);
    if (!st.step()) return std::nullopt;
    order.order_id = st.column_text(0);
    order.user_id = st.column_text(1);
    order.status = parse_order_status(st.column_text(2)).value_or(OrderStatus::PAYMENT_PENDING);
    order.total_cents = st.column_int(3);
    order.currency = st.column_text(4);
    order.created_at_ms = st.column_int(5);
    order.updated_at_ms = st.column_int(6);
    if (!st.column_is_null(7)) {
      order.payment = OrderPayment{st.column_text(7), st.column_text(8), st.column_text(9)};
    }
  }
  {
    auto st = db.prepare(
        "SELECT product_id, name, quantity, unit_price_cents, line_total_cents FROM order_items "
        "WHERE order_id = ? ORDER BY position");
    st.bind_all(order_id);
    while (st.step()) {
      order.items.push_back({st.column_text(0), st.column_text(1),
                             static_cast<int>(st.column_int(2)), st.column_int(3),
                             st.column_int(4)});
    }
  }
  {
    auto st = db.prepare(
        "SELECT status, at_ms, reason FROM order_history WHERE order_id = ? ORDER BY seq");
    st.bind_all(order_id);
    while (st.step()) {
      order.history.push_back(
          {parse_order_status(st.column_text(0)).value_or(OrderStatus::PAYMENT_PENDING),
           st.column_int(1), st.column_text(2)});
    }
  }
  return order;
}

void add_history(Database& db, const std::string& order_id, OrderStatus status, std::int64_t at_ms,
                 const std::string& reason) {
  auto st =
      db.prepare("INSERT INTO order_history (order_id, status, at_ms, reason) VALUES (?, ?, ?, ?)");
  st.bind_all(order_id, std::string(to_string(status)), at_ms);
  if (reason.empty()) {
    st.bind_null(4);
  } else {
    st.bind(4, reason);
  }
  st.run();
}

// Whether a checkout of `user_id`'s cart is running (holds the cart's claim).
DomainError checkout_in_progress() {
  return DomainError(ErrorKind::conflict, "checkout_in_progress",
                     "another checkout of this cart is still running; try again shortly")
      .with_retry_after(1);
}

// Takes the checkout claim of `user_id`'s cart for a new checkout and returns its id. Throws
// DomainError conflict `checkout_in_progress` when another checkout holds it. The caller
// releases the claim when its job fails after this (the claim is not part of the transaction).
std::string claim_cart(Database& db, CheckoutClaims& claims, const std::string& user_id,
                       std::int64_t max_unpaid) {
  if (claims.held(user_id)) throw checkout_in_progress();
  // One user's unpaid orders are bounded: each holds a payment and a pay link until it is
  // paid or expires, and one account that never paid made 14,787 of them in 150 s, faster
  // than expiry ends them (an outside probe). Counted on the partial index of pending orders.
  if (max_unpaid > 0) {
    auto st = db.prepare(
        "SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE user_id = ? AND status = "
        "'PAYMENT_PENDING' LIMIT ?)");
    st.bind_all(user_id, max_unpaid);
    st.step();
    if (st.column_int(0) >= max_unpaid) {
      throw DomainError(ErrorKind::conflict, "too_many_unpaid_orders",
                        "you have " + std::to_string(max_unpaid) +
                            " orders waiting for payment: pay one (or let it expire) before "
                            "checking out again",
                        {{"max_unpaid_orders", max_unpaid}});
    }
  }
  auto claim_id = claims.take(user_id);
  if (!claim_id) throw checkout_in_progress();
  return std::move(*claim_id);
}

// Puts a failed order's items back into its owner's cart: quantities merge (capped at 99),
// new lines go to the end while the cart has fewer than 100 lines (cart_full); the rest are
// not put back (the order still lists them). A cart filled again after the checkout grew past
// 100 lines, and every checkout of it failed with 503 (the catalog reads 100 ids at most).
void restore_cart(Database& db, const Order& order) {
  std::size_t lines = 0;
  {
    auto st = db.prepare("SELECT COUNT(*) FROM cart_items WHERE user_id = ?");
    st.bind_all(order.user_id);
    if (st.step()) lines = static_cast<std::size_t>(st.column_int(0));
  }
  // What the order took out of the cart, line by line (create_pending): that is what goes back.
  std::map<std::string, int> taken;
  {
    auto st = db.prepare(
        "SELECT product_id, COALESCE(taken_from_cart, quantity) FROM order_items WHERE order_id "
        "= ?");
    st.bind_all(order.order_id);
    while (st.step()) taken[st.column_text(0)] = static_cast<int>(st.column_int(1));
  }
  for (const PricedLine& item : order.items) {
    const auto found = taken.find(item.product_id);
    const int quantity = found == taken.end() ? item.quantity : found->second;
    if (quantity <= 0) continue;  // the shopper removed the line while the checkout ran
    std::optional<int> in_cart;
    {
      auto st = db.prepare("SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?");
      st.bind_all(order.user_id, item.product_id);
      if (st.step()) in_cart = static_cast<int>(st.column_int(0));
    }
    if (in_cart) {
      db.prepare("UPDATE cart_items SET quantity = ? WHERE user_id = ? AND product_id = ?")
          .bind_all(std::min(kMaxQuantity, *in_cart + quantity), order.user_id, item.product_id)
          .run();
    } else if (lines < kMaxCartLines) {
      ++lines;
      const std::int64_t position = next_cart_position(db, order.user_id);
      db.prepare(
            "INSERT INTO cart_items (user_id, product_id, name, quantity, unit_price_cents, "
            "currency, position) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind_all(order.user_id, item.product_id, item.name, quantity, item.unit_price_cents,
                    order.currency, position)
          .run();
    }
  }
}

// Moves `order` to `next` because of its payment's `payment_status` (the payment id is
// adopted when none is recorded), with a history entry; a FAILED order's items go back to the
// cart for another try. Updates `order` to what load_order would read back.
void apply_transition(Database& db, Order& order, OrderStatus next, const std::string& payment_id,
                      std::string_view payment_status, const std::string& reason,
                      std::int64_t now_ms) {
  const std::string status(payment_status);
  auto update = db.prepare(
      "UPDATE orders SET status = ?, payment_id = COALESCE(payment_id, ?), "
      "payment_status = ?, updated_at_ms = ? WHERE order_id = ?");
  update.bind(1, std::string(to_string(next)));
  if (payment_id.empty()) {
    update.bind_null(2);
  } else {
    update.bind(2, payment_id);
  }
  update.bind(3, status).bind(4, now_ms).bind(5, order.order_id).run();
  add_history(db, order.order_id, next, now_ms, reason);
  if (next == OrderStatus::FAILED) restore_cart(db, order);
  order.status = next;
  if (order.payment) {
    order.payment->status = status;
  } else if (!payment_id.empty()) {
    order.payment = OrderPayment{payment_id, status, ""};
  }
  order.updated_at_ms = now_ms;
  order.history.push_back({next, now_ms, reason});
}

}  // namespace

OrderStore::OrderStore(std::filesystem::path file, platform::Synchronous synchronous)
    : db_(std::move(file), synchronous) {}

OrderStore::~OrderStore() = default;

void OrderStore::open() {
  // No checkout survives a stop: every cart may check out again.
  claims_.clear();
  db_.open().run_sync([](Database& db) {
    db.migrate(kMigrations);
    db.transaction([&] {
      // A claim without an order belonged to a checkout that a stop cut short before it
      // created anything: the key is free again.
      db.prepare("DELETE FROM idempotency_keys WHERE order_id IS NULL").run();
      // An order still pending without a payment was cut short between its creation and the
      // recording of its payment: start-up recovery cancels it (cancel_due lists it first).
      db.prepare(
            "UPDATE orders SET checkout_interrupted = 1 "
            "WHERE status = 'PAYMENT_PENDING' AND payment_id IS NULL")
          .run();
      // A claim with an order but without an answer was cut short after the order existed:
      // later requests with the key see the order as it is now. An interrupted order's key
      // waits for the recovery, which stores the answer with the order's end.
      std::vector<std::pair<std::string, std::string>> unanswered;
      {
        auto st = db.prepare(
            "SELECT user_id, idempotency_key FROM idempotency_keys "
            "WHERE order_id IS NOT NULL AND response_status IS NULL AND order_id NOT IN "
            "(SELECT order_id FROM orders WHERE checkout_interrupted = 1 "
            "AND status = 'PAYMENT_PENDING')");
        while (st.step()) unanswered.emplace_back(st.column_text(0), st.column_text(1));
      }
      for (const auto& [user_id, key] : unanswered) {
        std::string order_id;
        {
          auto st = db.prepare(
              "SELECT order_id FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ?");
          st.bind_all(user_id, key);
          if (st.step()) order_id = st.column_text(0);
        }
        auto order = load_order(db, order_id);
        auto st = db.prepare(
            "UPDATE idempotency_keys SET response_status = 201, response_body = ? "
            "WHERE user_id = ? AND idempotency_key = ?");
        st.bind_all(order ? to_json(*order).dump() : std::string("{}"), user_id, key).run();
      }
    });
  });
}

void OrderStore::close() {
  db_.close();
}

asio::awaitable<StoredCart> OrderStore::cart(std::string user_id) {
  StoredCart cart;
  co_await db_.worker().run([&](Database& db) { cart = load_cart(db, user_id); });
  co_return cart;
}

asio::awaitable<StoredCart> OrderStore::add_item(std::string user_id, CartLine line,
                                                 std::string currency) {
  StoredCart cart;
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          {
            auto st = db.prepare(
                "SELECT currency FROM cart_items WHERE user_id = ? AND product_id <> ? LIMIT 1");
            st.bind_all(user_id, line.product_id);
            if (st.step() && st.column_text(0) != currency) {
              throw DomainError(
                  ErrorKind::conflict, "currency_mismatch",
                  "the product is priced in " + currency + " but the cart in " + st.column_text(0),
                  {{"product_id", line.product_id},
                   {"currency", currency},
                   {"cart_currency", st.column_text(0)}});
            }
          }
          std::optional<int> existing;
          {
            auto st =
                db.prepare("SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?");
            st.bind_all(user_id, line.product_id);
            if (st.step()) existing = static_cast<int>(st.column_int(0));
          }
          if (existing) {
            const int total = *existing + line.quantity;
            if (total > kMaxQuantity) {
              throw DomainError(ErrorKind::invalid, "invalid_quantity",
                                "the cart already holds " + std::to_string(*existing) +
                                    " of this product; a line holds at most " +
                                    std::to_string(kMaxQuantity),
                                {{"field", "quantity"},
                                 {"min", kMinQuantity},
                                 {"max", kMaxQuantity},
                                 {"in_cart", *existing}});
            }
            // The line keeps the price it was added at: the units already in it were priced
            // then, and a price that changed since is the checkout's to show (409
            // price_changed, docs/api.md). Adding more repriced the whole line at once, and
            // the checkout then had no change to show (an outside probe).
            db.prepare("UPDATE cart_items SET quantity = ? WHERE user_id = ? AND product_id = ?")
                .bind_all(total, user_id, line.product_id)
                .run();
          } else {
            {
              auto st = db.prepare("SELECT COUNT(*) FROM cart_items WHERE user_id = ?");
              st.bind_all(user_id);
              st.step();
              if (static_cast<std::size_t>(st.column_int(0)) >= kMaxCartLines) {
                throw DomainError(
                    ErrorKind::invalid, "cart_full",
                    "a cart holds at most " + std::to_string(kMaxCartLines) + " different products",
                    {{"max_lines", kMaxCartLines}});
              }
            }
            const std::int64_t position = next_cart_position(db, user_id);
            db.prepare(
                  "INSERT INTO cart_items (user_id, product_id, name, quantity, unit_price_cents, "
                  "currency, position) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind_all(user_id, line.product_id, line.name, line.quantity, line.unit_price_cents,
                          currency, position)
                .run();
          }
          cart = load_cart(db, user_id);
        });
        // Deferred sync: a cart is not money (docs/money.md, "What an acknowledgement promises").
        // A power cut may lose the latest cart changes; a process crash loses none, and the
        // next synced commit (an order's payment details) makes them durable with it.
      },
      Durability::deferred);
  co_return cart;
}

asio::awaitable<StoredCart> OrderStore::set_quantity(std::string user_id, std::string product_id,
                                                     int quantity) {
  StoredCart cart;
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          if (quantity == 0) {
            db.prepare("DELETE FROM cart_items WHERE user_id = ? AND product_id = ?")
                .bind_all(user_id, product_id)
                .run();
          } else {
            db.prepare("UPDATE cart_items SET quantity = ? WHERE user_id = ? AND product_id = ?")
                .bind_all(quantity, user_id, product_id)
                .run();
          }
          if (db.changes() == 0) {
            throw DomainError(ErrorKind::not_found, "cart_item_not_found",
                              "the cart has no line for this product",
                              {{"product_id", product_id}});
          }
          cart = load_cart(db, user_id);
        });
        // Deferred sync: a cart is not money (docs/money.md, "What an acknowledgement promises").
        // A power cut may lose the latest cart changes; a process crash loses none, and the
        // next synced commit (an order's payment details) makes them durable with it.
      },
      Durability::deferred);
  co_return cart;
}

asio::awaitable<StoredCart> OrderStore::remove_item(std::string user_id, std::string product_id) {
  StoredCart cart;
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          db.prepare("DELETE FROM cart_items WHERE user_id = ? AND product_id = ?")
              .bind_all(user_id, product_id)
              .run();
          cart = load_cart(db, user_id);
        });
        // Deferred sync: a cart is not money (docs/money.md, "What an acknowledgement promises").
        // A power cut may lose the latest cart changes; a process crash loses none, and the
        // next synced commit (an order's payment details) makes them durable with it.
      },
      Durability::deferred);
  co_return cart;
}

asio::awaitable<void> OrderStore::reprice_cart(std::string user_id,
                                               std::map<std::string, std::int64_t> latest_prices) {
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          for (const auto& [product_id, price] : latest_prices) {
            db.prepare(
                  "UPDATE cart_items SET unit_price_cents = ? WHERE user_id = ? AND product_id = ?")
                .bind_all(price, user_id, product_id)
                .run();
          }
        });
        // Deferred sync: a cart is not money (see add_item).
      },
      Durability::deferred);
}

asio::awaitable<IdempotencyClaim> OrderStore::claim_idempotency_key(std::string user_id,
                                                                    std::string key,
                                                                    std::int64_t now_ms,
                                                                    StoredCart* cart) {
  IdempotencyClaim claim;
  // The cart's claim is not part of the transaction: a job that fails after taking it (the
  // key's insert, or its group's commit, refused by a full disk) lets it go.
  CheckoutClaims::ReleaseUnlessKept taken(claims_, user_id, claim.checkout_claim);
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          bool abandoned = false;  // a key whose checkout ended without letting it go
          {
            auto st = db.prepare(
                "SELECT response_status, response_body, order_id IS NULL FROM idempotency_keys "
                "WHERE user_id = ? AND idempotency_key = ?");
            st.bind_all(user_id, key);
            if (st.step()) {
              if (!st.column_is_null(0)) {
                claim.kind = IdempotencyClaim::replay;
                claim.status = static_cast<int>(st.column_int(0));
                claim.body = st.column_text(1);
                return;
              }
              // No answer yet. Its checkout still runs while it holds the cart's claim (a
              // checkout with a key always does, from this job to its end) or once it has
              // an order. Neither: the checkout ended before its order and could not delete
              // the key (a full disk), which then answered "still running" until a restart.
              abandoned = st.column_int(2) != 0 && !claims_.held(user_id);
              if (!abandoned) {
                claim.kind = IdempotencyClaim::in_progress;
                return;
              }
            }
          }
          if (abandoned) {
            db.prepare(
                  "DELETE FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ? "
                  "AND response_status IS NULL AND order_id IS NULL")
                .bind_all(user_id, key)
                .run();
          }
          // The cart's claim first: when another checkout holds it, the key is not claimed.
          if (cart)
            claim.checkout_claim = claim_cart(db, claims_, user_id, max_unpaid_orders_.load());
          db.prepare(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, created_at_ms) "
                "VALUES (?, ?, ?)")
              .bind_all(user_id, key, now_ms)
              .run();
          claim.kind = IdempotencyClaim::claimed;
        });
        if (cart && claim.kind == IdempotencyClaim::claimed) *cart = load_cart(db, user_id);
        // Deferred sync: nobody outside hears of the claim itself. The checkout's next synced
        // write (the order's payment details, its failure, or the key's answer) carries the
        // claim with it; a claim lost to a power cut had no order yet, and the client's retry
        // claims the key afresh.
      },
      Durability::deferred);
  taken.keep();
  co_return claim;
}

asio::awaitable<CheckoutClaim> OrderStore::claim_checkout(std::string user_id) {
  CheckoutClaim claim;
  CheckoutClaims::ReleaseUnlessKept taken(claims_, user_id, claim.claim_id);
  co_await db_.worker().run([&](Database& db) {
    claim.claim_id = claim_cart(db, claims_, user_id, max_unpaid_orders_.load());
    claim.cart = load_cart(db, user_id);
  });
  taken.keep();
  co_return claim;
}

void OrderStore::release_checkout(const std::string& user_id, const std::string& claim_id) {
  claims_.release(user_id, claim_id);
}

bool CheckoutClaims::held(const std::string& user_id) const {
  std::lock_guard lock(mu_);
  return by_user_.count(user_id) != 0;
}

std::optional<std::string> CheckoutClaims::take(const std::string& user_id) {
  std::lock_guard lock(mu_);
  if (by_user_.count(user_id)) return std::nullopt;
  std::string id = platform::security::new_id("chk_");
  by_user_.emplace(user_id, id);
  return id;
}

void CheckoutClaims::release(const std::string& user_id, const std::string& claim_id) {
  std::lock_guard lock(mu_);
  if (auto it = by_user_.find(user_id); it != by_user_.end() && it->second == claim_id)
    by_user_.erase(it);
}

void CheckoutClaims::clear() {
  std::lock_guard lock(mu_);
  by_user_.clear();
}

asio::awaitable<void> OrderStore::release_idempotency_key(std::string user_id, std::string key) {
  co_await db_.worker().run([&](Database& db) {
    db.prepare(
          "DELETE FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ? "
          "AND response_status IS NULL")
        .bind_all(user_id, key)
        .run();
  });
}

asio::awaitable<void> OrderStore::save_idempotent_answer(std::string user_id, std::string key,
                                                         int status, std::string body) {
  co_await db_.worker().run([&](Database& db) {
    // The first answer stays: a checkout that a restart cut short may finish late, after the
    // start-up recovery already answered its key.
    db.prepare(
          "UPDATE idempotency_keys SET response_status = ?, response_body = ? "
          "WHERE user_id = ? AND idempotency_key = ? AND response_status IS NULL")
        .bind_all(status, body, user_id, key)
        .run();
  });
}

asio::awaitable<void> OrderStore::create_pending(Order order, std::vector<CartLine> checked_out,
                                                 std::optional<std::string> key,
                                                 std::string trace_id) {
  co_await db_.worker().run(
      [&](Database& db) {
        db.transaction([&] {
          db.prepare(
                "INSERT INTO orders (order_id, user_id, status, total_cents, currency, "
                "created_at_ms, updated_at_ms, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
              .bind_all(order.order_id, order.user_id, std::string(to_string(order.status)),
                        order.total_cents, order.currency, order.created_at_ms, order.updated_at_ms,
                        trace_id)
              .run();
          // The order takes out of the cart the quantities it ordered, as far as the cart still
          // holds them (a change while the checkout ran stays), and keeps what it took.
          std::map<std::string, int> taken;
          for (const CartLine& line : checked_out) {
            std::optional<int> in_cart;
            {
              auto st = db.prepare(
                  "SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?");
              st.bind_all(order.user_id, line.product_id);
              if (st.step()) in_cart = static_cast<int>(st.column_int(0));
            }
            taken[line.product_id] = in_cart ? std::min(*in_cart, line.quantity) : 0;
            if (!in_cart) continue;
            if (*in_cart <= line.quantity) {
              db.prepare("DELETE FROM cart_items WHERE user_id = ? AND product_id = ?")
                  .bind_all(order.user_id, line.product_id)
                  .run();
            } else {
              db.prepare("UPDATE cart_items SET quantity = ? WHERE user_id = ? AND product_id = ?")
                  .bind_all(*in_cart - line.quantity, order.user_id, line.product_id)
                  .run();
            }
          }
          int position = 0;
          for (const PricedLine& item : order.items) {
            const auto found = taken.find(item.product_id);
            db.prepare(
                  "INSERT INTO order_items (order_id, position, product_id, name, quantity, "
                  "unit_price_cents, line_total_cents, taken_from_cart) VALUES (?, ?, ?, ?, ?, ?, "
                  "?, ?)")
                .bind_all(order.order_id, ++position, item.product_id, item.name, item.quantity,
                          item.unit_price_cents, item.line_total_cents,
                          found == taken.end() ? item.quantity : found->second)
                .run();
          }
          for (const HistoryEntry& entry : order.history) {
            add_history(db, order.order_id, entry.status, entry.at_ms, entry.reason);
          }
          if (key) {
            db.prepare(
                  "UPDATE idempotency_keys SET order_id = ? WHERE user_id = ? AND idempotency_key "
                  "= ?")
                .bind_all(order.order_id, order.user_id, *key)
                .run();
          }
        });
        // Deferred sync: nobody outside the shop is told of the order before the checkout's next
        // write to this database, which is synced and carries this one with it (the WAL is synced
        // in order): record_payment before the 201, or fail_and_restore_cart before the 503 that
        // names the order. Payment hears the order id first, but only as its idempotency key; a
        // power cut between the two leaves a payment whose pay link nobody was given (the same
        // argument as for payment's deferred payment row, docs/money.md).
      },
      Durability::deferred);
}

asio::awaitable<Order> OrderStore::record_payment(std::string order_id, OrderPayment payment,
                                                  std::int64_t now_ms,
                                                  std::optional<AnswerForKey> answer) {
  Order order;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      db.prepare(
            "UPDATE orders SET payment_id = COALESCE(payment_id, ?), "
            "payment_status = COALESCE(payment_status, ?), pay_url = COALESCE(pay_url, ?), "
            "updated_at_ms = ? WHERE order_id = ?")
          .bind_all(payment.payment_id, payment.status, payment.pay_url, now_ms, order_id)
          .run();
      auto loaded = load_order(db, order_id);
      if (!loaded)
        throw DomainError(ErrorKind::not_found, "order_not_found", "no order " + order_id);
      order = std::move(*loaded);
      if (answer) {
        db.prepare(
              "UPDATE idempotency_keys SET response_status = ?, response_body = ? "
              "WHERE user_id = ? AND idempotency_key = ?")
            .bind_all(answer->status, answer->render(order), answer->user_id, answer->key)
            .run();
      }
    });
  });
  co_return order;
}

asio::awaitable<Order> OrderStore::fail_and_restore_cart(std::string order_id, std::string reason,
                                                         std::int64_t now_ms, bool cancel_payment) {
  Order order;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      auto loaded = load_order(db, order_id);
      if (!loaded)
        throw DomainError(ErrorKind::not_found, "order_not_found", "no order " + order_id);
      if (loaded->status != OrderStatus::PAYMENT_PENDING) {
        order = std::move(*loaded);
        return;
      }
      db.prepare(
            "UPDATE orders SET status = 'FAILED', updated_at_ms = ?, payment_cancel_due = ? "
            "WHERE order_id = ?")
          .bind_all(now_ms, static_cast<std::int64_t>(cancel_payment ? 1 : 0), order_id)
          .run();
      add_history(db, order_id, OrderStatus::FAILED, now_ms, reason);
      restore_cart(db, *loaded);
      order = std::move(*load_order(db, order_id));
    });
  });
  co_return order;
}

asio::awaitable<std::optional<PaymentResultOutcome>> OrderStore::apply_payment_result(
    std::string order_id, std::string payment_id, PaymentOutcome outcome, std::string reason,
    std::int64_t now_ms) {
  co_return co_await settle(order_id, payment_id, to_string(outcome), reason, now_ms,
                            [&](OrderStatus status, std::string_view current_payment) {
                              return decide_payment_result(status, current_payment, payment_id,
                                                           outcome);
                            });
}

void OrderStore::note_interrupted(std::string order_id) {
  std::lock_guard lock(noted_mu_);
  noted_interrupted_.insert(std::move(order_id));
}

asio::awaitable<std::vector<OrderToCancel>> OrderStore::cancel_due(std::int64_t created_before_ms,
                                                                   std::size_t limit) {
  std::vector<OrderToCancel> due;
  std::set<std::string> noted;
  {
    std::lock_guard lock(noted_mu_);
    noted = noted_interrupted_;
  }
  co_await db_.worker().run([&](Database& db) {
    // Noted orders first, as interrupted, while they are pending without a payment.
    for (const auto& order_id : noted) {
      auto st = db.prepare(
          "SELECT COALESCE(trace_id, '') FROM orders WHERE order_id = ? "
          "AND status = 'PAYMENT_PENDING' AND payment_id IS NULL AND checkout_interrupted = 0");
      st.bind_all(order_id);
      if (st.step()) {
        due.push_back({order_id, std::string(kCheckoutInterrupted), st.column_text(0), false});
      } else {
        std::lock_guard lock(noted_mu_);
        noted_interrupted_.erase(order_id);
      }
    }
    // kind 0: a failed checkout's payment (payment_unavailable), 1: interrupted, 2: expired.
    auto st = db.prepare(
        "SELECT order_id, 0 AS kind, COALESCE(trace_id, ''), created_at_ms FROM orders "
        "WHERE payment_cancel_due = 1 "
        "UNION ALL "
        "SELECT order_id, CASE WHEN checkout_interrupted = 1 THEN 1 ELSE 2 END, "
        "COALESCE(trace_id, ''), created_at_ms FROM orders "
        "WHERE status = 'PAYMENT_PENDING' "
        "AND (checkout_interrupted = 1 OR created_at_ms <= ?) "
        "ORDER BY kind, created_at_ms LIMIT ?");
    st.bind_all(created_before_ms, static_cast<std::int64_t>(limit));
    const std::size_t noted_due = due.size();
    while (st.step()) {
      const auto kind = st.column_int(1);
      const std::string order_id = st.column_text(0);
      if (std::any_of(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(noted_due),
                      [&](const OrderToCancel& o) { return o.order_id == order_id; }))
        continue;  // listed above as interrupted
      due.push_back({order_id,
                     std::string(kind == 0   ? kPaymentUnavailable
                                 : kind == 1 ? kCheckoutInterrupted
                                             : kPaymentExpired),
                     st.column_text(2), kind == 0});
    }
  });
  co_return due;
}

asio::awaitable<std::optional<PaymentResultOutcome>> OrderStore::apply_cancel_result(
    std::string order_id, std::string payment_id, CancelOutcome outcome, std::string reason,
    std::int64_t now_ms) {
  co_return co_await settle(
      order_id, payment_id, to_string(outcome), reason, now_ms,
      [&](OrderStatus status, std::string_view current_payment) {
        return decide_cancel_result(status, current_payment, payment_id, outcome);
      },
      [&](Database& db, const Order& order) {
        // An interrupted checkout's Idempotency-Key has had no answer: from now on it replays
        // the order as it ended (201, as the checkout that created it would have answered).
        db.prepare(detail::kAnswerEndedCheckoutKeySql)
            .bind_all(to_json(order).dump(), order.user_id, order_id)
            .run();
      });
}

asio::awaitable<std::optional<PaymentResultOutcome>> OrderStore::settle(
    const std::string& order_id, const std::string& payment_id, std::string_view payment_status,
    const std::string& reason, std::int64_t now_ms, const Decide& decide, const After& after) {
  std::optional<PaymentResultOutcome> result;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      auto loaded = load_order(db, order_id);
      if (!loaded) return;
      const std::string current_payment = loaded->payment ? loaded->payment->payment_id : "";
      const TransitionDecision decision = decide(loaded->status, current_payment);
      if (decision.kind == TransitionDecision::apply) {
        apply_transition(db, *loaded, decision.next, payment_id, payment_status, reason, now_ms);
      }
      if (after) after(db, *loaded);
      result = PaymentResultOutcome{decision, std::move(*loaded)};
    });
  });
  co_return result;
}

asio::awaitable<void> OrderStore::payment_canceled_after_failure(std::string order_id) {
  co_await db_.worker().run([&](Database& db) {
    db.prepare("UPDATE orders SET payment_cancel_due = 0 WHERE order_id = ?")
        .bind_all(order_id)
        .run();
  });
}

asio::awaitable<std::optional<Order>> OrderStore::find(std::string order_id) {
  std::optional<Order> order;
  co_await db_.worker().run([&](Database& db) { order = load_order(db, order_id); });
  co_return order;
}

asio::awaitable<std::vector<Order>> OrderStore::list_for_user(std::string user_id,
                                                              std::size_t limit) {
  std::vector<Order> orders;
  co_await db_.worker().run([&](Database& db) {
    std::vector<std::string> ids;
    {
      auto st =
          db.prepare("SELECT order_id FROM orders WHERE user_id = ? ORDER BY seq DESC LIMIT ?");
      st.bind_all(user_id, static_cast<std::int64_t>(limit));
      while (st.step()) ids.push_back(st.column_text(0));
    }
    for (const auto& id : ids) {
      if (auto order = load_order(db, id)) orders.push_back(std::move(*order));
    }
  });
  co_return orders;
}

namespace detail {
const char* const kAnswerEndedCheckoutKeySql =
    "UPDATE idempotency_keys SET response_status = 201, response_body = ? "
    "WHERE user_id = ? AND order_id = ? AND response_status IS NULL";
}  // namespace detail

}  // namespace shopctl::order
