#include "chaos/runner.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "platform/admin_client.hpp"
#include "platform/duration.hpp"
#include "platform/http/blocking_client.hpp"

namespace shopctl::chaos {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

nlohmann::json history_line(const load::Operation& op, std::string_view kind) {
  nlohmann::json j = {{"kind", kind},      {"t_start", op.start_s}, {"t_end", op.end_s},
                      {"user", op.email},  {"journey", op.journey}, {"attempt", op.attempt},
                      {"route", op.route}, {"target", op.target},   {"status", op.status}};
  if (!op.idempotency_key.empty()) j["idempotency_key"] = op.idempotency_key;
  if (!op.request.is_null()) j["request"] = op.request;
  if (!op.error.empty()) j["error"] = op.error;
  if (!op.trace_id.empty()) j["trace_id"] = op.trace_id;
  // Product pages are long and say nothing about money: their status is enough.
  bool catalog = op.route.rfind("GET /api/catalog", 0) == 0;
  if (!catalog && !op.body.is_discarded() && !op.body.is_null()) j["answer"] = op.body;
  return j;
}

namespace {

// The services chaos may stop: every one but the gateway, which serves the admin plane.

class Chaos {
 public:
  Chaos(ShopDriver& shop, const ChaosOptions& o, ChaosResult& r)
      : shop_(shop), o_(o), r_(r), admin_(shop.gateway_url(), shop.admin_token(), 10s) {}

  void history(nlohmann::json j) {
    if (o_.on_history) {
      std::lock_guard lock(history_mu_);
      o_.on_history(j);
    }
  }

  // One schedule event, as the admin plane (or the process) takes it.
  void apply(const ChaosEvent& e, double now_s) {
    auto record = e.to_json();
    record["kind"] = "chaos";
    record["applied_s"] = now_s;
    try {
      switch (e.kind) {
        case EventKind::fault_on: {
          auto a = admin_.send("POST", "/_admin/faults", e.fault);
          note_answer(record, a, e);
          if (a.ok()) ++r_.done.faults[e.fault_type][e.edge];
          break;
        }
        case EventKind::fault_off:
          note_answer(record,
                      admin_.send("DELETE", "/_admin/faults/" + http::percent_encode(e.fault_id)),
                      e, true);
          break;
        case EventKind::stop:
        case EventKind::start:
        case EventKind::restart: {
          auto a = admin_.send(
              "POST", "/_admin/services/" + e.service + "/" + std::string(to_string(e.kind)));
          note_answer(record, a, e);
          if (a.ok()) ++r_.done.by_kind[std::string(to_string(e.kind))];
          break;
        }
        case EventKind::crash_service: {
          if (r_.done.crash_supported) {
            auto a = admin_.send("POST", "/_admin/services/" + e.service + "/crash");
            if (a.status == 404 && a.error_message().rfind("route_not_found", 0) == 0) {
              r_.done.crash_supported = false;
              r_.notes.push_back(
                  "this shop has no POST /_admin/services/{name}/crash: each scheduled crash was a "
                  "stop instead");
            } else {
              note_answer(record, a, e);
              if (a.ok()) ++r_.done.by_kind["crash"];
              break;
            }
          }
          record["instead"] = "stop";
          auto a = admin_.send("POST", "/_admin/services/" + e.service + "/stop");
          note_answer(record, a, e);
          if (a.ok()) ++r_.done.by_kind["stop"];
          break;
        }
        case EventKind::clock_advance: {
          auto a = admin_.send("POST", "/_admin/clock/advance",
                               nlohmann::json{{"by", platform::format_duration(e.advance)}});
          note_answer(record, a, e);
          if (a.ok()) {
            r_.done.clock_advanced += e.advance;
            clock_total_ += e.advance;
            if (a.body.is_object() &&
                a.body.value("offset_ms", nlohmann::json()).is_number_integer())
              offset_reached_ =
                  std::max(offset_reached_,
                           std::chrono::milliseconds(a.body["offset_ms"].get<std::int64_t>()));
          }
          break;
        }
        case EventKind::kill_process: {
          shop_.kill_and_restart(e.down_for);
          ++r_.done.by_kind["kill"];
          catch_up_clock();
          record["result"] = "restarted";
          break;
        }
      }
    } catch (const http::TransportError& ex) {
      record["result"] = std::string("no answer: ") + ex.what();
      r_.done.refused.push_back(e.describe() + ": no answer (" + ex.what() + ")");
    }
    last_event_ = e.describe();
    history(record);
  }

  // An event of the plan that was not applied, said in the history and among the refused.
  void skip(const ChaosEvent& e, double now_s, const std::string& why) {
    auto record = e.to_json();
    record["kind"] = "chaos";
    record["applied_s"] = nullptr;
    record["at_end_s"] = now_s;
    record["result"] = why;
    r_.done.refused.push_back(e.describe() + ": " + why);
    history(record);
  }

  void note_answer(nlohmann::json& record, const platform::AdminAnswer& a, const ChaosEvent& e,
                   bool not_found_ok = false) {
    record["status"] = a.status;
    if (a.ok() || (not_found_ok && a.status == 404)) return;  // a fault a restart already cleared
    record["result"] = a.error_message();
    r_.done.refused.push_back(e.describe() + ": " + std::to_string(a.status) + " " +
                              a.error_message());
  }

  void watch_process(double now_s) {
    for (auto& death : shop_.unexpected_deaths()) {
      r_.world.unexpected_deaths.push_back(
          death + (now_s < 0 ? std::string(" (while healing)")
                             : " (at " + std::to_string(now_s).substr(0, 6) + " s)"));
      history({{"kind", "chaos"}, {"event", "unexpected_death"}, {"at_s", now_s}, {"what", death}});
      try {
        catch_up_clock();
      } catch (const http::TransportError&) {
      }
    }
  }

  // Wall time does not go back when a process dies, nor does the shop's clock: a shop started
  // again on its folder keeps the offset an advance reached (clock.json, docs/money.md). One
  // whose offset is behind what this run moved it to (a shop of an older shopctl, which kept
  // it in memory) is moved forward by what it lacks, never by the whole again.
  // An offset that cannot be read (a shop still starting) moves nothing: moving it by the
  // whole again would count the advance twice on a shop that kept it.
  void catch_up_clock() {
    if (clock_total_.count() <= 0) return;
    std::optional<std::chrono::milliseconds> kept;
    for (int attempt = 0; attempt < 5 && !kept; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(200ms);
      try {
        auto now = admin_.send("GET", "/_admin/clock");
        if (now.ok() && now.body.is_object() &&
            now.body.value("offset_ms", nlohmann::json()).is_number_integer())
          kept = std::chrono::milliseconds(now.body["offset_ms"].get<std::int64_t>());
      } catch (const http::TransportError&) {
      }
    }
    if (!kept) return;
    const auto missing = offset_reached_ - *kept;
    if (missing.count() > 0)
      admin_.send("POST", "/_admin/clock/advance",
                  nlohmann::json{{"by", platform::format_duration(missing)}});
  }

  // Faults off, every service up, the clock past every retry and expiry; then waits until
  // nothing is in flight (bounded by `settle`), moving the clock an hour at a time so that
  // each backoff comes due.
  void heal(const std::optional<DatabaseFiles>& files, Clock::time_point deadline) {
    auto quiet = [&] {
      try {
        switch_faults_off_and_start(admin_);
      } catch (const http::TransportError&) {
      }
    };
    quiet();
    history(
        {{"kind", "chaos"}, {"event", "heal"}, {"what", "faults cleared, every service started"}});
    // Past payment reconciliation (60 s), then order expiry (30 min), then the provider's
    // retries (72 h); a pause between, so each background pass sees each step.
    for (std::chrono::milliseconds by :
         {std::chrono::milliseconds(61s), std::chrono::milliseconds(31min),
          std::chrono::milliseconds(73h)}) {
      advance_while_healing(by);
      history({{"kind", "chaos"},
               {"event", "clock_advance"},
               {"what", "heal: clock +" + platform::format_duration(by)}});
      std::this_thread::sleep_for(1500ms);
    }
    wait_quiet(files, deadline);
  }

  // Moves the shop's clock while healing; what the shop took is counted in the report, which
  // states the whole move (a --target shop's tokens and unpaid orders expire with it).
  void advance_while_healing(std::chrono::milliseconds by) {
    try {
      auto a = admin_.send("POST", "/_admin/clock/advance",
                           nlohmann::json{{"by", platform::format_duration(by)}});
      if (a.ok()) r_.done.clock_advanced_healing += by;
    } catch (const http::TransportError&) {
    }
  }

  // Waits until nothing is in flight, the deadline passes, or nothing has changed for 10 s
  // of real time (with the clock moved an hour every 2 s meanwhile): a shop that settles
  // nothing more in that time is stuck, not slow.
  void wait_quiet(const std::optional<DatabaseFiles>& files, Clock::time_point deadline) {
    auto last_jump = Clock::now(), last_change = Clock::now();
    InFlight before;
    for (;;) {
      watch_process(-1);
      if (files) {
        r_.left = count_in_flight(*files);
        if (r_.left.quiet()) {
          r_.quiescent = true;
          return;
        }
        if (r_.left.pending_orders != before.pending_orders ||
            r_.left.payments_to_cancel != before.payments_to_cancel ||
            r_.left.unfinished_callbacks != before.unfinished_callbacks ||
            r_.left.unopened_payments != before.unopened_payments ||
            r_.left.undelivered_events != before.undelivered_events) {
          before = r_.left;
          last_change = Clock::now();
        }
      }
      if (Clock::now() >= deadline || Clock::now() - last_change >= 10s) {
        r_.quiescent = false;
        return;
      }
      if (Clock::now() - last_jump >= 2s) {
        advance_while_healing(1h);
        last_jump = Clock::now();
      }
      std::this_thread::sleep_for(250ms);
    }
  }

  // The breakers as each service's admin plane reports them.
  void read_breakers() {
    try {
      auto services = admin_.send("GET", "/_admin/services");
      if (!services.ok() || !services.body.contains("items")) return;
      for (const auto& s : services.body["items"]) {
        auto name = s.value("name", std::string());
        auto url = s.value("url", std::string());
        if (name.empty() || url.empty()) continue;
        platform::AdminClient plane(url, shop_.admin_token(), 5s);
        auto b = plane.send("GET", "/_admin/circuit-breakers");
        if (b.status == 404) continue;  // a service without breakers
        if (!b.ok() || !b.body.contains("items")) return;
        for (const auto& item : b.body["items"])
          r_.world.breakers.push_back(
              {name, item.value("name", std::string()), item.value("state", std::string())});
      }
      r_.world.have_breakers = true;
    } catch (const std::exception& e) {
      r_.notes.push_back(std::string("the breakers could not be read: ") + e.what());
    }
  }

  platform::AdminClient& admin() { return admin_; }
  std::string last_event() const { return last_event_; }

 private:
  ShopDriver& shop_;
  const ChaosOptions& o_;
  ChaosResult& r_;
  platform::AdminClient admin_;
  std::mutex history_mu_;
  std::chrono::milliseconds clock_total_{0};
  std::chrono::milliseconds offset_reached_{0};  // the shop's offset after this run's advances
  std::string last_event_;
};

std::string thousands(std::uint64_t n) {
  auto s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

void check_world(const std::optional<DatabaseFiles>& files, ChaosResult& r) {
  if (files) {
    load_databases(*files, r.world, r.notes);
  } else {
    r.notes.push_back("no database could be read: the invariants over them are not checked");
  }
  r.orders_by_status.clear();
  for (const auto& o : r.world.orders) ++r.orders_by_status[o.status];
  r.verdicts = check_all(r.world);
}

ScheduleOptions schedule_options(const ChaosOptions& o, bool kill_process) {
  ScheduleOptions so;
  so.seed = o.seed;
  so.duration = o.duration;
  so.kill_process = kill_process;
  so.crash_services = o.crash_services;
  so.clock_budget = o.clock_budget;
  so.longest_jump = o.longest_jump;
  return so;
}

ChaosResult run_chaos(ShopDriver& shop, const ChaosOptions& o) {
  ChaosResult r;
  r.schedule = make_schedule(schedule_options(o, shop.can_kill()));
  r.world.watched_process = shop.watches_process();
  r.world.have_history = true;

  Chaos chaos(shop, o, r);
  std::mutex ops_mu;
  std::atomic<std::uint64_t> ops{0}, op_errors{0}, paid_seen{0};
  auto record = [&](const load::Operation& op) {
    ++ops;
    if (op.status == 0 || op.status >= 500) ++op_errors;
    if (op.route == "POST {pay_url}" && op.status == 200 && op.body.is_object() &&
        op.body.value("status", std::string()) == "succeeded")
      ++paid_seen;
    chaos.history(history_line(op));
    std::lock_guard lock(ops_mu);
    ++r.window_operations;
    r.world.history.push_back(op);
  };

  load::LoadOptions lo;
  lo.gateway_url = shop.gateway_url();
  lo.users = o.users;
  lo.duration = o.duration;
  lo.timeout = o.timeout;
  lo.mix = load::parse_mix(o.mix);
  lo.seed = o.seed;
  lo.abandon_share = o.abandon_share;
  lo.decline_share = o.decline_share;
  lo.double_submit_share = o.double_submit_share;
  lo.checkout_retry_after = 200ms;
  lo.settle_wait = 3s;
  lo.on_operation = record;
  std::mutex start_mu;
  std::condition_variable start_cv;
  bool started = false;
  // The shoppers' operations count from here (load starts its own clock just after this call),
  // and so do the schedule's events and the probe shoppers' operations: one clock for the
  // whole history.
  Clock::time_point window_start;
  lo.on_measuring = [&] {
    std::lock_guard lock(start_mu);
    window_start = Clock::now();
    started = true;
    start_cv.notify_all();
  };

  std::exception_ptr load_error;
  std::atomic<bool> load_done{false};
  std::thread shoppers([&] {
    try {
      r.shoppers = load::run_load(lo);
    } catch (...) {
      load_error = std::current_exception();
    }
    load_done = true;
    std::lock_guard lock(start_mu);
    start_cv.notify_all();
  });
  // An exception of the schedule below (the shop could not be restarted, say) waits for the
  // shoppers to end before it leaves: a joinable std::thread destroyed by the unwinding would
  // end the process with std::terminate (SIGABRT) instead of "the shop could not be driven".
  struct JoinShoppers {
    std::thread& shoppers;
    ~JoinShoppers() {
      if (shoppers.joinable()) shoppers.join();
    }
  } join_shoppers{shoppers};
  {
    std::unique_lock lock(start_mu);
    start_cv.wait(lock, [&] { return started || load_done.load(); });
  }
  if (!started) {
    shoppers.join();
    std::rethrow_exception(load_error);
  }
  chaos.history({{"kind", "chaos"},
                 {"event", "start"},
                 {"what", shop.describe()},
                 {"seed", o.seed},
                 {"duration_ms", o.duration.count()},
                 {"events", r.schedule.size()}});

  // The schedule, on time, while the shoppers shop.
  const auto began = window_start;
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - began).count(); };
  std::size_t next = 0;
  auto last_progress = Clock::now();
  while (!load_done) {
    double now = elapsed();
    // Each stamped when it is applied: the events due behind a kill (which waits out the shop's
    // downtime) ran later than the one `now` they were all stamped with (an outside probe).
    while (next < r.schedule.size() && r.schedule[next].at_s <= now)
      chaos.apply(r.schedule[next++], elapsed());
    chaos.watch_process(now);
    if (o.on_progress && Clock::now() - last_progress >= 1s) {
      last_progress = Clock::now();
      int faults = 0;
      for (const auto& [t, edges] : r.done.faults)
        for (const auto& [e, n] : edges) faults += n;
      std::string line = std::to_string(now).substr(0, std::to_string(now).find('.') + 2) + "s/" +
                         platform::format_duration(o.duration) + "  ops " + thousands(ops) +
                         " (no answer or 5xx " + thousands(op_errors) + ")  paid " +
                         thousands(paid_seen) + "  faults " + std::to_string(faults) + "  kills " +
                         std::to_string(r.done.by_kind["kill"]) + "  clock +" +
                         platform::format_duration(r.done.clock_advanced) +
                         "  last: " + chaos.last_event();
      o.on_progress(line);
    }
    std::this_thread::sleep_for(20ms);
  }
  shoppers.join();
  // A shop that bounds each user's unpaid orders (order.max_unpaid_orders, 100 by default; a
  // --target shop keeps its own settings) refuses a shopper's checkouts once --abandon has left
  // that many unpaid: the run then tests far fewer checkouts than it seems, and said nothing of
  // it (an outside probe: 18,813 refusals against 2,978 orders, exit 0).
  if (const auto it = r.shoppers.errors_by_code.find("409 too_many_unpaid_orders");
      it != r.shoppers.errors_by_code.end() && it->second > 0) {
    r.notes.push_back(thousands(it->second) +
                      " checkouts were refused 409 too_many_unpaid_orders: the shop bounds each "
                      "shopper's unpaid orders (order.max_unpaid_orders, 100 by default) and "
                      "--abandon leaves orders unpaid, so fewer checkouts were tested than the "
                      "figures suggest; set order.max_unpaid_orders: 0 on the target (its "
                      "config, or POST /_admin/config) or lower --abandon");
  }
  // Events left (the shoppers ended early): apply the ends, so healing starts from the plan.
  // The others are not applied, but said: in the history and among the refused (a planned
  // SIGKILL vanished without a trace, and the report counted one kill of two; an outside probe).
  for (; next < r.schedule.size(); ++next) {
    if (r.schedule[next].kind == EventKind::fault_off || r.schedule[next].kind == EventKind::start)
      chaos.apply(r.schedule[next], elapsed());
    else
      chaos.skip(r.schedule[next], elapsed(), "not applied: the shoppers' window ended first");
  }
  if (load_error) std::rethrow_exception(load_error);

  // Healing, probe shoppers (they close what healing left half-open), quiescence, checks.
  auto heal_began = Clock::now();
  if (o.on_progress)
    o.on_progress("healing: faults off, services up, clock past every retry and expiry");
  auto files = shop.databases();
  chaos.heal(files, Clock::now() + o.settle);
  // The probe shoppers shop after the window, during healing. Their answers are checked as the
  // window's are (their orders must exist, settle and agree with what they saw), so their
  // operations join world.history; but they are not the window's shoppers: their figures are
  // reported apart, and the history file has them as "probe_op", moved onto the window's clock
  // (load counts them from the probe's own start, which made them look as if inside the fault
  // window).
  load::LoadOptions probe = lo;
  probe.users = 2;
  probe.duration = 2s;
  probe.mix = load::parse_mix("checkout=1");
  probe.abandon_share = probe.decline_share = probe.double_submit_share = 0;
  probe.seed = o.seed + 1;
  std::atomic<double> probe_began_s{0};  // the probe's start, on the window's clock
  probe.on_measuring = [&] {
    probe_began_s = std::chrono::duration<double>(Clock::now() - window_start).count();
  };
  probe.on_operation = [&](const load::Operation& op) {
    const double shift = probe_began_s;
    load::Operation moved = op;
    moved.start_s += shift;
    moved.end_s += shift;
    chaos.history(history_line(moved, "probe_op"));
    std::lock_guard lock(ops_mu);
    ++r.probe_operations;
    r.world.history.push_back(std::move(moved));
  };
  try {
    if (o.on_progress) o.on_progress("healing: two probe shoppers check out for 2 s");
    r.probe = load::run_load(probe);
  } catch (const std::exception& e) {
    r.notes.push_back(std::string("the probe shoppers after healing could not shop: ") + e.what());
  }
  if (o.on_progress)
    o.on_progress("healing: waiting for quiescence (no PAYMENT_PENDING, outbox empty)");
  chaos.wait_quiet(files, Clock::now() + o.settle);
  chaos.watch_process(-1);
  r.healing_seconds = std::chrono::duration<double>(Clock::now() - heal_began).count();
  if (!r.quiescent) {
    r.notes.push_back("not quiescent (nothing settled for 10 s, or " +
                      platform::format_duration(o.settle) + " passed): " + describe(r.left));
  }
  chaos.read_breakers();
  std::sort(
      r.world.history.begin(), r.world.history.end(),
      [](const load::Operation& a, const load::Operation& b) { return a.start_s < b.start_s; });
  check_world(files, r);
  return r;
}

}  // namespace shopctl::chaos
