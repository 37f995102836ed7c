#pragma once
// Runs validated scenarios: each against a fresh in-process shop of its own (ephemeral ports,
// a temporary data folder, the demo catalog, its own simulated clock), or all against a
// running `shopctl serve` (--target). The runner drives the shop only through HTTP: the
// gateway, the provider's pay page, other services' ports (to prove they refuse outsiders)
// and the /_admin/ plane; only stop/start of an in-process service goes through the Shop.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/model.hpp"

namespace shopctl::scenario {

struct RunOptions {
  unsigned jobs = 0;                  // 0: the number of cores
  std::optional<std::string> target;  // base URL of a running shop's gateway
  std::string admin_token;            // with target
  // With target: the run lease this run holds (RunLease::holder()), sent with every admin
  // request, so that the shop refuses them once another run took the lease.
  std::string lease_holder;
  std::vector<std::string> tags;       // run only scenarios with one of these tags
  std::vector<std::string> skip_tags;  // skip scenarios with any of these
  bool verbose = false;                // print every step
  // Variables from the command line (--var, --vars-file): defined before a scenario's own
  // `vars:`, which cannot override them.
  std::map<std::string, nlohmann::json> vars;
  // --fail-fast: after the first scenario that does not pass, start no other (they are
  // reported skipped); those already running finish.
  bool fail_fast = false;
  // --validate-schema: every gateway answer of every step is checked against the OpenAPI
  // description, as `expect: {schema: true}` checks one (docs/scenarios.md).
  bool validate_schema = false;
  // Once set, no other scenario starts (each is reported skipped); those running finish.
  // --fail-fast sets it after the first failure, the public ScenarioRunner when its progress
  // callback throws.
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  // With target: called once the run has recorded the shop's baseline (its first change to the
  // shop), so that a caller stopped from outside knows POST /_admin/reset puts back the shop
  // as the run found it, and not an older baseline.
  std::function<void()> on_baseline_recorded;
};

// One failed check, with enough to find it and understand it.
struct Failure {
  std::string phase;     // setup, steps, teardown, scenario
  std::string step;      // the step's label
  SourceLocation where;  // the step or the expectation
  std::string message;   // what was expected and what came back
  int status = 0;        // the last response's status, when there was one
  std::string body;      // the last response's body, trimmed
  std::string trace_id;  // the last response's X-Trace-Id
};

struct RequestRecord {
  std::string method;
  std::string url;
  int status = 0;     // 0: no answer
  std::string error;  // transport error, when no answer
  double duration_ms = 0;
  std::string trace_id;
};

inline constexpr std::size_t kKeptRequests = 1000;

struct StepResult {
  std::string phase;
  std::string label;
  std::string action;
  SourceLocation loc;
  bool passed = true;
  double duration_ms = 0;
  int attempts = 0;
  // The step's requests: the first kKeptRequests - 1 and the latest (record_request); a
  // `repeat: 1000000` kept every one, 2-5 KB each (818 MB for one step; an outside probe).
  std::vector<RequestRecord> requests;
  std::uint64_t requests_dropped = 0;  // sent but not kept: those between the first and latest
  std::vector<Failure> failures;
  nlohmann::json calls = nlohmann::json::array();        // call records during the step
  nlohmann::json transitions = nlohmann::json::array();  // breaker transitions during the step
};

// Keeps `rec` in `step`: appended while there is room, else in place of the latest one kept.
inline void record_request(StepResult& step, RequestRecord rec) {
  if (step.requests.size() < kKeptRequests) {
    step.requests.push_back(std::move(rec));
  } else {
    step.requests.back() = std::move(rec);
    ++step.requests_dropped;
  }
}

enum class ScenarioStatus { passed, failed, setup_failed, timed_out, shop_error, skipped };
std::string_view to_string(ScenarioStatus status);

struct ScenarioResult {
  std::string name;
  std::string file;
  std::vector<std::string> tags;
  ScenarioStatus status = ScenarioStatus::passed;
  double duration_ms = 0;
  std::vector<StepResult> steps;
  std::vector<Failure> failures;
  nlohmann::json calls = nlohmann::json::array();  // every call record of the scenario
  nlohmann::json transitions = nlohmann::json::array();
  std::string error;  // the shop could not start, or another runner error
  // Why a skipped scenario did not run: a tag filter (which tag) or a stopped run (--fail-fast).
  std::string skip_reason;
  // --target only: whether it ran alone and why (isolation.hpp), and the shop clock's offset
  // when its baseline was restored, so that absolute times in the report can be related.
  std::optional<bool> exclusive;
  std::string exclusive_reason;
  std::optional<std::int64_t> clock_offset_ms;
};

struct RunSummary {
  std::vector<ScenarioResult> results;  // in the order of the input
  double duration_ms = 0;
  std::int64_t started_unix_ms = 0;  // when the run began (wall clock); 0: not known
  // With a target: the shop clock's offset (ms ahead of real time) when the run found it and
  // when it ended. The baseline puts back everything but the clock, which cannot go back.
  std::optional<std::int64_t> target_clock_before_ms, target_clock_after_ms;
  // With a target: why the end of the run could not put it back (its faults, prices and
  // stock may still be the scenarios'); empty when it was. In the console summary and JSON.
  std::string target_restore_error;
  int passed() const;
  int failed() const;  // failed or setup_failed
  int errors() const;  // timed_out or shop_error
  int skipped() const;
  int steps() const;
};

// Called as each scenario finishes (from the runner's threads, one at a time).
using ProgressCallback = std::function<void(const ScenarioResult&, int done, int total)>;

// Whether `--tags` / `--skip-tags` in `options` select the scenario (skip-tags win).
bool selected_by_tags(const Scenario& scenario, const RunOptions& options);

// Why `--tags` / `--skip-tags` leave the scenario out ("tagged slow, which --skip-tags skips");
// "" when they select it.
std::string tag_skip_reason(const Scenario& scenario, const RunOptions& options);

// Why a run of `scenarios` under `options` must not start, as `shopctl run` refuses it (and
// the C++ API's RunReport::exit_code() says): a tag that is not one word, or tags that leave
// none of the scenarios to run (exit 1); no scenario at all (exit 2). Nothing when it may run.
struct RunRefusal {
  int exit_code = 0;
  std::string message;  // what is wrong, without a "shopctl run: " prefix
  std::string detail;   // what may help (the tags in use), or empty
};
std::optional<RunRefusal> run_refusal(const std::vector<Scenario>& scenarios,
                                      const RunOptions& options);

// With options.target: one Diagnostic per key of a selected scenario's `config:` that a
// running shop cannot take (shop/config.hpp: runtime_config_refusals), at the key, naming it
// and why. Such a scenario must not run against the target. Empty without a target.
std::vector<Diagnostic> target_config_refusals(const std::vector<Scenario>& scenarios,
                                               const RunOptions& options);

// How many in-process shops may run at once under this process's open-file limit (raised to
// its hard limit first): each needs up to kFilesPerShop descriptors (its databases, listeners,
// reactors and the connections of a busy step). run_scenarios runs no more at once.
inline constexpr unsigned kFilesPerShop = 128;
unsigned in_process_jobs_allowed();
// At most twice the cores' worth of in-process shops run at once, whatever --jobs asks: past
// that they share the CPU so thinly that latency expectations fail for want of it.
unsigned in_process_jobs_cap();

// Runs the scenarios (in parallel up to options.jobs, and without a target up to
// in_process_jobs_allowed()) and returns every result. With
// options.target, the shop's baseline is recorded first (POST /_admin/baseline) and restored
// (POST /_admin/reset) before the parallel group, before each scenario that must run alone
// (isolation.hpp; its `config:` and `seed:` then go to POST /_admin/config) and at the end.
RunSummary run_scenarios(const std::vector<Scenario>& scenarios, const RunOptions& options,
                         const ProgressCallback& progress = {});

// The shop's config validator for ParseOptions: checks a scenario's `config:` with the same
// rules as `shopctl serve --config`.
std::vector<Diagnostic> validate_shop_config(const YAML::Node& config, const std::string& file);

}  // namespace shopctl::scenario
