#include "load/report.hpp"
#include <algorithm>

#include <cstdio>

namespace shopctl::load {

namespace {

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// 1234567 -> "1,234,567"
std::string thousands(std::uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

nlohmann::json latency_json(const LatencyStats& l) {
  return {{"p50", l.quantile_ms(0.50)},
          {"p90", l.quantile_ms(0.90)},
          {"p99", l.quantile_ms(0.99)},
          {"max", l.max_ms()},
          {"mean", l.mean_ms()}};
}

nlohmann::json tally_json(const Tally& t, double seconds) {
  return {{"count", t.count},
          {"per_second", seconds > 0 ? static_cast<double>(t.count) / seconds : 0.0},
          {"errors", t.errors},
          {"latency_ms", latency_json(t.latency)}};
}

std::string tally_row(const std::string& name, const Tally& t, double seconds) {
  return format("  %-32s %9s %9.1f %7s %8.2f %8.2f %8.2f %9.2f\n", name.c_str(),
                thousands(t.count).c_str(),
                seconds > 0 ? static_cast<double>(t.count) / seconds : 0.0,
                thousands(t.errors).c_str(), t.latency.quantile_ms(0.50),
                t.latency.quantile_ms(0.90), t.latency.quantile_ms(0.99), t.latency.max_ms());
}

std::string table_head(const char* first) {
  return format("  %-32s %9s %9s %7s %8s %8s %8s %9s\n", first, "count", "per s", "errors",
                "p50 ms", "p90 ms", "p99 ms", "max ms");
}

// CPU per second of the run, and per paid order when orders were paid: the process, the load
// generator's threads, and (shop in the same process) the shop as the difference.
nlohmann::json cpu_json(const LoadResult& r) {
  const double s = r.seconds;
  auto per_order = [&r](double cpu) -> nlohmann::json {
    if (r.orders_paid == 0) return nullptr;
    return cpu * 1000 / static_cast<double>(r.orders_paid);
  };
  nlohmann::json j = {
      {"process_s", r.cpu_process_seconds},
      {"generator_s", r.cpu_generator_seconds},
      {"process_cores", s > 0 ? r.cpu_process_seconds / s : 0.0},
      {"generator_cores", s > 0 ? r.cpu_generator_seconds / s : 0.0},
      {"generator_ms_per_paid_order", per_order(r.cpu_generator_seconds)},
      {"shop_in_process", r.shop_in_process},
  };
  if (r.shop_in_process) {
    const double shop = std::max(0.0, r.cpu_process_seconds - r.cpu_generator_seconds);
    j["shop_s"] = shop;
    j["shop_cores"] = s > 0 ? shop / s : 0.0;
    j["shop_ms_per_paid_order"] = per_order(shop);
  }
  return j;
}

std::string cpu_line(const LoadResult& r) {
  const double s = r.seconds > 0 ? r.seconds : 1;
  if (!r.shop_in_process)
    return format("cpu: load generator %.2f cores (the shop runs elsewhere)\n",
                  r.cpu_generator_seconds / s);
  const double shop = std::max(0.0, r.cpu_process_seconds - r.cpu_generator_seconds);
  std::string out = format("cpu: shop %.2f cores, load generator %.2f cores", shop / s,
                           r.cpu_generator_seconds / s);
  if (r.orders_paid > 0)
    out += format("; per paid order: shop %.2f ms, load generator %.2f ms",
                  shop * 1000 / static_cast<double>(r.orders_paid),
                  r.cpu_generator_seconds * 1000 / static_cast<double>(r.orders_paid));
  return out + "\n";
}

}  // namespace

std::vector<Verdict> check_thresholds(const LoadResult& result,
                                      const std::vector<Threshold>& thresholds) {
  auto figures = result.figures();
  std::vector<Verdict> out;
  for (const auto& t : thresholds) out.push_back({t, t.check(figures)});
  return out;
}

std::string text_report(const LoadResult& r, const std::vector<Verdict>& verdicts) {
  std::string out;
  const double s = r.seconds;
  out += format("\n%s loop, %u user%s%s, mix %s, %.2f s measured (setup %.2f s)\n", r.mode.c_str(),
                r.users, r.users == 1 ? "" : "s",
                r.mode == "open" ? format(", %g journeys/s offered", r.rate).c_str() : "",
                r.mix.c_str(), s, r.setup_seconds);
  out += "\n" + table_head("journey");
  for (const auto& [name, t] : r.journeys) out += tally_row(name, t, s);
  out += "\n" + table_head("route");
  for (const auto& [name, t] : r.routes) out += tally_row(name, t, s);
  out += tally_row("all requests", r.requests, s);
  double error_pct = r.requests.count ? 100.0 * static_cast<double>(r.requests.errors) /
                                            static_cast<double>(r.requests.count)
                                      : 0;
  out += format("\nrequests: %s in %.2f s = %.1f/s, errors %s (%.3f%%)\n",
                thousands(r.requests.count).c_str(), s,
                s > 0 ? static_cast<double>(r.requests.count) / s : 0.0,
                thousands(r.requests.errors).c_str(), error_pct);
  if (!r.errors_by_code.empty()) {
    out += "errors by code:\n";
    for (const auto& [code, n] : r.errors_by_code)
      out += format("  %-48s %9s\n", code.c_str(), thousands(n).c_str());
    // Requests that never reached the shop: when they are most of the run, its latency and
    // request rate describe failed connects, not the shop (a run against a shop killed after
    // 1.5 s reported p99 4.36 ms at 12,634 req/s, and nothing else said so).
    std::uint64_t unanswered = 0;
    for (const auto& [code, n] : r.errors_by_code)
      if (code.starts_with("transport ")) unanswered += n;
    if (r.requests.count > 0 && unanswered * 10 >= r.requests.count) {
      out += format(
          "note: %s of the %s requests (%.1f%%) got no answer (the transport errors above): the "
          "shop was not reachable for part of the run, and the latencies and rates above count "
          "those failed attempts; gate on errors (--threshold 'errors<1%%')\n",
          thousands(unanswered).c_str(), thousands(r.requests.count).c_str(),
          100.0 * static_cast<double>(unanswered) / static_cast<double>(r.requests.count));
    }
    // The shop's bound on a user's unpaid orders (docs/configuration.md): a plan whose users
    // leave orders unpaid meets it on a shop that keeps it, and then checks out far less.
    if (const auto it = r.errors_by_code.find("409 too_many_unpaid_orders");
        it != r.errors_by_code.end() && it->second > 0) {
      out += format(
          "note: %s checkouts were refused 409 too_many_unpaid_orders: the shop bounds each "
          "user's unpaid orders (order.max_unpaid_orders, 100 by default), and these users left "
          "that many unpaid; set it to 0 on the shop under test for such a plan "
          "(docs/configuration.md)\n",
          thousands(it->second).c_str());
    }
  }
  if (r.orders_created > 0 || r.journeys.count("checkout")) {
    out += format("orders: %s created, %s PAID (%.1f/s), %s FAILED, %s not settled\n",
                  thousands(r.orders_created).c_str(), thousands(r.orders_paid).c_str(),
                  s > 0 ? static_cast<double>(r.orders_paid) / s : 0.0,
                  thousands(r.orders_failed).c_str(), thousands(r.orders_unsettled).c_str());
  }
  if (r.tokens_renewed > 0) {
    out += format(
        "note: users signed in again %s time(s): the shop said their tokens had expired (its "
        "clock moved on, or the run outlasted auth.token_ttl); the journey that met it failed "
        "(401 token_expired above)\n",
        thousands(r.tokens_renewed).c_str());
  }
  if (r.mode == "open") {
    out += format("dropped starts (no idle user, or past the deadline): %s\n",
                  thousands(r.dropped).c_str());
    // Starts no user took add no latency and no error: a shop that fell far behind looked
    // healthy (93 % of the offered checkouts dropped, p99 17 ms, every threshold met).
    std::uint64_t started = 0;
    for (const auto& [name, t] : r.journeys) started += t.count;
    const std::uint64_t scheduled = started + r.dropped;
    // The rate offered is the one asked for, times the share of the scheduled starts made (it
    // was divided by the whole run, drain included: "18.9 of the 94.3 asked for" at --rate 100).
    if (scheduled > 0 && r.dropped * 10 >= scheduled) {
      const std::uint64_t busy = r.dropped - std::min(r.dropped, r.dropped_behind);
      out += format(
          "note: %s of the %s scheduled starts (%.1f%%) were dropped: the shop was offered "
          "%.1f journeys/s of the %g asked for, and the latencies above are of the journeys "
          "that started; gate on it (--threshold 'dropped<1%%')\n",
          thousands(r.dropped).c_str(), thousands(scheduled).c_str(),
          100.0 * static_cast<double>(r.dropped) / static_cast<double>(scheduled),
          r.rate * static_cast<double>(started) / static_cast<double>(scheduled), r.rate);
      if (busy > 0)
        out += format("  %s with every user busy: give more --users\n", thousands(busy).c_str());
      if (r.dropped_behind > 0)
        out += format(
            "  %s still due when --duration ended, the generator behind its schedule: it cannot "
            "start journeys that fast on these cores (a lower --rate, or more --threads)\n",
            thousands(r.dropped_behind).c_str());
    }
  }
  // The generator's own lateness: a journey's latency counts from its schedule, so a scheduler
  // that could not keep up (its thread shares the cores with the shop) looked like a slow shop.
  if (r.mode == "open" && r.start_lag_max_ms >= 50)
    out += format(
        "note: the generator started journeys up to %.0f ms after their schedule (it could not "
        "keep up on these cores): the journeys' latencies include that wait, the routes' do "
        "not\n",
        r.start_lag_max_ms);
  out += cpu_line(r);
  for (const auto& e : r.fault_events)
    out += format(
        "fault %s at %.2f s: %s\n", e.value("event", std::string()).c_str(), e.value("at_s", 0.0),
        e["fault"].is_string() ? e["fault"].get<std::string>().c_str() : e["fault"].dump().c_str());
  if (!r.breaker_transitions_problem.empty()) {
    out += "breaker transitions: could not be read (" + r.breaker_transitions_problem + ")\n";
  } else if (r.breaker_transitions.empty()) {
    out += "breaker transitions: none\n";
  } else {
    out += "breaker transitions:\n";
    for (const auto& t : r.breaker_transitions)
      out += format("  %-22s %s\n", t.value("breaker", std::string()).c_str(),
                    t.value("transition", std::string()).c_str());
  }
  if (!verdicts.empty()) {
    out += "thresholds:\n";
    for (const auto& v : verdicts) {
      if (v.outcome.no_samples)
        out += format("  %-4s %-28s no samples: nothing of it ran\n", "FAIL",
                      v.threshold.text.c_str());
      else
        out += format("  %-4s %-28s actual %.3f%s\n", v.outcome.passed ? "ok" : "FAIL",
                      v.threshold.text.c_str(), v.outcome.actual, v.threshold.unit().c_str());
    }
  }
  return out;
}

nlohmann::json json_report(const LoadResult& r, const std::vector<Verdict>& verdicts) {
  const double s = r.seconds;
  nlohmann::json j;
  j["duration_s"] = s;
  j["setup_s"] = r.setup_seconds;
  j["mode"] = r.mode;
  j["users"] = r.users;
  j["rate"] = r.rate;
  j["mix"] = r.mix;
  j["requests"] = {{"total", r.requests.count},
                   {"per_second", s > 0 ? static_cast<double>(r.requests.count) / s : 0.0},
                   {"errors", r.requests.errors},
                   {"error_rate", r.requests.count ? static_cast<double>(r.requests.errors) /
                                                         static_cast<double>(r.requests.count)
                                                   : 0.0}};
  j["latency_ms"] = latency_json(r.requests.latency);
  j["journeys"] = nlohmann::json::object();
  for (const auto& [name, t] : r.journeys) j["journeys"][name] = tally_json(t, s);
  j["routes"] = nlohmann::json::object();
  for (const auto& [name, t] : r.routes) j["routes"][name] = tally_json(t, s);
  j["errors_by_code"] = r.errors_by_code;
  j["orders"] = {{"created", r.orders_created},
                 {"paid", r.orders_paid},
                 {"failed", r.orders_failed},
                 {"unsettled", r.orders_unsettled},
                 {"paid_per_second", s > 0 ? static_cast<double>(r.orders_paid) / s : 0.0}};
  j["dropped"] = r.dropped;
  if (r.mode == "open") j["dropped_behind_schedule"] = r.dropped_behind;
  j["tokens_renewed"] = r.tokens_renewed;
  if (r.mode == "open") j["start_lag_max_ms"] = r.start_lag_max_ms;
  j["cpu"] = cpu_json(r);
  j["breaker_transitions"] = r.breaker_transitions;
  if (!r.breaker_transitions_problem.empty())
    j["breaker_transitions_problem"] = r.breaker_transitions_problem;
  j["faults"] = r.fault_events;
  j["timeline"] = nlohmann::json::array();
  for (const auto& t : r.timeline)
    j["timeline"].push_back(
        {{"at_s", t.at_s},
         {"requests_per_second", t.requests_per_second},
         {"errors_per_second", t.errors_per_second},
         {"latency_ms",
          t.has_latency ? nlohmann::json{{"p50", t.p50_ms}, {"p90", t.p90_ms}, {"p99", t.p99_ms}}
                        : nlohmann::json{{"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}}}});
  j["thresholds"] = nlohmann::json::array();
  for (const auto& v : verdicts)
    j["thresholds"].push_back({{"expr", v.threshold.text},
                               {"value", v.outcome.no_samples ? nlohmann::json(nullptr)
                                                              : nlohmann::json(v.outcome.actual)},
                               {"unit", v.threshold.unit()},
                               {"passed", v.outcome.passed},
                               {"no_samples", v.outcome.no_samples}});
  return j;
}

std::string progress_line(const Progress& p) {
  double error_pct =
      p.requests ? 100.0 * static_cast<double>(p.errors) / static_cast<double>(p.requests) : 0;
  // The last tick's elapsed time to the hundredth: it ends when the journeys in flight at the
  // deadline have finished, a moment after the whole second before it.
  std::string elapsed = p.final ? format("%6.2fs", p.elapsed_s) : format("%6.1fs", p.elapsed_s);
  // No request finished in the interval: its p99 is unknown ("-"), not 0.
  const std::string p99 = p.has_latency ? format("%7.2f ms", p.p99_ms) : std::string("      - ms");
  return format("%s %9.0f req/s  errors %s (%.2f%%)  p99 %s  journeys %7.1f/s  paid %s%s%s",
                elapsed.c_str(), p.requests_per_second, thousands(p.errors).c_str(), error_pct,
                p99.c_str(), p.journeys_per_second, thousands(p.orders_paid).c_str(),
                p.note.empty() ? "" : "  ", p.note.c_str());
}

}  // namespace shopctl::load
