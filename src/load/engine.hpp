#pragma once
// `shopctl load`: virtual users that drive a shop through its gateway (and the provider's pay
// page), closed-loop (a fixed number of users, each starting its next journey when the last
// one ends) or open-loop (journeys started at a fixed rate, whatever the shop's speed).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/plan.hpp"

namespace shopctl::load {

// What a run can mean, for `shopctl load`'s flags and the public LoadPlan alike: at least one
// journey per 1000 s (a longer interval overflows the scheduler's clock), at most a million a
// second; a day at most (its deadline is computed from now).
inline constexpr unsigned kMaxUsers = 100000;
inline constexpr unsigned kMaxThreads = 64;
inline constexpr double kMinRate = 0.001;
inline constexpr double kMaxRate = 1e6;
inline constexpr std::chrono::hours kMaxDuration{24};

// The card checkout pays with, as `--card` and LoadPlan::card take it: printable ASCII, at
// most 64 characters (a card number, or anything the provider should refuse). Bytes that are
// not UTF-8 made every user's pay request throw: the run ended after 10 ms with nothing
// done, and passed (an outside probe). Throws std::invalid_argument.
inline void check_card(std::string_view card) {
  if (card.size() > 64)
    throw std::invalid_argument("card: at most 64 characters, like 4242424242424242");
  for (unsigned char c : card) {
    if (c < 0x20 || c > 0x7e)
      throw std::invalid_argument(
          "card: printable ASCII only (a card number like 4242424242424242)");
  }
}

struct LoadOptions {
  std::string gateway_url;  // http://127.0.0.1:PORT
  std::string admin_token;  // for faults and breaker transitions; empty: neither
  unsigned users = 16;      // closed loop: the users; open loop: the pool journeys start on
  double rate = 0;          // > 0: open loop, journeys started per second
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  std::chrono::nanoseconds think{0};  // closed loop: pause between a user's journeys
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);  // per request
  // How long a kept-alive connection to the gateway may stay idle: below the shop's
  // http.idle_timeout (http::pooled_idle_limit of it for an in-process shop).
  std::chrono::milliseconds pooled_idle_time{20'000};
  Mix mix;
  std::uint64_t seed = 1;
  unsigned threads = 1;
  std::string card = "4242424242424242";
  std::string password = "load-password-1";
  // Faults switched on at `fault_at` after the start and off after `fault_for` (0: until the
  // end), in the wire shape of POST /_admin/faults.
  std::vector<nlohmann::json> faults;
  std::chrono::nanoseconds fault_at{0};
  std::chrono::nanoseconds fault_for{0};
  // Called about once a second with the progress of the last second. An exception from it
  // ends the run (faults off, requests in flight abandoned) and leaves run_load.
  std::function<void(const struct Progress&)> on_progress;

  // Checkout variants (each a probability in [0, 1], drawn per checkout from the user's
  // seeded generator). `abandon`: the shopper walks away with the pay link unused.
  // `decline`: pays with the declined test card (4000000000000002). `double_submit`: two
  // POST /api/orders of one cart at once, each with its own Idempotency-Key (two tabs).
  double abandon_share = 0;
  double decline_share = 0;
  double double_submit_share = 0;
  // A checkout whose POST /api/orders got no answer or a 5xx is sent once more with the same
  // Idempotency-Key (what a careful client does), after this pause; 0: never retried.
  std::chrono::nanoseconds checkout_retry_after{0};
  // How long a checkout polls its order for PAID/FAILED after paying (0: max(timeout, 10s)).
  std::chrono::nanoseconds settle_wait{0};
  // Called from the worker threads after every request of the measured window with what the
  // shopper sent and was answered (for `shopctl chaos`'s history). Bodies are parsed for it.
  std::function<void(const struct Operation&)> on_operation;
  // Called once, on the calling thread, when the measured window starts (setup done).
  std::function<void()> on_measuring;
};

// One request of a virtual user, as the user saw it.
struct Operation {
  std::size_t user = 0;
  std::string email;
  std::string journey;            // "checkout"
  std::string attempt;            // the journey's id ("<run>-<user>-<iteration>"): one cart
  std::string route;              // "POST /api/orders", "POST {pay_url}", "GET /api/orders/{id}"
  std::string target;             // the path (and query) sent
  std::string idempotency_key;    // empty when none was sent
  nlohmann::json request;         // the JSON body sent, or null
  double start_s = 0, end_s = 0;  // since the measured window started (steady clock)
  int status = 0;                 // 0: no answer (see error)
  std::string error;              // "transport timeout"; empty when an answer came
  std::string trace_id;           // X-Trace-Id of the answer
  nlohmann::json body;            // the parsed answer (discarded when not JSON)
};

struct Progress {
  double elapsed_s = 0;
  double requests_per_second = 0;  // in the last interval
  std::uint64_t requests = 0;      // so far
  std::uint64_t errors = 0;        // so far
  double p99_ms = 0;               // of the last interval (0 when none finished in it)
  bool has_latency = true;         // false when no request finished in the last interval
  double journeys_per_second = 0;  // finished in the last interval
  std::uint64_t orders_paid = 0;   // so far
  std::string note;                // "faults on", "faults off"
  bool final = false;              // the last tick: the run's end, in-flight journeys done
};

// One progress tick (about a second) of the measured window, for the report's charts.
struct Sample {
  double at_s = 0;                 // the end of the interval, since the start
  double requests_per_second = 0;  // in the interval
  double errors_per_second = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;  // of the interval's requests
  // False when no request finished in the interval: its latencies are unknown, not 0 (the
  // report showed "p99 0.00 ms" for the second a stalled shop answered nothing).
  bool has_latency = true;
};

struct LoadResult {
  double seconds = 0;  // from the first journey to the end of the last
  std::string mode;    // closed or open
  unsigned users = 0;
  double rate = 0;
  std::string mix;
  Tally requests;
  std::map<std::string, Tally> routes;                  // "GET /api/catalog/products"
  std::map<std::string, Tally> journeys;                // "checkout"
  std::map<std::string, std::uint64_t> errors_by_code;  // "503 catalog_unavailable"
  std::uint64_t orders_created = 0, orders_paid = 0, orders_failed = 0, orders_unsettled = 0;
  std::uint64_t orders_abandoned = 0;  // pay links left unused on purpose (abandon_share)
  std::uint64_t dropped = 0;           // open loop: starts with no idle user, or not made
  std::uint64_t dropped_behind = 0;    // of dropped: still due when the run's deadline came
  std::uint64_t tokens_renewed = 0;    // users signed in again after 401 token_expired
  double start_lag_max_ms = 0;         // open loop: the latest a start came after its schedule
  std::vector<Sample> timeline;        // one per progress tick
  // Each with "at_s" (since the start) beside the shop's "at_ms" (its clock's Unix time).
  nlohmann::json breaker_transitions = nlohmann::json::array();
  // Why the transitions could not be read from the shop (empty when they were).
  std::string breaker_transitions_problem;
  nlohmann::json fault_events = nlohmann::json::array();
  double setup_seconds = 0;
  // CPU time during the measured part (user + system): the whole process, and the load
  // generator's own threads. With the shop in the same process (no --target), the shop's share
  // is the difference; `shop_in_process` says whether it is.
  double cpu_process_seconds = 0;
  double cpu_generator_seconds = 0;
  bool shop_in_process = false;

  Figures figures() const;
};

// The run could not start: the shop is unreachable, users could not log in, no products.
class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs the load and returns what it measured. Throws SetupError (nothing measured) and
// std::invalid_argument (a refused fault).
LoadResult run_load(const LoadOptions& options);

}  // namespace shopctl::load
