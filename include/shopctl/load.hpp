#pragma once
// Load, as `shopctl load` makes it (docs/load.md): virtual users that drive a shop through its
// gateway and the provider's pay page, closed-loop (a fixed number of users) or open-loop (a
// fixed rate of journeys), with faults switched on along the way and thresholds that pass or
// fail the run. Plan, run, report. Part of the public API (docs/architecture.md, "The public
// C++ API"): standard types only.
//
//   shopctl::Shop shop;
//   shopctl::LoadPlan plan;
//   plan.users = 8;
//   plan.duration = std::chrono::seconds(5);
//   plan.thresholds = {"p99<50ms", "errors<0.1%"};
//   auto report = shopctl::run_load(shop, plan);
//   std::cout << report.text();
//   return report.exit_code();
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "shopctl/admin_client.hpp"

namespace shopctl {

class Shop;

// Once a second while the load runs: the last second's figures.
struct LoadProgress {
  double elapsed_s = 0;
  double requests_per_second = 0;  // in the last interval
  std::uint64_t requests = 0;      // so far
  std::uint64_t errors = 0;        // so far
  double p99_ms = 0;               // of the last interval (0 when has_latency is false)
  double journeys_per_second = 0;  // finished in the last interval
  std::uint64_t orders_paid = 0;   // so far
  std::string note;                // "faults on", "faults off"
  bool has_latency = true;         // false when no request finished in the last interval
};

struct LoadPlan {
  std::string gateway_url;  // http://127.0.0.1:PORT (run_load(Shop&, ...) fills it in)
  std::string admin_token;  // for faults and breaker transitions; empty: neither
  // Closed loop: the users, all busy. Open loop (rate > 0): the pool journeys start on.
  unsigned users = 16;
  double rate = 0;  // > 0: open loop, journeys started per second
  std::chrono::milliseconds duration{10'000};
  std::chrono::milliseconds think{0};         // closed loop: a user's pause between journeys
  std::chrono::milliseconds timeout{10'000};  // of one request
  // Journey weights: browse, product, cart, checkout (docs/load.md).
  std::string mix = "browse=60,product=20,cart=10,checkout=10";
  // Pass conditions: "p99<50ms", "checkout.p99<=20ms", "errors<0.1%", "rps>1000", ...
  std::vector<std::string> thresholds;
  std::uint64_t seed = 1;  // the users' choices
  unsigned threads = 1;    // of the load generator
  std::string card = "4242424242424242";
  // Faults switched on `fault_at` after the start and off after `fault_for` (0: at the end).
  // Each as fields or as wire JSON text (`shopctl load --fault`); they need the admin token.
  std::vector<FaultSpec> faults;
  std::vector<std::string> fault_json;
  std::chrono::milliseconds fault_at{0};
  std::chrono::milliseconds fault_for{0};
  // Checkout variants, each a probability in [0, 1]: walk away from the pay link, pay with
  // the declined card, submit the same cart twice at once (two tabs).
  double abandon_share = 0;
  double decline_share = 0;
  double double_submit_share = 0;
  // Called about once a second, on the thread that called run_load. An exception from it
  // ends the run at once (the faults switched off, requests in flight abandoned), and
  // run_load throws it.
  std::function<void(const LoadProgress&)> on_progress;
};

// Checks a plan without running it: the mix, the thresholds, the faults, the durations
// (at most 24h), users (1 to 100000), threads (1 to 64), rate (0, or 0.001 to 1000000; not
// with think), the card (not empty) and the shares. Throws std::invalid_argument with a message for
// a person.
void check_plan(const LoadPlan& plan);

// The load could not start: the shop is unreachable, users could not sign in, no products.
class LoadSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadFigures {
  double seconds = 0;  // the measured window
  std::uint64_t requests = 0;
  std::uint64_t request_errors = 0;
  double requests_per_second = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  std::uint64_t journeys = 0;
  std::uint64_t journey_errors = 0;
  std::uint64_t orders_created = 0, orders_paid = 0, orders_failed = 0;
  std::uint64_t dropped = 0;  // open loop: starts no idle user took (LoadPlan::rate)
};

struct ThresholdVerdict {
  std::string threshold;  // as written
  double actual = 0;      // in the threshold's unit (0 when no_samples)
  std::string unit;       // "ms", "%", "/s" or ""
  bool passed = false;
  // A latency or error threshold over nothing that ran (a journey the mix left out): not
  // met, and `actual` means nothing (the JSON report's "no_samples": true, "value": null).
  bool no_samples = false;
};

class LoadReport {
 public:
  LoadReport();
  ~LoadReport();
  LoadReport(const LoadReport&);
  LoadReport& operator=(const LoadReport&);
  LoadReport(LoadReport&&) noexcept;
  LoadReport& operator=(LoadReport&&) noexcept;

  const LoadFigures& figures() const;
  const std::vector<ThresholdVerdict>& verdicts() const;
  // Every threshold met.
  bool passed() const;
  // As `shopctl load` exits: kExitOk, or kExitExpectation when a threshold was breached;
  // kExitInvalid for a report no run filled (constructed empty), whose passed() is false.
  int exit_code() const;
  // Tables per journey and route, errors by code, orders, breaker transitions, faults and the
  // thresholds, as `shopctl load` prints them; and the same as JSON (`--json`).
  std::string text() const;
  std::string json() const;
  // Throws std::runtime_error when the file cannot be written.
  void write_json(const std::string& path) const;

 private:
  friend LoadReport run_load(const LoadPlan& plan);
  friend LoadReport run_load(const Shop& shop, LoadPlan plan);
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// Runs the plan against the shop at plan.gateway_url and reports. Throws
// std::invalid_argument for a bad plan (check_plan) or a fault the shop refuses, and
// LoadSetupError when the load could not start.
LoadReport run_load(const LoadPlan& plan);
// The same against `shop`, with its gateway URL and admin token. The shop runs in this
// process, so the report splits the CPU time between the shop and the load generator.
LoadReport run_load(const Shop& shop, LoadPlan plan);

}  // namespace shopctl
