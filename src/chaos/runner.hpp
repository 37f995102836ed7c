#pragma once
// `shopctl chaos`: shoppers (the load journeys, checkout-heavy) against a shop while a seeded
// schedule breaks it; then healing, quiescence and the invariants. See docs/chaos.md.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chaos/invariants.hpp"
#include "chaos/schedule.hpp"
#include "chaos/shop_driver.hpp"
#include "chaos/store_reader.hpp"
#include "load/engine.hpp"

namespace shopctl::chaos {

struct ChaosOptions {
  std::chrono::milliseconds duration{45'000};
  std::uint64_t seed = 1;
  unsigned users = 12;
  std::string mix = "browse=10,product=5,cart=5,checkout=80";
  double abandon_share = 0.15;
  double decline_share = 0.15;
  double double_submit_share = 0.10;
  std::chrono::milliseconds timeout{3000};   // one shopper request
  std::chrono::milliseconds settle{60'000};  // the longest quiescence wait after healing
  bool crash_services = true;                // in-process crashes of one service
  std::chrono::milliseconds clock_budget{std::chrono::hours(2)};
  std::chrono::milliseconds longest_jump{std::chrono::minutes(31)};
  // A line of progress, about once a second.
  std::function<void(const std::string&)> on_progress;
  // Each history record (shopper operations and chaos events), as it happens.
  std::function<void(const nlohmann::json&)> on_history;
};

// What was done to the shop, counted for the final table.
struct Disturbances {
  std::map<std::string, std::map<std::string, int>> faults;  // type -> edge -> times
  std::map<std::string, int> by_kind;                        // stop, start, restart, crash, kill
  std::chrono::milliseconds clock_advanced{0};               // during the run
  std::chrono::milliseconds clock_advanced_healing{0};       // while healing (61s, 31m, 73h, hours)
  std::vector<std::string> refused;                          // events the shop refused or missed
  bool crash_supported = true;  // the shop has POST /_admin/services/{name}/crash
};

struct ChaosResult {
  std::vector<ChaosEvent> schedule;
  Disturbances done;
  load::LoadResult shoppers;  // the window's shoppers alone
  // The probe shoppers that check out after healing: their operations are checked with the
  // window's (world.history holds both) but are no part of the window's figures; empty when
  // they could not shop.
  std::optional<load::LoadResult> probe;
  std::size_t window_operations = 0;  // of world.history: the window's shoppers'
  std::size_t probe_operations = 0;   // of world.history: the probe shoppers'
  World world;
  std::vector<Verdict> verdicts;
  std::vector<std::string> notes;  // what could not be read, what the shop lacks
  std::map<std::string, int> orders_by_status;
  bool quiescent = false;
  InFlight left;  // what was still in flight when the checks started
  double healing_seconds = 0;
  // `chaos --check`: the files as they are, with no shoppers and no healing before the checks.
  bool files_only = false;
};

// One history record of a shopper's operation: kind "op" for the window's shoppers, "probe_op"
// for the probe shoppers after healing.
nlohmann::json history_line(const load::Operation& op, std::string_view kind = "op");

// The schedule `run_chaos` draws for these options (`kill_process`: the shop can be killed,
// `--crash`); `shopctl chaos` draws the same to print it, or to refuse an empty one.
ScheduleOptions schedule_options(const ChaosOptions& options, bool kill_process);

// Runs the whole thing against `shop`. Throws load::SetupError or ShopError when the shop
// could not be driven (exit code 3).
ChaosResult run_chaos(ShopDriver& shop, const ChaosOptions& options);

// Loads the databases (and breakers, when `admin` is given) and checks every invariant; the
// part of run_chaos that `shopctl chaos --check DIR` runs on its own.
void check_world(const std::optional<DatabaseFiles>& files, ChaosResult& result);

}  // namespace shopctl::chaos
