#pragma once
// Scenario files (docs/scenarios.md): read and validate them, run them, and report, as
// `shopctl validate` and `shopctl run` do. Each scenario runs against a fresh in-process shop
// of its own, or all of them against a running shop (a target URL and its admin token). Part
// of the public API (docs/architecture.md, "The public C++ API"): standard types only.
//
//   shopctl::ScenarioRunner runner;
//   auto problems = runner.add_files({"scenarios/flow"});
//   if (!problems.empty()) { std::cerr << runner.format(problems); return 2; }
//   auto report = runner.run();
//   report.write_junit("junit.xml");
//   return report.exit_code();
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl {

// One problem in a scenario file. `line` and `column` are 1-based (0: unknown).
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // "file:line:col: error: message", as shopctl validate prints it (without the caret).
  std::string to_string() const;
};

// A valid scenario, as loaded.
struct ScenarioInfo {
  std::string name;
  std::string file;
  std::vector<std::string> tags;
  std::size_t steps = 0;  // setup, steps and teardown together
};

enum class ScenarioOutcome {
  passed,
  failed,   // an expectation failed (in setup or in the steps)
  error,    // the shop could not start or be reached, or the scenario passed its timeout
  skipped,  // not selected by the tags
};

// One failed check: where, what was expected and what came back.
struct ScenarioFailure {
  std::string phase;     // setup, steps, teardown, scenario
  std::string step;      // the step's label; empty for the scenario as a whole
  std::string where;     // "file:line:col" of the step or the expectation
  std::string message;   // what was expected and what came back
  int status = 0;        // the last answer's HTTP status, when there was one
  std::string trace_id;  // the last answer's X-Trace-Id
};

struct ScenarioResult {
  std::string name;
  std::string file;
  ScenarioOutcome outcome = ScenarioOutcome::passed;
  // As the reports name it: passed, failed, setup_failed, timed_out, shop_error, skipped.
  std::string status;
  double duration_ms = 0;
  std::size_t steps = 0;  // steps that ran
  std::vector<ScenarioFailure> failures;
};

// The results of one run, and its reports.
class RunReport {
 public:
  RunReport();
  ~RunReport();
  RunReport(const RunReport&);
  RunReport& operator=(const RunReport&);
  RunReport(RunReport&&) noexcept;
  RunReport& operator=(RunReport&&) noexcept;

  // In the order the scenarios were loaded.
  const std::vector<ScenarioResult>& results() const;
  int passed() const;
  int failed() const;
  int errors() const;
  int skipped() const;
  double duration_ms() const;
  // As `shopctl run` exits: kExitUsage when nothing ran because a tag is not one word or the
  // tags left no scenario to run, kExitInvalid when nothing ran because no scenario was added
  // (add_files found none, or only invalid ones) or no run filled the report (constructed
  // empty), kExitShop when nothing ran because another
  // run held the target's run lease (ScenarioRunner::run); else kExitExpectation when any scenario
  // failed an expectation, else kExitShop when any timed out or met a shop error, else kExitOk
  // (a failure wins over an error: a CI job that retries exit 3 must not hide a real failure).
  int exit_code() const;

  // Every failure in detail, then "scenarios: N passed, M failed, ..." (shopctl run's end;
  // M counts the failed and the errors together: failed() and errors() tell them apart).
  std::string console_summary(bool color = false) const;
  std::string junit_xml() const;  // one testcase per scenario
  std::string json() const;       // steps, requests, calls and breaker transitions
  // Write the reports to files. Throw std::runtime_error when the file cannot be written.
  void write_junit(const std::string& path) const;
  void write_json(const std::string& path) const;

 private:
  friend class ScenarioRunner;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

struct RunnerOptions {
  unsigned jobs = 0;        // scenarios at once; 0: the number of cores. Without a target, at most
                            // twice the cores and what the open-file limit allows
  std::string target;       // a running shop's gateway URL; empty: in-process shops
  std::string admin_token;  // the running shop's admin token (with target)
  std::vector<std::string> tags;       // run only scenarios with one of these tags
  std::vector<std::string> skip_tags;  // skip scenarios with any of these (they win)
  bool verbose = false;                // the in-process shops' warnings on stderr
  // With target: how long run() waits while another run (shopctl run --target, or another
  // ScenarioRunner) holds the shop's run lease; 0: refuse at once (--wait-for-target).
  std::chrono::milliseconds wait_for_target{0};
};

// A ScenarioRunner (or RunReport) that was moved from throws std::logic_error on every call.
class ScenarioRunner {
 public:
  // Throws std::invalid_argument when options.target is not a gateway's base URL
  // (http://host:port, as AdminClient takes it, without a path).
  explicit ScenarioRunner(RunnerOptions options = {});
  ~ScenarioRunner();
  ScenarioRunner(ScenarioRunner&&) noexcept;
  ScenarioRunner& operator=(ScenarioRunner&&) noexcept;

  // Reads and validates every file named, or found under a folder named (*.yaml and *.yml,
  // recursively, sorted), with the checks of `shopctl validate`. Returns every problem
  // (empty: all valid); a path that does not exist is one. A file with any problem adds no
  // scenario; the valid ones are added. With a target, a `config:` key a running shop cannot
  // take is a problem too.
  std::vector<Diagnostic> add_files(const std::vector<std::string>& paths);
  // The same for scenario text; `file` names it in diagnostics and results.
  std::vector<Diagnostic> add_text(std::string_view yaml, const std::string& file);

  // Validates without adding anything (`shopctl validate`).
  static std::vector<Diagnostic> validate(const std::vector<std::string>& paths);

  // `diagnostics` as shopctl validate prints them: each with its source line and a caret.
  std::string format(const std::vector<Diagnostic>& diagnostics) const;

  // The scenarios added so far, in order.
  std::vector<ScenarioInfo> scenarios() const;
  void clear();

  // Called as each scenario finishes, from the runner's threads, one at a time. An exception
  // from it stops the run: no other scenario starts, those running finish, and run() throws
  // it (the scenarios stay added).
  using Progress = std::function<void(const ScenarioResult& result, int done, int total)>;
  // Runs every scenario added (in parallel up to jobs) and returns the results; runs nothing,
  // and returns a report whose exit_code() says why, when shopctl run would refuse to (bad
  // tags, tags that leave nothing, no scenario added; with a target, another run holding the
  // shop's run lease past wait_for_target: kExitShop, "URL is in use: ..."). With a target the
  // run holds the shop's run lease as shopctl run --target does (docs/scenarios.md, "Two runs
  // on one shop"): taken before anything changes, renewed while it runs, released at the end,
  // also when the progress callback throws. Throws
  // std::invalid_argument when a target is set without an admin token. A shop that cannot
  // start or be reached makes results with outcome error, not an exception.
  RunReport run(const Progress& progress = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopctl
