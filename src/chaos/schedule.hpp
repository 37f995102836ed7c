#pragma once
// `shopctl chaos`: the schedule of what goes wrong, and when. A pure function of its options
// (the seed above all), so that one seed always replays the same faults, stops, crashes and
// clock jumps at the same offsets; what the shop answers cannot change it.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::chaos {

enum class EventKind {
  fault_on,       // POST /_admin/faults `fault`
  fault_off,      // DELETE /_admin/faults/{fault_id}
  stop,           // POST /_admin/services/{service}/stop
  start,          // POST /_admin/services/{service}/start
  restart,        // POST /_admin/services/{service}/restart
  crash_service,  // POST /_admin/services/{service}/crash (stop when the shop has no crash)
  clock_advance,  // POST /_admin/clock/advance by `advance`
  kill_process,   // SIGKILL the shop process, start it again after `down_for`
};
std::string_view to_string(EventKind k);

struct ChaosEvent {
  double at_s = 0;  // offset from the start of the shoppers' window
  EventKind kind = EventKind::fault_on;
  std::string service;                    // stop/start/restart/crash_service
  nlohmann::json fault;                   // fault_on: the wire shape of POST /_admin/faults
  std::string fault_id;                   // fault_on/fault_off
  std::string fault_type;                 // fault_on: delay, hang, ...
  std::string edge;                       // fault_on: caller->callee
  std::chrono::milliseconds advance{0};   // clock_advance
  std::chrono::milliseconds down_for{0};  // kill_process

  std::string describe() const;  // "fault chaos-3 hang on order->payment p=0.60"
  nlohmann::json to_json() const;
};

struct ScheduleOptions {
  std::uint64_t seed = 1;
  std::chrono::milliseconds duration{45'000};
  bool kill_process = false;   // --crash: SIGKILL the whole shop several times
  bool crash_services = true;  // in-process crashes of one service (admin `crash`)
  // The most the clock may be moved in total during the run (shoppers' tokens must outlive
  // it), and in one jump.
  std::chrono::milliseconds clock_budget{std::chrono::hours(2)};
  std::chrono::milliseconds longest_jump{std::chrono::minutes(31)};
  double events_per_second = 0.7;  // mean rate of new disturbances
};

// The fault types of docs/faults.md, and the edges of the allowed call graph they go on.
const std::vector<std::string>& fault_types();
struct FaultEdge {
  std::string caller, callee;
};
const std::vector<FaultEdge>& fault_edges();

// A fault of `type` on `edge` in the wire shape, hitting each matching request with
// probability `p`. Calls on an edge are told apart by caller when the callee checks service
// credentials, else by path (the webhook, the pay page, the provider's API).
nlohmann::json fault_on_edge(const FaultEdge& edge, const std::string& type, double p,
                             const std::string& id, std::uint64_t seed);

// The events, sorted by time; every fault, stop and crash is followed by its end inside the
// duration, so the shop is whole again when the shoppers stop.
std::vector<ChaosEvent> make_schedule(const ScheduleOptions& options);

}  // namespace shopctl::chaos
