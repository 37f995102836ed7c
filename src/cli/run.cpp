// shopctl run / shopctl validate
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "observe_tools/html_report.hpp"
#include "platform/admin_client.hpp"
#include "platform/duration.hpp"
#include "platform/http/message.hpp"
#include "platform/http/server.hpp"
#include "platform/json_text.hpp"
#include "platform/output_file.hpp"
#include "platform/text_rules.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/parser.hpp"
#include "scenario/report.hpp"
#include "scenario/run_lease.hpp"
#include "scenario/runner.hpp"

namespace shopctl::cli {

namespace {

struct RunCliOptions {
  std::vector<std::string> paths;
  unsigned jobs = 0;
  std::string target;
  std::string admin_token;
  std::string junit;
  std::string json;
  std::string html;
  std::vector<std::string> tags;
  std::vector<std::string> skip_tags;
  bool verbose = false;
  bool fail_fast = false;
  bool validate_schema = false;
  std::string color = "auto";
  std::vector<std::string> vars;  // NAME=VALUE
  std::string vars_file;
  std::string wait_for_target = "0s";
  std::string seed;  // empty: each scenario's own seed, or 0
};

scenario::LoadResult load(const std::vector<std::string>& paths,
                          const scenario::CommandLineVars& vars) {
  scenario::ParseOptions options;
  options.validate_config = scenario::validate_shop_config;
  options.environment_must_be_set = true;
  for (const auto& [name, _] : vars) options.known_vars.insert(name);
  return scenario::load_scenarios(paths, options);
}

// --var and --vars-file into `vars`; kExitOk, or the exit code after saying what is wrong
// (2 for an invalid --vars-file, 1 for a bad --var).
const char* nothing_done(std::string_view command) {
  return command == "shopctl validate" ? "nothing was checked" : "nothing ran";
}

int read_vars(const char* command, const std::vector<std::string>& pairs, const std::string& file,
              scenario::CommandLineVars& vars) {
  try {
    vars = scenario::command_line_vars(pairs, file);
    return kExitOk;
  } catch (const scenario::VarsFileError& e) {
    std::cerr << command << ": " << e.what() << "\n";  // file:line:col and a caret last
    return kExitInvalid;
  } catch (const std::invalid_argument& e) {
    // Ended as every other refusal of shopctl's own (docs/ci.md: "... nothing ran (exit N)").
    std::cerr << command << ": " << e.what() << ": " << nothing_done(command) << " (exit 1)\n";
    return kExitUsage;
  }
}

// The diagnostics of `loaded` as stderr shows them, each "file:line:col: error: ...": a file's
// name quoted with its control characters, line feeds too, as escapes (a file named
// "x\n[1/1] PASS y.yaml" started a line of its own), as a scenario's name is.
std::string shown_diagnostics(const scenario::LoadResult& loaded) {
  scenario::LoadResult shown;
  shown.diagnostics = loaded.diagnostics;
  for (auto& diagnostic : shown.diagnostics)
    diagnostic.file = platform::terminal_text(diagnostic.file, true);
  for (const auto& [file, text] : loaded.sources)
    shown.sources.emplace(platform::terminal_text(file, true), text);
  return shown.format_diagnostics();
}

int run_validate(const std::vector<std::string>& paths, const std::vector<std::string>& pairs,
                 const std::string& vars_file) {
  scenario::CommandLineVars vars;
  if (int rc = read_vars("shopctl validate", pairs, vars_file, vars); rc != kExitOk) return rc;
  auto loaded = load(paths, vars);
  if (!loaded.ok()) {
    std::cerr << shown_diagnostics(loaded);
    // Counted over the files read: a path that names no file is a problem, not a file.
    std::cerr << "shopctl validate: " << loaded.diagnostics.size() << " problem(s)";
    if (!loaded.files.empty()) std::cerr << " in " << loaded.files.size() << " file(s) read";
    std::cerr << "\n";
    return kExitInvalid;
  }
  std::size_t steps = 0;
  for (const auto& s : loaded.scenarios)
    steps += s.setup.size() + s.steps.size() + s.teardown.size();
  std::cout << loaded.scenarios.size() << " scenario file(s) valid, " << steps << " steps\n";
  return kExitOk;
}

int run_run(const RunCliOptions& given) {
  RunCliOptions o = given;
  exit_cleanly_on_interrupt("shopctl run",
                            o.target.empty() ? "no report was written" : "no report was written");
  if (int rc = resolve_target("shopctl run", o.target, o.admin_token); rc != kExitOk) return rc;
  const auto wait_for_target =
      platform::parse_duration(o.wait_for_target == "0" ? "0s" : o.wait_for_target);
  if (!wait_for_target || wait_for_target->count() < 0 ||
      *wait_for_target > std::chrono::hours(24)) {
    std::cerr << "shopctl run: --wait-for-target must be a duration from 0s to 24h (30s, 10m), "
                 "not '"
              << o.wait_for_target << "'\n";
    return kExitUsage;
  }
  if (refuse_report_to_stdout("shopctl run", {{"--junit", o.junit, "reports/junit.xml"},
                                              {"--json", o.json, "reports/run.json"},
                                              {"--html", o.html, "reports/scenarios.html"}}))
    return kExitUsage;
  // Before anything else can end the run: removed at any exit that writes no report.
  std::vector<std::string> given_inputs = o.paths;
  given_inputs.push_back(o.vars_file);
  auto stale = std::make_shared<StaleReports>(std::vector<std::string>{o.junit, o.json, o.html},
                                              given_inputs);
  set_interrupt_cleanup([stale] { return stale->remove(); });
  set_interrupt_reports([stale] { return stale->written(); });
  const StaleReports::RemoveAtExit remove_at_exit{stale, "shopctl run"};
  std::shared_ptr<scenario::RunLease> lease;  // with --target
  scenario::CommandLineVars vars;
  if (int rc = read_vars("shopctl run", o.vars, o.vars_file, vars); rc != kExitOk) return rc;
  auto loaded = load(o.paths, vars);
  stale->add_inputs(loaded.files);
  if (!loaded.ok()) {
    std::cerr << shown_diagnostics(loaded);
    std::cerr << "shopctl run: " << loaded.diagnostics.size()
              << " problem(s); nothing ran (exit 2)\n";
    return kExitInvalid;
  }
  // --seed: the seed of every scenario that names none, as if its file said it (checked by the
  // option's validator). A CI job can then pin or vary the sequence of probabilistic faults
  // and retry jitter without editing the files; a scenario's own `seed:` still wins.
  if (!o.seed.empty()) {
    std::uint64_t seed = 0;
    std::from_chars(o.seed.data(), o.seed.data() + o.seed.size(), seed);
    for (auto& each : loaded.scenarios) {
      if (!each.seed) each.seed = seed;
    }
  }
  if (!o.target.empty() && o.admin_token.empty()) {
    std::cerr << "shopctl run: --target needs --admin-token (printed by shopctl serve)\n";
    return kExitUsage;
  }
  const char* env_token = std::getenv("SHOPCTL_ADMIN_TOKEN");  // set for the shell: no note
  if (o.target.empty() && wait_for_target->count() > 0) {
    std::cerr << "shopctl run: note: --wait-for-target is for --target; each scenario runs on a "
                 "shop of its own here, with nothing to wait for\n";
  }
  if (o.target.empty() && !o.admin_token.empty() && !(env_token && o.admin_token == env_token)) {
    std::cerr << "shopctl run: note: --admin-token is for --target; each scenario runs on a "
                 "shop of its own here, and the token is not used\n";
  }
  scenario::RunOptions options;
  options.jobs = o.jobs;
  if (o.target.empty()) {
    // Each scenario's shop needs files: more at once than the open-file limit allows failed
    // them with EMFILE. Said when it lowers what was asked or the default (the cores).
    const unsigned wanted = o.jobs ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
    const unsigned allowed = scenario::in_process_jobs_allowed();
    if (const auto files = http::raise_open_file_limit();
        files != 0 && files < scenario::kFilesPerShop + 64) {
      // Not even one shop fits: said as a warning, not as "allows about 1" (an outside probe).
      std::cerr << "shopctl run: warning: the open-file limit (ulimit -n " << files
                << ") is below what one in-process shop needs (about " << scenario::kFilesPerShop
                << " files, and the runner's own): scenarios may fail for want of files (exit 3); "
                   "raise it\n";
    } else if (wanted > allowed && loaded.scenarios.size() > allowed) {
      std::cerr << "shopctl run: note: running " << allowed << " scenario(s) at once, not "
                << wanted << ": the open-file limit (ulimit -n) allows about " << allowed
                << " in-process shops of " << scenario::kFilesPerShop << " files each\n";
    } else if (const unsigned cap = scenario::in_process_jobs_cap();
               wanted > cap && loaded.scenarios.size() > cap) {
      std::cerr << "shopctl run: note: running " << cap << " scenario(s) at once, not " << wanted
                << ": twice the " << cap / 2
                << " core(s), each scenario on an in-process shop of its own; more share the CPU "
                   "so thinly that latency expectations fail for want of it\n";
    }
  }
  options.tags = o.tags;
  options.skip_tags = o.skip_tags;
  // Bad tags, or tags that leave nothing to run: judged as the C++ API judges them.
  if (auto refusal = scenario::run_refusal(loaded.scenarios, options)) {
    std::cerr << "shopctl run: " << refusal->message << ": nothing ran (exit " << refusal->exit_code
              << ")" << (refusal->detail.empty() ? "" : "; " + refusal->detail) << "\n";
    return refusal->exit_code;
  }
  options.vars = vars;
  options.fail_fast = o.fail_fast;
  options.validate_schema = o.validate_schema;
  if (!o.target.empty()) {
    options.target = o.target;
    options.admin_token = o.admin_token;
    // Stopped by SIGINT or SIGTERM, the run puts back the shop as it found it, as the end of a
    // run does: faults, stopped services, prices, breakers and config (an interrupted run left
    // a stopped payment and a 1 s token lifetime behind, and said only "a fault may still be
    // in place"). Only once the run has recorded its own baseline: before that it changed
    // nothing, and a reset would restore an older run's baseline over the operator's changes.
    auto recorded = std::make_shared<std::atomic<bool>>(false);
    options.on_baseline_recorded = [recorded] { recorded->store(true); };
    lease =
        std::make_shared<scenario::RunLease>(o.target, o.admin_token, "shopctl run", "shopctl run");
    options.lease_holder = lease->holder();
    set_interrupt_cleanup(
        [recorded, lease, stale, target = o.target, token = o.admin_token]() -> std::string {
          // After the reset, whatever it says, within what is left of the reset's 5 s: a shop
          // that did not answer the reset made the release wait 5 s more, 10 s in all where the
          // docs say 5 (an outside probe). Unreleased, the lease runs out within 30 s.
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
          struct Release {
            scenario::RunLease& lease;
            std::chrono::steady_clock::time_point deadline;
            ~Release() {
              lease.release(std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now()));
            }
          } released{*lease, deadline};
          const std::string removed = stale->remove();
          const std::string also = removed.empty() ? "" : "; " + removed;
          if (!recorded->load()) return "the target was not changed yet" + also;
          // The run ended and let the lease go: the shop was put back, and may be another run's.
          if (!lease->held()) return "the run had put the target back already" + also;
          try {
            platform::AdminClient admin(target, token, std::chrono::seconds(5));
            admin.set_lease_holder(lease->holder());  // refused if another run took the shop
            // The run ends here: the shop's baseline is no longer in use (docs/scenarios.md,
            // "The baseline").
            const auto answer =
                admin.send("POST", "/_admin/reset", nlohmann::json{{"end_of_run", true}});
            if (answer.ok())
              return "the target's faults, services, prices, breakers and config were put back as "
                     "the run found them (its clock stays where the run moved it)" +
                     also;
            return "the target could not be put back (POST /_admin/reset answered " +
                   std::to_string(answer.status) + " " + answer.error_message() +
                   "): check shopctl fault list and the console" + also;
          } catch (const std::exception& e) {
            return std::string("the target could not be put back (") + e.what() +
                   "): check shopctl fault list and the console" + also;
          }
        });
    // A running shop takes only part of a `config:` (shop/config.hpp: runtime_config_refusals);
    // a scenario with any other key is refused before anything runs, naming the key.
    auto refusals = scenario::target_config_refusals(loaded.scenarios, options);
    for (const auto& d : refusals) {
      std::cerr << platform::terminal_text(d.file, true) << ":" << d.line << ":" << d.column
                << ": error: " << d.message
                << " (run it without --target, or skip it with --skip-tags)\n";
    }
    if (!refusals.empty()) {
      std::cerr << "shopctl run: nothing ran (exit 2)\n";
      return kExitInvalid;
    }
    // A refused admin token is the caller's to fix: exit 1, as for fault and graph, found
    // before anything runs (it was every scenario's error, exit 3). A shop that cannot be
    // reached is said once, exit 3, before anything runs (it was one error per scenario,
    // each at file:1:1).
    try {
      platform::AdminClient admin(o.target, o.admin_token);
      // What the runner asks first of the shop (ShopDriver::discover): a shopctl gateway lists
      // its services. Anything else (another web server, a service's own port) was found by
      // each scenario in turn, each failing with "wrong --admin-token?".
      const auto answer = admin.send("GET", "/_admin/services");
      if (answer.status == 401 || answer.status == 403) {
        std::cerr << "shopctl run: " << o.target << " refused --admin-token (" << answer.status
                  << " " << answer.error_message() << "): nothing ran (exit 1)\n";
        return kExitUsage;
      }
      if (answer.status != 200 || !answer.body.is_object() || !answer.body.contains("items") ||
          !answer.body.at("items").is_array()) {
        std::cerr << "shopctl run: " << o.target << " is not a shopctl shop's gateway: GET "
                  << "/_admin/services answered " << answer.status
                  << " (is this a shopctl shop? --target takes the gateway's URL): "
                  << answer.error_message() << ": nothing ran (exit 3)\n";
        return kExitShop;
      }
      // The admin plane of a process of a split shop lists the shop's services too, but
      // serves no /api/: every scenario then failed with 404 route_not_found (exit 4; an
      // outside probe gave the admin URL that `serve --processes` prints).
      std::string gateway_url;
      bool an_admin_plane = false;
      for (const auto& item : answer.body.at("items")) {
        if (!item.is_object()) continue;
        if (item.value("name", nlohmann::json()) == "gateway" &&
            item.value("url", nlohmann::json()).is_string())
          gateway_url = item["url"].get<std::string>();
        if (item.value("admin", nlohmann::json()) == o.target) an_admin_plane = true;
      }
      if (an_admin_plane && !gateway_url.empty() && gateway_url != o.target) {
        std::cerr << "shopctl run: " << o.target
                  << " is the admin plane of a process of the shop, not its gateway: --target "
                     "takes the gateway's URL ("
                  << gateway_url << "): nothing ran (exit 3)\n";
        return kExitShop;
      }
    } catch (const http::TransportError& e) {
      std::cerr << "shopctl run: cannot reach " << o.target << " (" << e.what()
                << "): nothing ran (exit 3)\n";
      return kExitShop;
    } catch (const std::invalid_argument& e) {
      std::cerr << "shopctl run: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  // A report may not overwrite a scenario, the vars file or another report (exit 1).
  {
    std::vector<platform::NamedPath> inputs;
    for (const auto& file : loaded.files) inputs.push_back({"the scenario file", file});
    inputs.push_back({"--vars-file", o.vars_file});
    if (auto conflict = platform::output_conflict(
            inputs, {{"--junit", o.junit}, {"--json", o.json}, {"--html", o.html}})) {
      std::cerr << "shopctl run: " << *conflict << ": nothing ran (exit 1)\n";
      return kExitUsage;
    }
  }
  // A report that cannot be written fails at once, not after the run (exit 1, as for load).
  std::vector<std::filesystem::path> made_folders;
  if (const auto report = platform::first_unwritable({&o.junit, &o.json, &o.html}, &made_folders)) {
    std::cerr << "shopctl run: cannot write " << *report << ": nothing ran (exit 1)\n";
    platform::remove_made_folders(made_folders);  // made for the reports before it
    return kExitUsage;
  }
  // Last before anything changes: another run on the same shop would reset it under this one.
  if (lease) {
    if (auto refused = lease->acquire(*wait_for_target); !refused.empty()) {
      platform::remove_made_folders(made_folders);  // a refused run leaves nothing behind
      std::cerr << "shopctl run: " << o.target << " is in use: " << refused;
      if (wait_for_target->count() > 0)
        std::cerr << ": nothing ran after waiting " << o.wait_for_target
                  << " (exit 3); a longer --wait-for-target waits longer\n";
      else
        std::cerr << ": nothing ran (exit 3); wait for it with --wait-for-target DURATION\n";
      return kExitShop;
    }
  }
  options.verbose = o.verbose;
  scenario::ConsoleStyle style;
  style.color = o.color == "always" || (o.color == "auto" && color_terminal(STDOUT_FILENO));

  // With --tags or --skip-tags, how many of them run: the header said 54 where 18 ran.
  std::string selection;
  if (!options.tags.empty() || !options.skip_tags.empty()) {
    const auto chosen = static_cast<std::size_t>(
        std::count_if(loaded.scenarios.begin(), loaded.scenarios.end(),
                      [&](const auto& s) { return scenario::selected_by_tags(s, options); }));
    selection = "; the tags select " + std::to_string(chosen) + ", " +
                std::to_string(loaded.scenarios.size() - chosen) + " skipped";
  }
  std::printf(
      "shopctl run: %zu scenario(s) from %zu file(s)%s%s\n", loaded.scenarios.size(),
      loaded.files.size(), selection.c_str(),
      options.target ? (" against " + *options.target).c_str() : ", a fresh in-process shop each");
  std::fflush(stdout);
  auto summary = scenario::run_scenarios(
      loaded.scenarios, options, [&](const scenario::ScenarioResult& r, int done, int total) {
        std::fputs(scenario::progress_line(r, done, total, style).c_str(), stdout);
        std::fflush(stdout);
      });
  if (lease) lease->release();  // the runner has put the shop back
  // The target is put back as the run found it, but for its clock, which cannot go back: say
  // so when the scenarios moved it, since tokens and unpaid orders from before may have
  // expired (an outside probe's own pending order became payment_expired without a word).
  if (summary.target_clock_before_ms && summary.target_clock_after_ms &&
      *summary.target_clock_after_ms > *summary.target_clock_before_ms) {
    using std::chrono::milliseconds;
    std::cerr << "shopctl run: note: the scenarios moved the target's clock "
              << platform::format_duration(
                     milliseconds(*summary.target_clock_after_ms - *summary.target_clock_before_ms))
              << " ahead ("
              << platform::format_duration(milliseconds(*summary.target_clock_after_ms))
              << " ahead of real time in all); a shop's clock cannot go back, so tokens and "
                 "unpaid orders from before the run may have expired\n";
  }

  // All at once, this run's or (interrupted meanwhile) none (StaleReports::write).
  const auto unwritten = stale->write(
      {{o.junit, o.junit.empty() ? "" : scenario::junit_xml(summary)},
       {o.json,
        o.json.empty() ? "" : platform::json_text(scenario::json_report(summary), 2) + "\n"},
       {o.html,
        o.html.empty() ? "" : observe_tools::run_html_report(scenario::json_report(summary))}});
  for (const auto& why : unwritten) std::cerr << "shopctl run: " << why << "\n";
  const bool written = unwritten.empty();

  // Last, after every note and report error: "scenarios: N passed, M failed" is the line CI
  // tools read (docs/ci.md). The clock note came after it.
  std::cerr.flush();
  std::fputs(scenario::console_summary(summary, style).c_str(), stdout);
  std::fflush(stdout);

  // A CI gate must not pass without its report.
  if (!written) return kExitUsage;
  // A failed expectation wins over a timeout or a shop's error: a CI job that retries exit 3
  // (infrastructure) must not retry away a real failure beside it (docs/ci.md).
  if (summary.failed() > 0) return kExitExpectation;
  if (summary.errors() > 0) return kExitShop;
  return kExitOk;
}

}  // namespace

void register_run(CLI::App& app) {
  auto o = std::make_shared<RunCliOptions>();
  auto* cmd =
      app.add_subcommand("run", "Run scenario files against a fresh shop each (or a running one)");
  cmd->footer(
      "Exit codes: 0 all passed, 1 bad command line, a report (--junit, --json, --html) that\n"
      "            cannot be written, is '-' or the file standard output or error goes to\n"
      "            (reports go to files: standard output is the console's) or would\n"
      "            overwrite an input or another report, or a\n"
      "            refused --admin-token, 2 a file is invalid (nothing ran), 3 the shop could\n"
      "            not start or a scenario passed its timeout, 4 an expectation failed (4\n"
      "            wins over 3 when both happen),\n"
      "            130/143/129/131 stopped by SIGINT/SIGTERM/SIGHUP/SIGQUIT (the shops'\n"
      "            temporary folders are removed; no report is written). A run that writes\n"
      "            no report removes one an earlier run left at the same path.\n\n"
      "Examples:\n"
      "  shopctl run scenarios/\n"
      "  shopctl run scenarios/resilience --jobs 1 --verbose\n"
      "  shopctl run scenarios/ --junit reports/junit.xml --json reports/run.json\n"
      "  shopctl run scenarios/ --html reports/scenarios.html\n"
      "  shopctl run scenarios/ --tags checkout --skip-tags slow\n"
      "  shopctl run scenarios/ --var card=4242424242424242 --vars-file ci.yaml --fail-fast\n"
      "  shopctl run scenarios/flow --target http://127.0.0.1:8080 --admin-token adm_...\n");
  cmd->add_option("paths", o->paths, "Scenario files or folders (searched for *.yaml, *.yml)")
      ->required();
  cmd->add_option("-j,--jobs", o->jobs,
                  "Scenarios run in parallel (default and 0: the number of cores; with --target, "
                  "those that change shared state run alone)")
      // Said as --users says it: "Could not convert: --jobs = -1" was CLI11's own.
      ->check(CLI::Range(0u, 100000u));
  cmd->add_option(
      "--target", o->target,
      "Run against a running shop: its gateway URL, or a deployment file (docs/deploy.md)");
  cmd->add_option("--admin-token", o->admin_token, "The running shop's admin token (with --target)")
      ->envname("SHOPCTL_ADMIN_TOKEN");
  cmd->add_option("--wait-for-target", o->wait_for_target,
                  "With --target: how long to wait while another run uses the shop (default 0s: "
                  "exit 3 at once)");
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report (one testcase per scenario)");
  cmd->add_option("--json", o->json,
                  "Write a JSON report (steps, requests, calls, breaker transitions)");
  cmd->add_option(
      "--html", o->html,
      "Write a self-contained HTML report (steps, timings, failures, each scenario's call graph)");
  cmd->add_option("--tags", o->tags, "Run only scenarios with one of these tags")->delimiter(',');
  cmd->add_option("--skip-tags", o->skip_tags, "Skip scenarios with any of these tags")
      ->delimiter(',');
  cmd->add_flag("-v,--verbose", o->verbose, "Print every step as it runs");
  cmd->add_option("--var", o->vars,
                  "Set ${NAME} for every scenario: NAME=VALUE (repeatable; a scenario's own vars: "
                  "cannot override it)");
  cmd->add_option("--vars-file", o->vars_file,
                  "YAML map of variables (NAME: VALUE); --var overrides it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", o->seed,
                  "Seed of every scenario that sets no seed (0 to 9223372036854775807): another "
                  "sequence of probabilistic faults and retry jitter")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            std::int64_t value = 0;
            const auto [end, error] =
                std::from_chars(text.data(), text.data() + text.size(), value);
            if (error != std::errc() || end != text.data() + text.size() || value < 0)
              return "must be a whole number from 0 to 9223372036854775807, not '" +
                     platform::terminal_text(text, true) + "'";
            return {};
          },
          "N"));
  cmd->add_flag("--fail-fast", o->fail_fast,
                "Start no scenario after the first that fails (the rest are reported skipped)");
  cmd->add_flag("--validate-schema", o->validate_schema,
                "Check every gateway answer's JSON body against docs/openapi.yaml (as expect: "
                "{schema: true} does)");
  cmd->add_option("--color", o->color,
                  "auto (colours on a terminal, unless NO_COLOR is set or TERM=dumb), always or "
                  "never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->callback([o] { set_exit_code(run_run(*o)); });

  auto paths = std::make_shared<std::vector<std::string>>();
  auto* validate = app.add_subcommand("validate", "Check scenario files without running anything");
  validate->footer(
      "Exit codes: 0 valid, 1 bad command line, 2 a file is invalid.\n\nExample:\n  shopctl "
      "validate scenarios/\n");
  validate->add_option("paths", *paths, "Scenario files or folders")->required();
  auto pairs = std::make_shared<std::vector<std::string>>();
  auto vars_file = std::make_shared<std::string>();
  validate->add_option("--var", *pairs,
                       "A variable the files may use: NAME=VALUE (repeatable), as run takes it");
  validate->add_option("--vars-file", *vars_file, "YAML map of variables, as run takes it")
      ->check(CLI::ExistingFile);
  validate->callback(
      [paths, pairs, vars_file] { set_exit_code(run_validate(*paths, *pairs, *vars_file)); });
}

}  // namespace shopctl::cli
