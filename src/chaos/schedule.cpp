#include "chaos/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "platform/duration.hpp"
#include "platform/observe/architecture.hpp"

namespace shopctl::chaos {

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::fault_on:
      return "fault_on";
    case EventKind::fault_off:
      return "fault_off";
    case EventKind::stop:
      return "stop";
    case EventKind::start:
      return "start";
    case EventKind::restart:
      return "restart";
    case EventKind::crash_service:
      return "crash";
    case EventKind::clock_advance:
      return "clock_advance";
    case EventKind::kill_process:
      return "kill";
  }
  return "?";
}

std::string ChaosEvent::describe() const {
  switch (kind) {
    case EventKind::fault_on: {
      std::string p;
      if (fault.contains("select") && fault["select"].contains("probability"))
        p = " p=" + std::to_string(fault["select"]["probability"].get<double>()).substr(0, 4);
      // The id, as the "off" line names it: with faults overlapping, an "off" line tells which
      // it ends only when each "on" line says its id.
      return "fault " + fault_id + " " + fault_type + " on " + edge + p;
    }
    case EventKind::fault_off:
      return "fault " + fault_id + " off";
    case EventKind::stop:
    case EventKind::start:
    case EventKind::restart:
    case EventKind::crash_service:
      return std::string(to_string(kind)) + " " + service;
    case EventKind::clock_advance:
      return "clock +" + platform::format_duration(advance);
    case EventKind::kill_process:
      return "SIGKILL the shop, down " + platform::format_duration(down_for);
  }
  return "?";
}

nlohmann::json ChaosEvent::to_json() const {
  nlohmann::json j = {{"at_s", at_s}, {"event", to_string(kind)}, {"what", describe()}};
  if (!service.empty()) j["service"] = service;
  if (kind == EventKind::fault_on) {
    j["fault"] = fault;
    j["edge"] = edge;
    j["type"] = fault_type;
  }
  if (!fault_id.empty()) j["fault_id"] = fault_id;
  if (kind == EventKind::clock_advance) j["advance_ms"] = advance.count();
  if (kind == EventKind::kill_process) j["down_for_ms"] = down_for.count();
  return j;
}

const std::vector<std::string>& fault_types() {
  static const std::vector<std::string> types = {"delay", "hang",    "abort",    "reset",
                                                 "close", "garbage", "slow_body"};
  return types;
}

const std::vector<FaultEdge>& fault_edges() {
  static const std::vector<FaultEdge> edges = [] {
    std::vector<FaultEdge> out;
    for (const auto& e : platform::architecture::allowed_edges())
      out.push_back({e.caller, e.callee});
    return out;
  }();
  return edges;
}

nlohmann::json fault_on_edge(const FaultEdge& edge, const std::string& type, double p,
                             const std::string& id, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  nlohmann::json f = {{"id", id}, {"target", edge.callee}, {"type", type}};
  if (edge.callee == "provider") {
    // The provider is outside the shop: it knows no service credential, so its callers are
    // told apart by path (the shop's API calls, the shoppers' pay page).
    f["match"] = {{"path", edge.caller == "client" ? "/pay/*" : "/v1/**"}};
  } else if (edge.callee == "gateway") {
    // Everyone reaches the gateway as `client`; the provider's calls are the webhook.
    if (edge.caller == "provider") f["match"] = {{"path", "/api/payments/webhook"}};
    f["from"] = "client";
  } else {
    f["from"] = edge.caller;
  }
  if (type == "delay") {
    f["delay_ms"] = std::uniform_int_distribution<int>(100, 2500)(rng);
    f["jitter_ms"] = 50;
  } else if (type == "abort") {
    f["status"] = 503;
  } else if (type == "slow_body") {
    f["bytes_per_second"] = std::uniform_int_distribution<int>(20, 400)(rng);
  }
  f["select"] = {{"probability", p}};
  return f;
}

std::vector<ChaosEvent> make_schedule(const ScheduleOptions& o) {
  std::mt19937_64 rng(o.seed * 0x2545F4914F6CDD1DULL + 17);
  std::uniform_real_distribution<double> uniform(0, 1);
  auto between = [&](double lo, double hi) { return lo + (hi - lo) * uniform(rng); };
  const double total = std::chrono::duration<double>(o.duration).count();
  // Disturbances start after a calm first second and all end 15% before the end, so the last
  // shoppers meet a whole shop and healing starts from a known state.
  const double first = std::min(1.0, total * 0.1), last = total * 0.85;
  static const std::vector<std::string> services = {"auth", "catalog", "order", "payment",
                                                    "provider"};
  std::vector<ChaosEvent> out;
  std::map<std::string, double> down_until;  // a service is not stopped again while down
  auto clock_left = o.clock_budget;
  int next_fault = 1;

  // --crash: the process kills, spread over the run (at least two, one per 15 s).
  if (o.kill_process && last > first) {
    int kills = std::max(2, static_cast<int>(total / 15));
    double slot = (last - first) / kills;
    for (int k = 0; k < kills; ++k) {
      ChaosEvent e;
      e.kind = EventKind::kill_process;
      e.at_s = first + slot * k + between(0.2, 0.8) * slot;
      e.down_for = std::chrono::milliseconds(static_cast<int>(between(200, 1500)));
      out.push_back(e);
    }
  }

  for (double t = first + between(0, 1.0 / o.events_per_second); t < last;
       t += -std::log(1 - uniform(rng) * 0.999) / o.events_per_second) {
    double pick = uniform(rng);
    if (pick < 0.55) {
      const auto& edge =
          fault_edges()[static_cast<std::size_t>(uniform(rng) * fault_edges().size()) %
                        fault_edges().size()];
      const auto& type =
          fault_types()[static_cast<std::size_t>(uniform(rng) * fault_types().size()) %
                        fault_types().size()];
      double p = std::round(between(0.2, 1.0) * 100) / 100;
      ChaosEvent on;
      on.kind = EventKind::fault_on;
      on.at_s = t;
      on.fault_id = "chaos-" + std::to_string(next_fault++);
      on.edge = edge.caller + "->" + edge.callee;
      on.fault_type = type;
      on.fault = fault_on_edge(edge, type, p, on.fault_id, rng());
      ChaosEvent off;
      off.kind = EventKind::fault_off;
      off.fault_id = on.fault_id;
      off.at_s = std::min(last, t + between(0.5, 4.0));
      out.push_back(on);
      out.push_back(off);
    } else if (pick < 0.80) {
      const auto& service =
          services[static_cast<std::size_t>(uniform(rng) * services.size()) % services.size()];
      double kind = uniform(rng);
      double down = between(0.5, 4.0);
      if (down_until[service] > t) continue;  // still down: this draw is spent, nothing happens
      ChaosEvent e;
      e.service = service;
      e.at_s = t;
      if (kind < 0.3) {
        e.kind = EventKind::restart;
        out.push_back(e);
        continue;
      }
      e.kind = kind < 0.65 || !o.crash_services ? EventKind::stop : EventKind::crash_service;
      ChaosEvent start;
      start.kind = EventKind::start;
      start.service = service;
      start.at_s = std::min(last, t + down);
      down_until[service] = start.at_s;
      out.push_back(e);
      out.push_back(start);
    } else {
      // Mostly seconds (retries, backoffs, breakers' open waits), now and then past the
      // reconciliation delay (60 s) or the order expiry (30 min) while shoppers still pay.
      double r = uniform(rng);
      std::chrono::milliseconds jump{static_cast<int>(between(500, 10'000))};
      if (r > 0.93)
        jump = std::chrono::milliseconds(static_cast<std::int64_t>(between(60'000, 1'860'000)));
      else if (r > 0.75)
        jump = std::chrono::milliseconds(static_cast<std::int64_t>(between(10'000, 90'000)));
      jump = std::min(jump, o.longest_jump);
      if (jump > clock_left) continue;
      clock_left -= jump;
      ChaosEvent e;
      e.kind = EventKind::clock_advance;
      e.at_s = t;
      e.advance = jump;
      out.push_back(e);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ChaosEvent& a, const ChaosEvent& b) { return a.at_s < b.at_s; });
  return out;
}

}  // namespace shopctl::chaos
