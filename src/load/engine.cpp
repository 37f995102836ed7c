#include "load/engine.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/admin_client.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/client.hpp"
#include "platform/json_text.hpp"
#include "platform/security/random.hpp"
#include "platform/thread_name.hpp"

namespace shopctl::load {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

Figures LoadResult::figures() const {
  Figures f;
  f.seconds = seconds;
  f.requests = requests.count;
  f.request_errors = requests.errors;
  f.p50_ms = requests.latency.quantile_ms(0.50);
  f.p90_ms = requests.latency.quantile_ms(0.90);
  f.p99_ms = requests.latency.quantile_ms(0.99);
  f.max_ms = requests.latency.max_ms();
  for (const auto& [name, t] : journeys) {
    f.journeys += t.count;
    f.journey_errors += t.errors;
    f.per_journey[name] = {t.count,
                           t.errors,
                           t.latency.quantile_ms(0.50),
                           t.latency.quantile_ms(0.90),
                           t.latency.quantile_ms(0.99),
                           t.latency.max_ms()};
  }
  f.orders_paid = orders_paid;
  f.dropped = dropped;
  return f;
}

namespace {

struct Product {
  std::string id;
};

struct User {
  std::size_t index = 0;
  std::string email;
  std::string token;
  std::mt19937_64 rng;
  std::uint64_t iterations = 0;
};

// Everything one worker thread measured; the progress ticker reads it under the lock.
struct Stats {
  std::mutex mu;
  Tally requests;
  std::map<std::string, Tally> routes;
  std::map<std::string, Tally> journeys;
  std::map<std::string, std::uint64_t> errors_by_code;
  std::uint64_t created = 0, paid = 0, failed = 0, unsettled = 0, dropped = 0, abandoned = 0;
  std::uint64_t renewed = 0;  // sign-ins again after 401 token_expired
  // Open loop: how late the scheduler woke for a start, at most (its thread shares the cores).
  std::chrono::nanoseconds start_lag_max{0};
  std::uint64_t behind_at_deadline = 0;  // of `dropped`: starts still due at the deadline
  // Since the last progress tick.
  LatencyStats interval_latency;
  std::uint64_t interval_requests = 0, interval_journeys = 0, interval_errors = 0;
};

struct Shared {
  const LoadOptions& options;
  std::vector<Product> products;
  std::string run_id;
  Clock::time_point start;
  Clock::time_point deadline;
  std::atomic<bool> measuring{false};
  std::atomic<std::size_t> signed_in{0};  // setup: users done signing in (or failed to)
};

// One thread with its own io_context, HTTP clients and users.
struct Worker {
  explicit Worker(Shared& s) : shared(s), io(1), work(asio::make_work_guard(io)) {}

  Shared& shared;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::map<std::string, std::unique_ptr<http::Client>> clients;  // by host:port
  std::vector<std::unique_ptr<User>> users;
  std::deque<User*> idle;  // open loop
  // Tokens the shop answered 401 token_expired for (send); their users sign in again after the
  // journey (renew_expired_token). Touched only on this worker's thread.
  std::set<std::string> expired_tokens;
  Stats stats;
  std::atomic<unsigned> active{0};
  std::mutex done_mu;
  std::condition_variable done_cv;

  http::Client& client_for(const http::Endpoint& ep) {
    auto key = ep.host + ":" + std::to_string(ep.port);
    auto& c = clients[key];
    if (!c) {
      http::ClientOptions o{[ep] { return ep; }};
      o.max_idle_connections = std::max<std::size_t>(64, users.size() * 2);
      o.max_idle_time = shared.options.pooled_idle_time;
      c = std::make_unique<http::Client>(std::move(o));
    }
    return *c;
  }

  // A user or scheduler ended by an exception the engine does not handle: kept (the first),
  // and the run ends with it instead of reporting what was left as a pass. Before, a card
  // that was not UTF-8 stopped every user at once; the run ended after 10 ms and passed.
  std::string failure;  // this worker's thread only, read after join

  void finished_one(const std::exception_ptr& error = nullptr) {
    if (error && failure.empty()) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "an exception that is not a std::exception";
      }
      if (failure.empty()) failure = "an exception without a message";
    }
    if (active.fetch_sub(1) == 1) {
      std::lock_guard lock(done_mu);
      done_cv.notify_all();
    }
  }
};

// What a call came back with: a status and the parsed body, or nothing (transport error).
struct Answer {
  int status = 0;
  nlohmann::json body;
  bool ok() const { return status > 0; }
};

std::string error_key(int status, const nlohmann::json& body) {
  std::string key = std::to_string(status);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("code") && body["error"]["code"].is_string())
    key += " " + body["error"]["code"].get<std::string>();
  return key;
}

struct Call {
  std::string method;
  std::string url;    // absolute
  std::string route;  // the label it is counted under
  std::optional<nlohmann::json> body;
  std::string token;
  std::string idempotency_key;
  int expect = 200;
  bool counted = true;
  bool read_body = false;  // parse the JSON answer (always done for an unexpected status)
};

// What the operation hook is told besides the call: the user and the journey it belongs to.
struct OperationContext {
  User* user = nullptr;
  std::string_view journey;
  std::string attempt;
};

awaitable<Answer> send(Worker& w, Call call, const OperationContext* op = nullptr) {
  auto [endpoint, target] = http::split_url(call.url);
  const bool report = op != nullptr && w.shared.options.on_operation &&
                      w.shared.measuring.load(std::memory_order_relaxed);
  Operation operation;
  if (report) {
    operation.user = op->user->index;
    operation.email = op->user->email;
    operation.journey = std::string(op->journey);
    operation.attempt = op->attempt;
    operation.route = call.route;
    operation.target = target;
    operation.idempotency_key = call.idempotency_key;
    operation.request = call.body ? *call.body : nlohmann::json();
    operation.start_s = std::chrono::duration<double>(Clock::now() - w.shared.start).count();
    call.read_body = true;
  }
  http::Request req;
  req.method = call.method;
  req.target = target;
  if (!call.token.empty()) req.headers.set("Authorization", "Bearer " + call.token);
  if (!call.idempotency_key.empty()) req.headers.set("Idempotency-Key", call.idempotency_key);
  if (call.body) {
    req.headers.set("Content-Type", "application/json");
    req.body = call.body->dump();
  }
  Answer answer;
  std::string error;
  auto began = Clock::now();
  try {
    auto res = co_await w.client_for(endpoint).send(std::move(req), w.shared.options.timeout);
    answer.status = res.status;
    if (call.read_body || res.status != call.expect)
      answer.body = platform::parse_json_or_discarded(res.body);
    if (res.status != call.expect) error = error_key(res.status, answer.body);
    if (res.status == 401 && !call.token.empty() && error == "401 token_expired")
      w.expired_tokens.insert(call.token);
    if (report) {
      operation.status = res.status;
      if (auto trace = res.headers.get("X-Trace-Id")) operation.trace_id = std::string(*trace);
    }
  } catch (const http::TransportError& e) {
    error = "transport " + std::string(http::to_string(e.kind()));
    if (report) operation.error = error;
  }
  auto took = Clock::now() - began;
  if (report) {
    operation.end_s = std::chrono::duration<double>(Clock::now() - w.shared.start).count();
    operation.body = answer.body;
    w.shared.options.on_operation(operation);
  }
  if (call.counted && w.shared.measuring.load(std::memory_order_relaxed)) {
    std::lock_guard lock(w.stats.mu);
    auto& route = w.stats.routes[call.route];
    for (Tally* t : {&w.stats.requests, &route}) {
      ++t->count;
      if (!error.empty()) ++t->errors;
      t->latency.add(took);
    }
    w.stats.interval_latency.add(took);
    ++w.stats.interval_requests;
    if (!error.empty()) {
      ++w.stats.errors_by_code[error];
      ++w.stats.interval_errors;
    }
  }
  if (!error.empty()) answer.status = answer.ok() ? -answer.status : 0;  // not what was expected
  co_return answer;
}

awaitable<void> sleep_for(Clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
}

const Product& random_product(Shared& s, User& u) {
  return s.products[std::uniform_int_distribution<std::size_t>(0, s.products.size() - 1)(u.rng)];
}

// Best effort, uncounted: empties the user's cart after a journey that failed half-way.
awaitable<void> clean_cart(Worker& w, User& u) {
  const auto& gw = w.shared.options.gateway_url;
  auto cart =
      co_await send(w, {"GET", gw + "/api/cart", "", std::nullopt, u.token, "", 200, false, true});
  if (!cart.ok() || !cart.body.is_object() || !cart.body.contains("items")) co_return;
  for (const auto& line : cart.body["items"]) {
    if (!line.contains("product_id")) continue;
    co_await send(w, {"DELETE", gw + "/api/cart/items/" + line["product_id"].get<std::string>(), "",
                      std::nullopt, u.token, "", 200, false});
  }
}

// POST /api/orders once, and once more with the same Idempotency-Key when it got no answer or
// a 5xx and the options ask for a retry. `seen` is shown each answer, the first one's too (a
// 503 naming the order it created, whose retry got no answer: the order went uncounted).
awaitable<Answer> place_order(Worker& w, User& u, const std::string& key,
                              const OperationContext& op,
                              const std::function<void(const Answer&)>& seen) {
  const auto& o = w.shared.options;
  Call call{"POST",
            o.gateway_url + "/api/orders",
            "POST /api/orders",
            std::nullopt,
            u.token,
            key,
            201,
            true,
            true};
  auto order = co_await send(w, call, &op);
  seen(order);
  bool retry = order.status == 0 || order.status <= -500;
  if (retry && o.checkout_retry_after.count() > 0 && Clock::now() < w.shared.deadline) {
    co_await sleep_for(o.checkout_retry_after);
    order = co_await send(w, call, &op);
    seen(order);
  }
  co_return order;
}

// Adds lines, checks out (one or two tabs), pays (or walks away, or pays with a declined
// card), then polls the order until PAID or FAILED. True when it ended PAID, or as planned.
awaitable<bool> checkout(Worker& w, User& u) {
  auto& s = w.shared;
  const auto& o = s.options;
  const auto& gw = o.gateway_url;
  std::uniform_real_distribution<double> uniform(0, 1);
  // Every draw happens up front, so a user's choices do not depend on the shop's answers.
  const auto& p = random_product(s, u);
  auto quantity = std::uniform_int_distribution<int>(1, 2)(u.rng);
  const bool twice = uniform(u.rng) < o.double_submit_share;
  const bool abandon = uniform(u.rng) < o.abandon_share;
  const bool decline = uniform(u.rng) < o.decline_share;
  OperationContext op{
      &u, "checkout",
      s.run_id + "-" + std::to_string(u.index) + "-" + std::to_string(u.iterations)};

  auto added =
      co_await send(w,
                    {"POST", gw + "/api/cart/items", "POST /api/cart/items",
                     nlohmann::json{{"product_id", p.id}, {"quantity", quantity}}, u.token},
                    &op);
  if (!added.ok()) {
    co_await clean_cart(w, u);
    co_return false;
  }
  auto key = "load-" + op.attempt;
  // A 503 payment_unavailable names the order it created, which failed (docs/api.md): counted
  // created and FAILED, as the shop's database has it (the report left such orders out). Once
  // an order: a retry with the same key replays the same answer.
  std::set<std::string> counted;
  const std::function<void(const Answer&)> count_failed_order = [&](const Answer& a) {
    const auto& b = a.body;
    if (a.status != -503 || !s.measuring || !b.is_object() || !b.contains("error") ||
        !b["error"].is_object() || b["error"].value("code", "") != "payment_unavailable" ||
        !b["error"].contains("details") || !b["error"]["details"].is_object() ||
        !b["error"]["details"].contains("order_id") ||
        !b["error"]["details"]["order_id"].is_string() ||
        !counted.insert(b["error"]["details"]["order_id"].get<std::string>()).second)
      return;
    std::lock_guard lock(w.stats.mu);
    ++w.stats.created;
    ++w.stats.failed;
  };
  Answer order;
  if (twice) {
    using namespace asio::experimental::awaitable_operators;
    auto [first, second] = co_await (place_order(w, u, key + "-a", op, count_failed_order) &&
                                     place_order(w, u, key + "-b", op, count_failed_order));
    order = first.ok() ? first : second;
  } else {
    order = co_await place_order(w, u, key, op, count_failed_order);
  }
  if (!order.ok()) {
    co_await clean_cart(w, u);
    co_return false;
  }
  const auto& b = order.body;
  if (!b.contains("order_id") || !b.contains("payment") || !b["payment"].contains("pay_url") ||
      !b["payment"]["pay_url"].is_string()) {
    std::lock_guard lock(w.stats.mu);
    ++w.stats.errors_by_code["201 without order_id or payment.pay_url"];
    co_return false;
  }
  if (s.measuring) {
    std::lock_guard lock(w.stats.mu);
    ++w.stats.created;
  }
  auto order_id = b["order_id"].get<std::string>();
  if (abandon) {
    std::lock_guard lock(w.stats.mu);
    ++w.stats.abandoned;
    co_return true;
  }
  const std::string card = decline ? "4000000000000002" : o.card;
  auto paid = co_await send(w,
                            {"POST", b["payment"]["pay_url"].get<std::string>(), "POST {pay_url}",
                             nlohmann::json{{"card_number", card}}, ""},
                            &op);
  // An order whose pay or poll request failed ends in no other bucket: count it as not
  // settled, so created = PAID + FAILED + not settled (+ walked away).
  const auto unsettled = [&] {
    if (!s.measuring) return;
    std::lock_guard lock(w.stats.mu);
    ++w.stats.unsettled;
  };
  if (!paid.ok()) {
    unsettled();
    co_return false;
  }
  // The provider calls the shop back; poll the order until the result has arrived.
  auto wait = o.settle_wait.count() > 0
                  ? Clock::duration(o.settle_wait)
                  : std::max<Clock::duration>(o.timeout, std::chrono::seconds(10));
  auto give_up = Clock::now() + wait;
  Clock::duration pause = std::chrono::milliseconds(1);
  for (;;) {
    auto got = co_await send(w,
                             {"GET", gw + "/api/orders/" + http::percent_encode(order_id),
                              "GET /api/orders/{id}", std::nullopt, u.token, "", 200, true, true},
                             &op);
    if (!got.ok()) {
      unsettled();
      co_return false;
    }
    auto status = got.body.value("status", std::string());
    if (status == "PAID" || status == "FAILED") {
      if (s.measuring) {
        std::lock_guard lock(w.stats.mu);
        ++(status == "PAID" ? w.stats.paid : w.stats.failed);
      }
      // A declined card leaves the lines in the cart; the next checkout starts from empty.
      if (status == "FAILED") co_await clean_cart(w, u);
      co_return status == "PAID" || decline;
    }
    if (Clock::now() + pause > give_up) {
      std::lock_guard lock(w.stats.mu);
      ++w.stats.unsettled;
      ++w.stats.errors_by_code["order still PAYMENT_PENDING after paying"];
      co_return false;
    }
    co_await sleep_for(pause);
    pause = std::min<Clock::duration>(pause * 2, std::chrono::milliseconds(50));
  }
}

// Runs one journey; true when every step answered as expected.
awaitable<bool> run_journey(Worker& w, User& u, Journey j) {
  auto& s = w.shared;
  const auto& gw = s.options.gateway_url;
  OperationContext op{
      &u, to_string(j),
      s.run_id + "-" + std::to_string(u.index) + "-" + std::to_string(u.iterations)};
  switch (j) {
    case Journey::browse: {
      auto page = std::uniform_int_distribution<int>(1, 3)(u.rng);
      auto a = co_await send(
          w,
          {"GET", gw + "/api/catalog/products?page_size=20&page=" + std::to_string(page),
           "GET /api/catalog/products", std::nullopt, u.token},
          &op);
      co_return a.ok();
    }
    case Journey::product: {
      auto a = co_await send(w,
                             {"GET", gw + "/api/catalog/products/" + random_product(s, u).id,
                              "GET /api/catalog/products/{id}", std::nullopt, u.token},
                             &op);
      co_return a.ok();
    }
    case Journey::cart: {
      const auto& p = random_product(s, u);
      auto added = co_await send(w,
                                 {"POST", gw + "/api/cart/items", "POST /api/cart/items",
                                  nlohmann::json{{"product_id", p.id}, {"quantity", 1}}, u.token},
                                 &op);
      if (!added.ok()) {
        co_await clean_cart(w, u);
        co_return false;
      }
      auto read =
          co_await send(w, {"GET", gw + "/api/cart", "GET /api/cart", std::nullopt, u.token}, &op);
      // A journey stops at its first unexpected answer (docs/load.md): a counted DELETE after a
      // failed read made three request errors of two failed journeys (an outside probe). The
      // line is taken out all the same, uncounted (clean_cart).
      if (!read.ok()) {
        co_await clean_cart(w, u);
        co_return false;
      }
      auto removed = co_await send(w,
                                   {"DELETE", gw + "/api/cart/items/" + p.id,
                                    "DELETE /api/cart/items/{id}", std::nullopt, u.token},
                                   &op);
      // A removal that failed left the line: the next cart journey added to it (quantities of
      // 16 to 21 after a run with DELETE faulted), and a checkout ordered it all.
      if (!removed.ok()) co_await clean_cart(w, u);
      co_return removed.ok();
    }
    case Journey::checkout:
      co_return co_await checkout(w, u);
  }
  co_return false;
}

// A user whose token the shop said has expired signs in again, as a shopper would: the shop's
// clock moved on (an operator's advance during a drill) or the run outlasted auth.token_ttl,
// and every journey after it failed with 401 token_expired to the end (an outside probe: 94 %
// errors, exit 0 with no threshold). The journey that met it has failed and counts so; the
// sign-in itself is not measured. Counted in the report.
awaitable<void> renew_expired_token(Worker& w, User& u) {
  if (w.expired_tokens.erase(u.token) == 0) co_return;
  const auto& gw = w.shared.options.gateway_url;
  auto login =
      co_await send(w, {"POST", gw + "/api/auth/login", "",
                        nlohmann::json{{"email", u.email}, {"password", w.shared.options.password}},
                        "", "", 200, false, true});
  if (!login.ok() || !login.body.contains("access_token") ||
      !login.body["access_token"].is_string())
    co_return;  // tried again after the next journey that meets it
  u.token = login.body["access_token"].get<std::string>();
  std::lock_guard lock(w.stats.mu);
  ++w.stats.renewed;
}

void count_journey(Worker& w, Journey j, Clock::duration took, bool ok) {
  if (!w.shared.measuring.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(w.stats.mu);
  auto& t = w.stats.journeys[std::string(to_string(j))];
  ++t.count;
  if (!ok) ++t.errors;
  t.latency.add(took);
  ++w.stats.interval_journeys;
}

awaitable<void> closed_loop_user(Worker& w, User& u) {
  auto& s = w.shared;
  std::uniform_real_distribution<double> uniform(0, 1);
  while (Clock::now() < s.deadline) {
    auto j = s.options.mix.pick(uniform(u.rng));
    auto began = Clock::now();
    bool ok = co_await run_journey(w, u, j);
    count_journey(w, j, Clock::now() - began, ok);
    ++u.iterations;
    if (!ok) co_await renew_expired_token(w, u);
    // The pause ends with the run: a long --think must not outlast --duration.
    if (s.options.think.count() > 0 && Clock::now() < s.deadline)
      co_await sleep_for(std::min<Clock::duration>(s.options.think, s.deadline - Clock::now()));
  }
}

// One journey started by the open-loop scheduler at `scheduled`: its latency counts from then,
// so a shop that falls behind shows it (no coordinated omission).
awaitable<void> open_loop_journey(Worker& w, User& u, Clock::time_point scheduled) {
  std::uniform_real_distribution<double> uniform(0, 1);
  auto j = w.shared.options.mix.pick(uniform(u.rng));
  bool ok = co_await run_journey(w, u, j);
  count_journey(w, j, Clock::now() - scheduled, ok);
  ++u.iterations;
  if (!ok) co_await renew_expired_token(w, u);
  w.idle.push_back(&u);
}

awaitable<void> open_loop_scheduler(Worker& w, double rate, Clock::duration offset) {
  auto& s = w.shared;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // The k-th start, reckoned from the first (k / rate, rounded to the clock's tick), not by
  // adding an interval cut to whole nanoseconds: 1/3 s added three times fell a nanosecond
  // short of a 1 s deadline, and a fourth start was "due", then dropped behind schedule, at
  // every rate whose period is no whole number of nanoseconds (--rate 3, 7, 300 for 1 s: N
  // journeys and 1 dropped, so `dropped<=0` failed a run that dropped nothing; an outside probe).
  const auto base = s.start + offset;
  auto at = [&](std::uint64_t k) {
    return base + Clock::duration(static_cast<Clock::rep>(std::llround(
                      static_cast<long double>(k) * static_cast<long double>(Clock::period::den) /
                      (static_cast<long double>(rate) * Clock::period::num))));
  };
  std::uint64_t k = 0;
  auto next = at(k);
  while (next < s.deadline) {
    timer.expires_at(next);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    // Behind its schedule at the deadline (more starts asked for than this thread can make):
    // the starts still due are dropped, not made. It went on starting its overdue journeys
    // after the deadline: a 1 s run at --rate 1000000 lasted 58 s (an outside probe).
    if (const auto now = Clock::now(); now >= s.deadline) {
      // The starts before the deadline, k/rate < its time: about span x rate, put right at
      // the clock's tick (no loop over a million starts at --rate 1000000).
      const long double span = static_cast<long double>((s.deadline - base).count()) *
                               Clock::period::num / Clock::period::den;
      auto end = static_cast<std::uint64_t>(std::ceil(span * static_cast<long double>(rate)));
      while (end > 0 && at(end - 1) >= s.deadline) --end;
      while (at(end) < s.deadline) ++end;
      const std::uint64_t due = end > k ? end - k : 0;
      std::lock_guard lock(w.stats.mu);
      w.stats.dropped += due;
      w.stats.behind_at_deadline += due;
      break;
    }
    // A scheduler that wakes late starts its journeys late; their latency counts from the
    // schedule, so the lag shows there, and the report names it (it was blamed on the shop).
    if (const auto lag = Clock::now() - next; lag > w.stats.start_lag_max) {
      std::lock_guard lock(w.stats.mu);
      w.stats.start_lag_max = std::max(w.stats.start_lag_max, std::chrono::nanoseconds(lag));
    }
    if (w.idle.empty()) {
      std::lock_guard lock(w.stats.mu);
      ++w.stats.dropped;
    } else {
      User* u = w.idle.front();
      w.idle.pop_front();
      w.active.fetch_add(1);
      asio::co_spawn(w.io, open_loop_journey(w, *u, next),
                     [&w](const std::exception_ptr& e) { w.finished_one(e); });
    }
    next = at(++k);
  }
  // A rate slower than the run (one journey in more than --duration) still runs for the
  // whole duration, so the report's per-second figures are over the time asked for.
  timer.expires_at(s.deadline);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
}

// Registers (or reuses) and logs in one user: setup, not measured.
awaitable<void> sign_in(Worker& w, User& u, std::string& problem) {
  const auto& gw = w.shared.options.gateway_url;
  nlohmann::json who = {{"email", u.email}, {"password", w.shared.options.password}};
  auto reg = co_await send(w, {"POST", gw + "/api/auth/register", "",
                               nlohmann::json{{"email", u.email},
                                              {"password", w.shared.options.password},
                                              {"name", "Load User " + std::to_string(u.index)}},
                               "", "", 201, false});
  if (!reg.ok() && reg.status != -409) {
    problem = "registering " + u.email + " answered " +
              (reg.status == 0 ? "nothing (transport error)" : std::to_string(-reg.status));
    co_return;
  }
  auto login =
      co_await send(w, {"POST", gw + "/api/auth/login", "", who, "", "", 200, false, true});
  if (!login.ok() || !login.body.contains("access_token")) {
    problem = "logging in " + u.email + " answered " +
              (login.status == 0 ? "nothing (transport error)" : std::to_string(-login.status));
    co_return;
  }
  u.token = login.body["access_token"].get<std::string>();
}

std::vector<Product> fetch_products(const std::string& gateway, const std::string& token,
                                    std::chrono::nanoseconds timeout) {
  http::BlockingClient client;
  std::vector<Product> out;
  for (int page = 1; page <= 100; ++page) {
    http::Request req;
    req.method = "GET";
    req.headers.set("Authorization", "Bearer " + token);
    auto res = client.send_url(
        gateway + "/api/catalog/products?page_size=100&page=" + std::to_string(page),
        std::move(req), timeout);
    if (res.status != 200)
      throw SetupError("GET /api/catalog/products answered " + std::to_string(res.status) + ": " +
                       res.body.substr(0, 200));
    auto body = platform::parse_json_or_discarded(res.body);
    if (!body.is_object() || !body.contains("items") || !body["items"].is_array())
      throw SetupError("GET /api/catalog/products did not answer a product list");
    for (const auto& p : body["items"])
      if (p.value("available", false) && p.contains("id"))
        out.push_back({p["id"].get<std::string>()});
    if (body["items"].size() < 100) break;
  }
  if (out.empty()) throw SetupError("the catalog has no available product to buy");
  return out;
}

}  // namespace

LoadResult run_load(const LoadOptions& o) {
  if (o.mix.weights.empty()) throw std::invalid_argument("no journey mix");
  Shared shared{o, {}, platform::security::random_hex(4), {}, {}, {}};
  auto setup_began = Clock::now();

  // The shop must be there: the gateway answers an anonymous request with 401.
  std::optional<platform::AdminClient> admin;
  {
    http::BlockingClient probe;
    http::Request req;
    req.method = "GET";
    try {
      auto res =
          probe.send_url(o.gateway_url + "/api/cart", std::move(req), std::chrono::seconds(5));
      if (res.status != 401)
        throw SetupError("GET " + o.gateway_url + "/api/cart without a token answered " +
                         std::to_string(res.status) + ", not 401: is this a shopctl gateway?");
    } catch (const http::TransportError& e) {
      throw SetupError("cannot reach the gateway at " + o.gateway_url + ": " + e.what());
    }
  }
  if (!o.admin_token.empty()) admin.emplace(o.gateway_url, o.admin_token, std::chrono::seconds(10));

  unsigned users = std::max(1u, o.users);
  // A thread with no user has nobody to start a journey with: with --threads 4 --users 2 an
  // open loop dropped half its starts, "every user busy", while the users were idle (an outside
  // probe). No more threads than users.
  unsigned threads = std::min(std::max(1u, o.threads), users);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>(shared));
  for (unsigned i = 0; i < users; ++i) {
    auto u = std::make_unique<User>();
    u->index = i;
    u->email = "load-" + shared.run_id + "-" + std::to_string(i) + "@load.test";
    u->rng.seed(o.seed * 0x9e3779b97f4a7c15ULL + i);
    workers[i % threads]->users.push_back(std::move(u));
  }
  auto stop_workers = [&] {
    for (auto& w : workers) w->work.reset();
    for (auto& w : workers) {
      w->io.stop();
      if (w->thread.joinable()) w->thread.join();
    }
  };
  try {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      workers[i]->thread = std::thread([&io = workers[i]->io, i] {
        platform::name_this_thread("load-" + std::to_string(i));
        io.run();
      });
    }
  } catch (const std::system_error& e) {
    // The system refused a thread (`ulimit -u`, `ulimit -v`): the threads already started,
    // destroyed joinable, ended the run with SIGABRT. They are stopped, and the run is refused.
    stop_workers();
    throw std::runtime_error(std::string("the system refused a load generator thread (") +
                             e.what() + "; ulimit -u or -v?): try fewer --threads");
  }

  auto wait_all = [&](std::chrono::nanoseconds limit) {
    auto until = Clock::now() + limit;
    for (auto& w : workers) {
      std::unique_lock lock(w->done_mu);
      if (!w->done_cv.wait_until(lock, until, [&] { return w->active.load() == 0; })) return false;
    }
    return true;
  };

  // Setup: every user signs in, at most eight at a time per worker.
  std::vector<std::string> problems(users);
  for (auto& w : workers) {
    auto next = std::make_shared<std::atomic<std::size_t>>(0);
    unsigned lanes = std::min<unsigned>(8, static_cast<unsigned>(w->users.size()));
    for (unsigned lane = 0; lane < lanes; ++lane) {
      w->active.fetch_add(1);
      asio::co_spawn(
          w->io,
          [&w = *w, next, &problems]() -> awaitable<void> {
            for (std::size_t i; (i = next->fetch_add(1)) < w.users.size();) {
              auto& u = *w.users[i];
              co_await sign_in(w, u, problems[u.index]);
              w.shared.signed_in.fetch_add(1);
              if (!problems[u.index].empty()) co_return;
            }
          },
          [&w = *w](std::exception_ptr) { w.finished_one(); });
    }
  }
  // Many users take a while (each is a registration and a login, two password hashes): the
  // wait lasts as long as users keep signing in, and ends early, with a figure, when the pace
  // says the whole would take longer than kSetupLimit or nobody signed in for `stalled`.
  {
    constexpr auto kSetupLimit = std::chrono::minutes(10);
    const auto stalled =
        std::max<std::chrono::nanoseconds>(std::chrono::seconds(60), o.timeout * 4);
    const auto began = Clock::now();
    auto last_progress = began;
    std::size_t last_count = 0;
    while (!wait_all(std::chrono::milliseconds(500))) {
      const auto now = Clock::now();
      const std::size_t count = shared.signed_in.load();
      if (count != last_count) {
        last_count = count;
        last_progress = now;
      }
      const double elapsed = std::chrono::duration<double>(now - began).count();
      std::string why;
      if (now - last_progress >= stalled) {
        why = "no virtual user finished signing in for " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(stalled).count()) +
              " s (" + std::to_string(count) + " of " + std::to_string(users) + " done)";
      } else if (elapsed >= 5 && count > 0) {
        const double projected = elapsed * static_cast<double>(users) / static_cast<double>(count);
        if (projected > std::chrono::duration<double>(kSetupLimit).count()) {
          char text[200];
          std::snprintf(text, sizeof text,
                        "signing %u virtual users in would take about %.0f minutes (%zu in "
                        "%.0f s: each registers and logs in, two password hashes)",
                        users, projected / 60, count, elapsed);
          why = text;
        }
      }
      if (!why.empty()) {
        stop_workers();
        throw SetupError(why + "; use fewer --users, or an open loop (--rate R) on a smaller pool");
      }
    }
  }
  for (const auto& p : problems)
    if (!p.empty()) {
      stop_workers();
      throw SetupError(p);
    }
  try {
    shared.products = fetch_products(o.gateway_url, workers[0]->users[0]->token, o.timeout);
  } catch (...) {
    stop_workers();
    throw;
  }

  LoadResult result;
  std::uint64_t calls_seq = 0;
  // How far the shop's clock is ahead of this machine's (an operator's clock advance): its
  // breaker transitions are dated by it. at_s was 3600.13 in a 2 s run after `clock advance
  // 1h` (an outside probe).
  double shop_clock_offset_ms = 0;
  if (admin) {
    try {
      auto a = admin->send("GET", "/_admin/calls?since=18446744073709551615");
      if (a.ok()) calls_seq = a.body.value("next_seq", std::uint64_t{0});
      auto clock = admin->send("GET", "/_admin/clock");
      if (clock.ok() && clock.body.is_object() && clock.body.contains("offset_ms") &&
          clock.body["offset_ms"].is_number())
        shop_clock_offset_ms = clock.body["offset_ms"].get<double>();
    } catch (const http::TransportError&) {
    }
  }

  std::vector<std::string> fault_ids;
  bool faults_on = false, faults_done = o.faults.empty() || !admin;
  if (!o.faults.empty() && !admin) {
    stop_workers();
    throw SetupError("--fault needs the shop's admin token (--admin-token)");
  }
  auto fault_event = [&](const std::string& what, const nlohmann::json& detail) {
    auto at =
        shared.measuring ? std::chrono::duration<double>(Clock::now() - shared.start).count() : 0.0;
    result.fault_events.push_back({{"at_s", at}, {"event", what}, {"fault", detail}});
  };
  auto faults_off = [&] {
    for (const auto& id : fault_ids) {
      // Said as it went: a fault the shop did not remove is no "cleared" (an id with a '/'
      // was sent unencoded, found nothing, and the run said "cleared" while it went on).
      std::string problem;
      try {
        const auto answer = admin->send("DELETE", "/_admin/faults/" + http::percent_encode(id));
        if (!answer.ok()) problem = answer.error_message();
      } catch (const http::TransportError& e) {
        problem = e.what();
      }
      fault_event(problem.empty() ? "cleared" : "not cleared (" + problem + ")", id);
    }
    fault_ids.clear();
    faults_on = false;
    faults_done = true;
  };
  // Faults go on at `fault_at` (before the first journey when that is 0).
  auto switch_faults_on = [&](Clock::time_point now) {
    if (faults_done || faults_on) return false;
    if (shared.measuring && (now - shared.start < o.fault_at || now >= shared.deadline))
      return false;
    if (!shared.measuring && o.fault_at.count() > 0) return false;
    for (const auto& f : o.faults) {
      // A shop that stopped answering (its gateway down at fault_at), or a fault that cannot be
      // sent (a body that is not UTF-8): the exception left with the load's threads running,
      // and the process ended (std::terminate; an outside probe). The faults already on go
      // off, the threads are joined, and the run ends with the reason.
      std::optional<platform::AdminAnswer> sent;
      try {
        sent = admin->send("POST", "/_admin/faults", f);
      } catch (const std::exception& e) {
        faults_off();
        stop_workers();
        throw SetupError(std::string("the faults could not be switched on: ") + e.what());
      }
      auto& a = *sent;
      if (!a.ok()) {
        faults_off();
        stop_workers();
        throw std::invalid_argument("the shop refused the fault " + platform::json_text(f) + ": " +
                                    a.error_message());
      }
      fault_ids.push_back(a.body.value("id", std::string()));
      fault_event("added", f);
    }
    faults_on = true;
    return true;
  };
  switch_faults_on(Clock::now());

  // The measured run.
  result.setup_seconds = std::chrono::duration<double>(Clock::now() - setup_began).count();
  if (o.on_measuring) o.on_measuring();
  shared.start = Clock::now();
  auto start_unix_ms =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  shared.deadline = shared.start + o.duration;
  shared.measuring = true;
  result.mode = o.rate > 0 ? "open" : "closed";
  result.users = users;
  result.rate = o.rate;
  result.mix = o.mix.describe();
  for (std::size_t wi = 0; wi < workers.size(); ++wi) {
    auto& w = *workers[wi];
    if (o.rate > 0) {
      for (auto& u : w.users) w.idle.push_back(u.get());
      // Each thread's share of the rate is its share of the users (5 users on 2 threads: 3
      // and 2), so that a thread with fewer users does not drop starts the other could take.
      double per_worker = o.rate * static_cast<double>(w.users.size()) / static_cast<double>(users);
      auto offset = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(static_cast<double>(wi) / o.rate));
      w.active.fetch_add(1);
      asio::co_spawn(w.io, open_loop_scheduler(w, per_worker, offset),
                     [&w](const std::exception_ptr& e) { w.finished_one(e); });
    } else {
      for (auto& u : w.users) {
        w.active.fetch_add(1);
        asio::co_spawn(w.io, closed_loop_user(w, *u),
                       [&w](const std::exception_ptr& e) { w.finished_one(e); });
      }
    }
  }

  // CPU time of the process and of the generator's threads, from here to the end.
  auto process_cpu = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto secs = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return secs(u.ru_utime) + secs(u.ru_stime);
  };
  auto generator_cpu = [&workers] {
    double total = 0;
    for (auto& w : workers) {
      clockid_t id;
      timespec t{};
      if (pthread_getcpuclockid(w->thread.native_handle(), &id) == 0 && clock_gettime(id, &t) == 0)
        total += static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
    }
    return total;
  };
  const double process_cpu_began = process_cpu();
  const double generator_cpu_began = generator_cpu();

  // Progress, faults on and off, until every worker is done.
  auto last_tick = shared.start;
  // One interval's figures, taken from the workers (and reset there).
  struct Interval {
    LatencyStats latency;
    std::uint64_t requests = 0, journeys = 0, errors = 0;
    void add(const Interval& other) {
      latency.merge(other.latency);
      requests += other.requests;
      journeys += other.journeys;
      errors += other.errors;
    }
  };
  auto take_interval = [&] {
    Interval i;
    for (auto& w : workers) {
      std::lock_guard lock(w->stats.mu);
      i.latency.merge(w->stats.interval_latency);
      w->stats.interval_latency.clear();
      i.requests += w->stats.interval_requests;
      i.journeys += w->stats.interval_journeys;
      i.errors += w->stats.interval_errors;
      w->stats.interval_requests = w->stats.interval_journeys = w->stats.interval_errors = 0;
    }
    return i;
  };
  // The last second before the deadline, taken at the deadline and held: said with the drain's
  // first tick a second later, or, when the drain ends sooner, folded into the run's last line
  // (so no line repeats the last full second with a sliver of draining in it). Ticking only
  // once a second past the deadline made the drain's first sample cover two seconds, and the
  // second before the deadline had no line and no timeline sample (an outside probe).
  std::optional<Interval> held;
  Clock::time_point held_at{};
  auto emit = [&](Clock::time_point at, const Interval& i, double seconds, bool final,
                  const std::string& note) {
    Progress p;
    p.note = note;
    p.final = final;
    for (auto& w : workers) {
      std::lock_guard lock(w->stats.mu);
      p.requests += w->stats.requests.count;
      p.errors += w->stats.requests.errors;
      p.orders_paid += w->stats.paid;
    }
    p.elapsed_s = std::chrono::duration<double>(at - shared.start).count();
    p.requests_per_second = seconds > 0 ? static_cast<double>(i.requests) / seconds : 0;
    p.journeys_per_second = seconds > 0 ? static_cast<double>(i.journeys) / seconds : 0;
    p.p99_ms = i.latency.quantile_ms(0.99);
    p.has_latency = i.latency.count() > 0;
    if (seconds > 0) {
      result.timeline.push_back(
          {p.elapsed_s, p.requests_per_second, static_cast<double>(i.errors) / seconds,
           i.latency.quantile_ms(0.50), i.latency.quantile_ms(0.90), p.p99_ms, p.has_latency});
    }
    if (o.on_progress) {
      // A callback that throws ends the run here, faults off and threads joined; leaving
      // with the threads still joinable ended the process (std::terminate).
      try {
        o.on_progress(p);
      } catch (...) {
        faults_off();
        stop_workers();
        throw;
      }
    }
  };
  for (;;) {
    // Woken at the deadline itself, to take the last second's figures there.
    auto wait = std::chrono::nanoseconds(std::chrono::milliseconds(100));
    if (const auto before = Clock::now(); before < shared.deadline)
      wait = std::min(wait, std::chrono::nanoseconds(shared.deadline - before));
    bool done = wait_all(wait);
    auto now = Clock::now();
    std::string note;
    if (switch_faults_on(now)) note = "faults on";
    if (faults_on &&
        ((o.fault_for.count() > 0 && now - shared.start >= o.fault_at + o.fault_for) || done)) {
      faults_off();
      note = "faults off";
    }
    // After the deadline no journey starts. The tick that ends the run comes when the ones in
    // flight are done, covering the time since the tick before; a drain that lasts a second or
    // more ticks once a second meanwhile, after the held second before the deadline.
    if (!done && note.empty() && !held && now >= shared.deadline && last_tick < shared.deadline) {
      held = take_interval();
      held_at = now;
      continue;
    }
    const bool tick_due =
        now - last_tick >= std::chrono::seconds(1) &&
        (now < shared.deadline || now - shared.deadline >= std::chrono::seconds(1));
    if (tick_due || done || !note.empty()) {
      Interval i = take_interval();
      if (held && (done || !note.empty()) && now - held_at < std::chrono::seconds(1)) {
        // A short drain: one line for the last second and the drain together.
        i.add(*held);
        held.reset();
      }
      if (held) {
        emit(held_at, *held, std::chrono::duration<double>(held_at - last_tick).count(), false, "");
        last_tick = held_at;
        held.reset();
      }
      emit(now, i, std::chrono::duration<double>(now - last_tick).count(), done, note);
      last_tick = now;
    }
    if (done) break;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - shared.start).count();
  result.cpu_generator_seconds = generator_cpu() - generator_cpu_began;
  result.cpu_process_seconds = process_cpu() - process_cpu_began;
  shared.measuring = false;
  stop_workers();
  for (auto& w : workers) {
    if (!w->failure.empty())
      throw SetupError(
          "the load generator stopped: a virtual user met an error it does not "
          "handle (" +
          w->failure.substr(0, 300) + "); no report, since its figures would be wrong");
  }

  for (auto& w : workers) {
    auto& st = w->stats;
    result.requests.merge(st.requests);
    for (auto& [k, t] : st.routes) result.routes[k].merge(t);
    for (auto& [k, t] : st.journeys) result.journeys[k].merge(t);
    for (auto& [k, n] : st.errors_by_code) result.errors_by_code[k] += n;
    result.orders_created += st.created;
    result.orders_paid += st.paid;
    result.orders_failed += st.failed;
    result.orders_unsettled += st.unsettled;
    result.orders_abandoned += st.abandoned;
    result.dropped += st.dropped;
    result.dropped_behind += st.behind_at_deadline;
    result.tokens_renewed += st.renewed;
    result.start_lag_max_ms =
        std::max(result.start_lag_max_ms,
                 std::chrono::duration<double, std::milli>(st.start_lag_max).count());
  }
  if (admin) {
    try {
      auto a =
          admin->send("GET", "/_admin/calls?only=transitions&since=" + std::to_string(calls_seq));
      if (a.ok() && a.body.contains("transitions"))
        result.breaker_transitions = a.body["transitions"];
      else
        result.breaker_transitions_problem = "GET /_admin/calls answered " +
                                             std::to_string(a.status) + " " +
                                             a.error_message().substr(0, 200);
      // By this machine's time of the transition (real_ms): the shop's clock (at_ms) less its
      // offset at the start was wrong for one after a clock advance during the run. A shop
      // without real_ms (an older one) is read as before.
      for (auto& t : result.breaker_transitions) {
        const double real = t.value("real_ms", 0.0);
        const double at = real > 0 ? real : t.value("at_ms", 0.0) - shop_clock_offset_ms;
        t["at_s"] = std::max(0.0, (at - start_unix_ms) / 1000);
      }
    } catch (const http::TransportError& e) {
      result.breaker_transitions_problem =
          std::string("GET /_admin/calls: ") + std::string(e.what()).substr(0, 200);
    }
  } else {
    // Without the admin token nothing was asked: "none" would claim what nobody checked.
    result.breaker_transitions_problem = "no --admin-token was given, so the shop was not asked";
  }
  return result;
}

}  // namespace shopctl::load
