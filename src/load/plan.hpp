#pragma once
// `shopctl load`: what a load run is asked to do (journey mix, thresholds) and the latency
// statistics it keeps. Pure logic, so it is unit-tested without a shop.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl::load {

// What a virtual user does in one iteration. Every journey goes through the gateway (and the
// provider's pay page for checkout), as a real client would.
enum class Journey {
  browse,    // GET a page of the product list
  product,   // GET one product
  cart,      // add a line, read the cart, remove the line
  checkout,  // add lines, POST /api/orders, pay at pay_url, poll the order until PAID/FAILED
};
inline constexpr std::array<Journey, 4> kJourneys = {Journey::browse, Journey::product,
                                                     Journey::cart, Journey::checkout};
std::string_view to_string(Journey j);
std::optional<Journey> parse_journey(std::string_view name);

// Weighted journeys: "browse=60,product=20,cart=10,checkout=10" (weights are relative; a
// journey left out is never picked).
struct Mix {
  std::vector<std::pair<Journey, double>> weights;  // each weight > 0

  // Picks a journey for `u`, a uniform number in [0, 1).
  Journey pick(double u) const;
  std::string describe() const;  // "browse=60,product=20,..." as given
};
// Throws std::invalid_argument with a message for a person.
Mix parse_mix(std::string_view text);

// Latency samples of one thing (a route, a journey, everything), in microseconds.
class LatencyStats {
 public:
  void add(std::chrono::nanoseconds d);
  void merge(const LatencyStats& other);
  std::size_t count() const { return samples_.size(); }
  // The q-quantile (0..1) in milliseconds by the nearest-rank method; 0 when empty.
  double quantile_ms(double q) const;
  double max_ms() const;
  double mean_ms() const;
  void clear() {
    samples_.clear();
    sorted_ = true;
  }

 private:
  mutable std::vector<std::uint32_t> samples_;  // microseconds, saturating
  mutable bool sorted_ = true;
};

// What one counted thing did: calls, errors, latency.
struct Tally {
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  LatencyStats latency;
  void merge(const Tally& other);
};

// The figures a threshold can name.
struct Figures {
  double seconds = 0;  // the measured window
  std::uint64_t requests = 0;
  std::uint64_t request_errors = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  std::uint64_t journeys = 0;
  std::uint64_t journey_errors = 0;
  std::uint64_t orders_paid = 0;
  // Open loop: the starts dropped because no user was idle; the starts scheduled are these
  // and the journeys that ran.
  std::uint64_t dropped = 0;
  // Per journey ("checkout"): p50/p90/p99/max in ms and counts.
  struct JourneyFigures {
    std::uint64_t count = 0, errors = 0;
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  };
  std::map<std::string, JourneyFigures, std::less<>> per_journey;
};

// "p99<50ms", "checkout.p99<=20ms", "errors<0.1%", "errors<5", "rps>1000",
// "orders_per_second>=100", "max<1s", "dropped<1%" (open loop: the share of the scheduled
// starts no idle user took), "dropped<=0".
struct Threshold {
  std::string text;      // as written
  std::string journey;   // empty: every request
  std::string metric;    // p50 p90 p99 max errors rps orders_per_second dropped
  std::string op;        // < <= > >=
  double value = 0;      // ms for latencies; a fraction (0.001) for errors in %; else as is
  bool percent = false;  // errors or dropped given in %: compared with the rate

  struct Outcome {
    double actual = 0;  // in the threshold's own unit (ms, %, count, per second)
    bool passed = false;
    bool no_samples = false;  // a latency over no journeys or requests: not met, no actual
  };
  Outcome check(const Figures& f) const;
  std::string unit() const;  // "ms", "%", "/s" or ""
};
// Throws std::invalid_argument with a message for a person.
Threshold parse_threshold(std::string_view text);
// Throws std::invalid_argument for a threshold the run cannot measure: `dropped` in a closed
// loop (`open_loop` false), which drops no start, so the threshold passed whatever the run did.
void check_thresholds_fit(const std::vector<Threshold>& thresholds, bool open_loop);

}  // namespace shopctl::load
