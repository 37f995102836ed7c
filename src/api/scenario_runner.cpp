// shopctl::ScenarioRunner (include/shopctl/scenario_runner.hpp): the public face of the
// scenario parser, runner and reports (src/scenario/).
#include "shopctl/scenario_runner.hpp"

#include "shopctl/admin_client.hpp"

#include <map>
#include <optional>
#include <stdexcept>

#include "api/convert.hpp"
#include "platform/json_text.hpp"
#include "platform/output_file.hpp"
#include "scenario/parser.hpp"
#include "scenario/report.hpp"
#include "scenario/run_lease.hpp"
#include "scenario/runner.hpp"
#include "shopctl/version.hpp"

namespace shopctl {

namespace {

ScenarioOutcome outcome_of(scenario::ScenarioStatus status) {
  switch (status) {
    case scenario::ScenarioStatus::passed:
      return ScenarioOutcome::passed;
    case scenario::ScenarioStatus::failed:
    case scenario::ScenarioStatus::setup_failed:
      return ScenarioOutcome::failed;
    case scenario::ScenarioStatus::timed_out:
    case scenario::ScenarioStatus::shop_error:
      return ScenarioOutcome::error;
    case scenario::ScenarioStatus::skipped:
      return ScenarioOutcome::skipped;
  }
  return ScenarioOutcome::error;
}

ScenarioResult public_result(const scenario::ScenarioResult& r) {
  ScenarioResult out;
  out.name = r.name;
  out.file = r.file;
  out.outcome = outcome_of(r.status);
  out.status = std::string(scenario::to_string(r.status));
  out.duration_ms = r.duration_ms;
  out.steps = r.steps.size();
  for (const auto& f : r.failures)
    out.failures.push_back({f.phase, f.step, f.where.to_string(), f.message, f.status, f.trace_id});
  return out;
}

Diagnostic public_diagnostic(const scenario::Diagnostic& d) {
  return {d.file, d.line, d.column, d.message};
}

scenario::ParseOptions parse_options() {
  scenario::ParseOptions options;
  options.validate_config = scenario::validate_shop_config;
  options.environment_must_be_set = true;  // as `shopctl run` and `validate`
  return options;
}

void write_file(const std::string& path, const std::string& text) {
  if (auto why = platform::write_in_place(path, text); !why.empty())
    throw std::runtime_error("cannot write " + path + " (" + why + ")");
}

}  // namespace

std::string Diagnostic::to_string() const {
  return scenario::SourceLocation{file, line, column}.to_string() + ": error: " + message;
}

// ---------------------------------------------------------------------------------------------
// RunReport

struct RunReport::Impl {
  scenario::RunSummary summary;
  std::vector<ScenarioResult> results;
  // Why nothing ran, as shopctl run refuses it (bad tags, tags that leave nothing, nothing
  // added): exit_code() gives its code, not 0.
  std::optional<scenario::RunRefusal> refusal;
};

// A report no run filled says so: constructed empty, it said exit 0, "0 passed, 0 failed"
// (an outside probe), which a CI step would take for a green run.
RunReport::RunReport()
    : impl_(std::make_shared<const Impl>(
          Impl{{}, {}, scenario::RunRefusal{kExitInvalid, "no run filled this report", ""}})) {}
RunReport::~RunReport() = default;
RunReport::RunReport(const RunReport&) = default;
RunReport& RunReport::operator=(const RunReport&) = default;
RunReport::RunReport(RunReport&&) noexcept = default;
RunReport& RunReport::operator=(RunReport&&) noexcept = default;

const std::vector<ScenarioResult>& RunReport::results() const {
  auto& self = api::live(impl_, "RunReport");
  return self.results;
}
int RunReport::passed() const {
  auto& self = api::live(impl_, "RunReport");
  return self.summary.passed();
}
int RunReport::failed() const {
  auto& self = api::live(impl_, "RunReport");
  return self.summary.failed();
}
int RunReport::errors() const {
  auto& self = api::live(impl_, "RunReport");
  return self.summary.errors();
}
int RunReport::skipped() const {
  auto& self = api::live(impl_, "RunReport");
  return self.summary.skipped();
}
double RunReport::duration_ms() const {
  auto& self = api::live(impl_, "RunReport");
  return self.summary.duration_ms;
}

int RunReport::exit_code() const {
  auto& self = api::live(impl_, "RunReport");
  if (self.refusal) return self.refusal->exit_code;
  // As shopctl run: a failed expectation wins over a timeout or a shop's error.
  if (failed() > 0) return kExitExpectation;
  if (errors() > 0) return kExitShop;
  return kExitOk;
}

std::string RunReport::console_summary(bool color) const {
  auto& self = api::live(impl_, "RunReport");
  if (self.refusal) {
    return self.refusal->message + ": nothing ran (exit " +
           std::to_string(self.refusal->exit_code) + ")" +
           (self.refusal->detail.empty() ? "" : "; " + self.refusal->detail) + "\n";
  }
  scenario::ConsoleStyle style;
  style.color = color;
  return scenario::console_summary(self.summary, style);
}

std::string RunReport::junit_xml() const {
  auto& self = api::live(impl_, "RunReport");
  return scenario::junit_xml(self.summary);
}
std::string RunReport::json() const {
  auto& self = api::live(impl_, "RunReport");
  return platform::json_text(scenario::json_report(self.summary), 2) + "\n";
}
void RunReport::write_junit(const std::string& path) const {
  write_file(path, junit_xml());
}
void RunReport::write_json(const std::string& path) const {
  write_file(path, json());
}

// ---------------------------------------------------------------------------------------------
// ScenarioRunner

struct ScenarioRunner::Impl {
  RunnerOptions options;
  std::vector<scenario::Scenario> scenarios;
  std::map<std::string, std::string> sources;  // file -> text, for format()

  scenario::RunOptions run_options() const {
    scenario::RunOptions o;
    o.jobs = options.jobs;
    if (!options.target.empty()) o.target = options.target;
    o.admin_token = options.admin_token;
    o.tags = options.tags;
    o.skip_tags = options.skip_tags;
    o.verbose = options.verbose;
    return o;
  }

  // Adds the valid scenarios of `valid` whose `config:` the target takes; returns every problem.
  std::vector<Diagnostic> take(std::vector<scenario::Scenario> valid,
                               std::vector<scenario::Diagnostic> problems) {
    auto refused = scenario::target_config_refusals(valid, run_options());
    std::map<std::string, bool> refused_files;
    for (auto& d : refused) {
      refused_files[d.file] = true;
      d.message +=
          " (a running shop cannot take it: run the scenario in-process, or skip it by tag)";
      problems.push_back(std::move(d));
    }
    for (auto& s : valid) {
      if (!refused_files.count(s.file)) scenarios.push_back(std::move(s));
    }
    scenario::sort_diagnostics(problems);
    std::vector<Diagnostic> out;
    for (const auto& d : problems) out.push_back(public_diagnostic(d));
    return out;
  }
};

ScenarioRunner::ScenarioRunner(RunnerOptions options) : impl_(std::make_unique<Impl>()) {
  while (!options.target.empty() && options.target.back() == '/') options.target.pop_back();
  // As `shopctl run --target` and AdminClient check it: "not a url" made every scenario a
  // shop_error, and a gateway URL with /api a 404 blamed on the admin token (an outside probe).
  if (!options.target.empty()) {
    const auto& target = options.target;
    if (target.rfind("http://", 0) == 0 && target.find_first_of("/?#", 7) != std::string::npos)
      throw std::invalid_argument(
          "target: give the gateway's base URL, like http://127.0.0.1:8080, without a path, query "
          "or "
          "fragment; got '" +
          target + "'");
    AdminClient check(target, "unused");  // throws std::invalid_argument naming the problem
  }
  impl_->options = std::move(options);
}
ScenarioRunner::~ScenarioRunner() = default;
ScenarioRunner::ScenarioRunner(ScenarioRunner&&) noexcept = default;
ScenarioRunner& ScenarioRunner::operator=(ScenarioRunner&&) noexcept = default;

std::vector<Diagnostic> ScenarioRunner::add_files(const std::vector<std::string>& paths) {
  auto& self = api::live(impl_, "ScenarioRunner");
  auto loaded = scenario::load_scenarios(paths, parse_options());
  for (auto& [file, text] : loaded.sources) self.sources[file] = std::move(text);
  return self.take(std::move(loaded.scenarios), std::move(loaded.diagnostics));
}

std::vector<Diagnostic> ScenarioRunner::add_text(std::string_view yaml, const std::string& file) {
  auto& self = api::live(impl_, "ScenarioRunner");
  auto parsed = scenario::parse_scenario_text(yaml, file, parse_options());
  self.sources[file] = std::move(parsed.source_text);
  std::vector<scenario::Scenario> valid;
  if (parsed.scenario) valid.push_back(std::move(*parsed.scenario));
  return self.take(std::move(valid), std::move(parsed.diagnostics));
}

std::vector<Diagnostic> ScenarioRunner::validate(const std::vector<std::string>& paths) {
  std::vector<Diagnostic> out;
  for (const auto& d : scenario::load_scenarios(paths, parse_options()).diagnostics)
    out.push_back(public_diagnostic(d));
  return out;
}

std::string ScenarioRunner::format(const std::vector<Diagnostic>& diagnostics) const {
  auto& self = api::live(impl_, "ScenarioRunner");
  std::string out;
  for (const auto& d : diagnostics) {
    auto source = self.sources.find(d.file);
    out += scenario::format_diagnostic({d.file, d.line, d.column, d.message},
                                       source == self.sources.end() ? "" : source->second);
  }
  return out;
}

std::vector<ScenarioInfo> ScenarioRunner::scenarios() const {
  auto& self = api::live(impl_, "ScenarioRunner");
  std::vector<ScenarioInfo> out;
  for (const auto& s : self.scenarios)
    out.push_back({s.name, s.file, s.tags, s.setup.size() + s.steps.size() + s.teardown.size()});
  return out;
}

void ScenarioRunner::clear() {
  auto& self = api::live(impl_, "ScenarioRunner");
  self.scenarios.clear();
  self.sources.clear();
}

RunReport ScenarioRunner::run(const Progress& progress) {
  auto& self = api::live(impl_, "ScenarioRunner");
  if (!self.options.target.empty() && self.options.admin_token.empty())
    throw std::invalid_argument("a target needs its admin token (printed by shopctl serve)");
  auto options = self.run_options();
  if (auto refusal = scenario::run_refusal(self.scenarios, options)) {
    auto impl = std::make_shared<RunReport::Impl>();
    impl->refusal = std::move(refusal);
    RunReport report;
    report.impl_ = std::move(impl);
    return report;
  }
  // Last before anything changes, as shopctl run --target: another run on the same shop would
  // reset it under this one, and this one under it.
  std::optional<scenario::RunLease> lease;
  if (options.target) {
    lease.emplace(*options.target, options.admin_token, "shopctl::ScenarioRunner",
                  "shopctl::ScenarioRunner");
    options.lease_holder = lease->holder();
    // A shop that cannot be reached, or refuses the token, is not refused here: each scenario
    // then meets it and reports it (outcome error), as without a lease.
    if (auto refused = lease->acquire(self.options.wait_for_target); lease->in_use()) {
      auto impl = std::make_shared<RunReport::Impl>();
      impl->refusal = scenario::RunRefusal{kExitShop, *options.target + " is in use: " + refused,
                                           "wait for it with RunnerOptions::wait_for_target"};
      RunReport report;
      report.impl_ = std::move(impl);
      return report;
    }
  }
  struct Release {
    std::optional<scenario::RunLease>& lease;
    ~Release() {
      if (lease) lease->release();  // the runner has put the shop back
    }
  } release{lease};
  // The callback runs on the runner's threads, where an exception ended the process. The
  // first one stops the run (no other scenario starts) and is thrown from here.
  std::exception_ptr thrown;
  scenario::ProgressCallback internal;
  if (progress) {
    internal = [&progress, &thrown, stop = options.stop](const scenario::ScenarioResult& r,
                                                         int done, int total) {
      if (thrown) return;  // called with the results' lock held: one at a time
      try {
        progress(public_result(r), done, total);
      } catch (...) {
        thrown = std::current_exception();
        stop->store(true);
      }
    };
  }
  auto impl = std::make_shared<RunReport::Impl>();
  impl->summary = scenario::run_scenarios(self.scenarios, options, internal);
  if (thrown) std::rethrow_exception(thrown);
  for (const auto& r : impl->summary.results) impl->results.push_back(public_result(r));
  RunReport report;
  report.impl_ = std::move(impl);
  return report;
}

}  // namespace shopctl
