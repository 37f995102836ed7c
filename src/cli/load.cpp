// shopctl load: virtual users against the shop's gateway, with thresholds for CI.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "load/engine.hpp"
#include "load/report.hpp"
#include "observe_tools/fault_spec.hpp"
#include "observe_tools/html_report.hpp"
#include "platform/duration.hpp"
#include "platform/http/client.hpp"
#include "platform/http/server.hpp"
#include "platform/input_file.hpp"
#include "platform/json_text.hpp"
#include "platform/output_file.hpp"
#include "platform/security/password.hpp"
#include "platform/text_rules.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/parser.hpp"
#include "scenario/runner.hpp"
#include "shop/config.hpp"
#include "shop/shop.hpp"

namespace shopctl::cli {

namespace {

struct LoadCliOptions {
  std::string target;
  std::string admin_token;
  std::string config_file;
  unsigned users = 0;
  double rate = 0;
  std::string duration = "10s";
  std::string think = "0s";
  std::string timeout = "10s";
  std::string mix = "browse=60,product=20,cart=10,checkout=10";
  std::uint64_t seed = 1;
  unsigned threads = 1;
  unsigned shop_threads = 0;
  std::vector<std::string> thresholds;
  std::vector<std::string> faults;
  std::string faults_file;
  std::string fault_at = "0s";
  std::string fault_for = "0s";
  std::string card = "4242424242424242";
  std::string json_file;
  std::string html_file;
  bool quiet = false;
  std::vector<std::string> vars;  // NAME=VALUE
  std::string vars_file;
};

// What --faults FILE brings: faults in the wire shape of POST /_admin/faults and, for a
// scenario file, its `config:` for the in-process shop.
struct FaultFile {
  std::vector<nlohmann::json> faults;
  YAML::Node config;  // Null when absent
};

// Diagnostics of a broken file, already formatted with file:line:col and a caret.
struct InvalidFile : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// FILE is either a scenario (every `fault:` step and step-scoped `faults:` of its setup and
// steps are switched on together; its `config:` sets up the in-process shop) or a plain YAML
// list of faults in the wire shape (or a map with such a `faults:` list).
FaultFile faults_from_file(const std::string& file, const scenario::CommandLineVars& vars) {
  YAML::Node root;
  try {
    root = platform::load_yaml_document(platform::read_input_file(file));
  } catch (const platform::InputFileError& e) {
    throw InvalidFile(file + ": error: " + e.what());
  } catch (const YAML::Exception& e) {
    throw InvalidFile(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": error: " + e.msg);
  }
  FaultFile out;
  if (root.IsMap() && (root["steps"] || root["version"])) {
    scenario::ParseOptions options;
    options.validate_config = scenario::validate_shop_config;
    for (const auto& [name, _] : vars) options.known_vars.insert(name);
    auto parsed = scenario::parse_scenario_file(file, options);
    scenario::Variables variables;
    for (const auto& [name, value] : vars) variables.set(name, value);
    if (!parsed.ok()) throw InvalidFile(parsed.format_diagnostics());
    const auto& sc = *parsed.scenario;
    auto take = [&](const scenario::FaultSpec& f) {
      auto j = f.to_json();
      // ${...} from --var / --vars-file; nothing else is defined while load runs.
      try {
        j = scenario::expand(j, variables);
      } catch (const std::exception& e) {
        throw InvalidFile(
            file + ":" + std::to_string(f.loc.line) + ":" + std::to_string(f.loc.column) +
            ": error: a fault for shopctl load can use only --var variables: " + e.what());
      }
      out.faults.push_back(std::move(j));
    };
    for (const auto* steps : {&sc.setup, &sc.steps})
      for (const auto& step : *steps) {
        if (const auto* a = std::get_if<scenario::FaultAction>(&step.action)) take(a->fault);
        for (const auto& f : step.faults) take(f);
      }
    if (out.faults.empty())
      throw InvalidFile(file + ": error: the scenario switches no fault on (no `fault:` step)");
    if (sc.has_config()) out.config = sc.config;
    return out;
  }
  if (root.IsMap() && root["faults"]) root = root["faults"];
  if (!root.IsSequence())
    throw InvalidFile(
        file + ": error: expected a scenario, a list of faults or a map with a 'faults' list");
  for (const auto& node : root) {
    try {
      out.faults.push_back(
          observe_tools::fault_json_from_text(platform::json_text(platform::yaml_to_json(node))));
    } catch (const std::invalid_argument& e) {
      throw InvalidFile(file + ":" + std::to_string(node.Mark().line + 1) + ":" +
                        std::to_string(node.Mark().column + 1) + ": error: " + e.what());
    }
  }
  // As for a scenario without a fault step: --faults that switches nothing on is a mistake
  // (an empty list, or a load report's `"faults": []`), not a run without faults.
  if (out.faults.empty()) throw InvalidFile(file + ": error: the list holds no fault");
  return out;
}

int run_load_command(const LoadCliOptions& given) {
  LoadCliOptions o = given;
  exit_cleanly_on_interrupt(
      "shopctl load", o.target.empty()
                          ? "no report was written"
                          : "no report was written; the --fault faults may still be in place on "
                            "the target (shopctl fault list)");
  if (int rc = resolve_target("shopctl load", o.target, o.admin_token); rc != kExitOk) return rc;
  load::LoadOptions options;
  std::vector<load::Threshold> thresholds;
  try {
    options.mix = load::parse_mix(o.mix);
    for (const auto& t : o.thresholds) thresholds.push_back(load::parse_threshold(t));
    // A day at most (load::kMaxDuration), each: a deadline is computed from now, and 2562047h
    // overflowed it (the run ended at once with nothing done); --think and --timeout took
    // 2000000h.
    options.duration = duration_option("--duration", o.duration, "24h");
    if (options.duration.count() <= 0) throw std::invalid_argument("--duration must be above 0");
    try {
      load::check_card(o.card);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("--") + e.what());  // "--card: ..."
    }
    options.think = duration_option("--think", o.think, "24h");
    options.timeout = duration_option("--timeout", o.timeout, "24h");
    if (options.timeout.count() <= 0) throw std::invalid_argument("--timeout must be above 0");
    options.fault_at = duration_option("--fault-at", o.fault_at, "24h");
    options.fault_for = duration_option("--fault-for", o.fault_for, "24h");
    if (options.fault_at.count() > 0 && options.fault_at >= options.duration)
      throw std::invalid_argument("--fault-at " + o.fault_at +
                                  " is not before the end of the run (--duration " + o.duration +
                                  "): the faults would never switch on");
    for (const auto& f : o.faults)
      for (auto& one : observe_tools::faults_json_from_text(f, "--fault"))
        options.faults.push_back(std::move(one));
    if (!o.target.empty() && o.target.rfind("http://", 0) != 0)
      throw std::invalid_argument(
          "--target must be an http:// URL like http://127.0.0.1:8080, got '" + o.target + "'");
    if (!o.target.empty() && !o.config_file.empty())
      throw std::invalid_argument(
          "--config sets up the in-process shop; it cannot go with --target");
    if (!o.target.empty() && !options.faults.empty() && o.admin_token.empty())
      throw std::invalid_argument("faults on a running shop need --admin-token");
    // Options that would do nothing were accepted without a word (an outside probe).
    load::check_thresholds_fit(thresholds, o.rate > 0);
    if (o.rate > 0 && options.think.count() > 0)
      throw std::invalid_argument(
          "--think is a closed loop's pause between a user's journeys; with --rate (an open "
          "loop) journeys start on a schedule: give one or the other");
    if (!o.target.empty() && o.shop_threads != 0)
      throw std::invalid_argument(
          "--shop-threads sets up the in-process shop; it cannot go with --target");
    if ((options.fault_at.count() > 0 || options.fault_for.count() > 0) && options.faults.empty() &&
        o.faults_file.empty())
      throw std::invalid_argument(
          "--fault-at and --fault-for time the faults of --fault or --faults, and none is given");
  } catch (const std::invalid_argument& e) {
    std::cerr << "shopctl load: " << e.what() << "\n";
    return kExitUsage;
  }
  // The reports: files (not "-"), not over an input or each other, and writable, before the
  // run (exit 1).
  if (refuse_report_to_stdout("shopctl load", {{"--json", o.json_file, "reports/load.json"},
                                               {"--html", o.html_file, "reports/load.html"}}))
    return kExitUsage;
  if (auto conflict = platform::output_conflict(
          {{"--config", o.config_file}, {"--faults", o.faults_file}, {"--vars-file", o.vars_file}},
          {{"--json", o.json_file}, {"--html", o.html_file}})) {
    std::cerr << "shopctl load: " << *conflict << ": nothing ran (exit 1)\n";
    return kExitUsage;
  }
  if (const auto report = platform::first_unwritable({&o.json_file, &o.html_file})) {
    std::cerr << "shopctl load: cannot write " << *report << ": nothing ran (exit 1)\n";
    return kExitUsage;
  }
  // From here an exit that writes no report removes what an earlier run left there.
  auto stale = std::make_shared<StaleReports>(
      std::vector<std::string>{o.json_file, o.html_file},
      std::vector<std::string>{o.config_file, o.faults_file, o.vars_file});
  set_interrupt_cleanup([stale] { return stale->remove(); });
  set_interrupt_reports([stale] { return stale->written(); });
  const StaleReports::RemoveAtExit remove_at_exit{stale, "shopctl load"};
  FaultFile fault_file;
  if (!o.faults_file.empty()) {
    try {
      fault_file =
          faults_from_file(o.faults_file, scenario::command_line_vars(o.vars, o.vars_file));
    } catch (const InvalidFile& e) {
      std::cerr << e.what() << (std::string_view(e.what()).ends_with("\n") ? "" : "\n");
      return kExitInvalid;
    } catch (const scenario::VarsFileError& e) {  // an invalid --vars-file, as for run
      std::cerr << "shopctl load: " << e.what() << "\n";
      return kExitInvalid;
    } catch (const std::invalid_argument& e) {  // a bad --var
      std::cerr << "shopctl load: " << e.what() << "\n";
      return kExitUsage;
    }
    for (auto& f : fault_file.faults) options.faults.push_back(std::move(f));
    if (!o.target.empty() && o.admin_token.empty()) {
      std::cerr << "shopctl load: faults on a running shop need --admin-token\n";
      return kExitUsage;
    }
    if (!o.target.empty() && fault_file.config.IsDefined() && !fault_file.config.IsNull())
      std::cerr << "shopctl load: note: " << o.faults_file
                << "'s config: sets up an in-process shop; the running shop keeps its own\n";
  }
  options.rate = o.rate;
  options.users = o.users != 0 ? o.users : (o.rate > 0 ? 64u : 16u);
  options.seed = o.seed;
  options.threads = o.threads;
  options.card = o.card;
  {
    // Each user holds connections, and in-process the shop holds the other ends and its own
    // calls onward: about 10 files a user (1,065 measured for 100). Past the open-file limit
    // the run went on with most journeys failing on connection errors and no word why.
    const std::uint64_t files = http::raise_open_file_limit();
    const std::uint64_t need = o.target.empty() ? std::uint64_t{options.users} * 10 + 128
                                                : std::uint64_t{options.users} * 2 + 64;
    if (files != 0 && need > files) {
      std::cerr << "shopctl load: note: " << options.users << " users need about " << need
                << " open files, more than the limit (" << files
                << "): expect connection errors; raise it with ulimit -n, or use fewer users\n";
    }
  }

  std::unique_ptr<shop::Shop> shop;
  if (o.target.empty()) {
    shop::ShopConfig config;
    // Users sign in once, before the measured window: hashing at libsodium's minimum keeps
    // setup short and does not touch what is measured.
    config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
    config.seed = o.seed;
    // Virtual users may walk away from orders by the plan (abandon): no limit on a user's
    // unpaid orders, unless a config sets one (docs/configuration.md).
    config.order_max_unpaid_orders = 0;
    try {
      if (!o.config_file.empty()) config = shop::load_config_file(o.config_file, config);
      if (fault_file.config.IsDefined() && !fault_file.config.IsNull()) {
        auto issues = shop::apply_config(fault_file.config, config);
        if (!issues.empty())
          throw shop::ConfigFileError(o.faults_file, std::move(issues),
                                      platform::read_input_file(o.faults_file));
      }
    } catch (const shop::ConfigFileError& e) {
      // As serve, chaos and validate show them: every problem, in the order of the file, each
      // with its line and a caret.
      std::cerr << format_config_error(e) << "shopctl load: " << e.issues().size()
                << " problem(s) in " << e.file() << "\n";
      return kExitInvalid;
    } catch (const std::exception& e) {
      std::cerr << "shopctl load: " << e.what() << "\n";
      return kExitInvalid;
    }
    config.data_dir.clear();  // a temporary folder, removed at exit
    shop::ShopOptions shop_options;
    shop_options.threads = o.shop_threads;
    shop_options.log_level = platform::LogLevel::error;
    try {
      shop = std::make_unique<shop::Shop>(config, shop_options);
      shop->start();
    } catch (const std::exception& e) {
      std::cerr << "shopctl load: the shop could not start: " << e.what() << "\n";
      return kExitShop;
    }
    options.gateway_url = shop->url("gateway");
    options.admin_token = shop->admin_token();
    options.pooled_idle_time = http::pooled_idle_limit(config.http_idle_timeout);
  } else {
    options.gateway_url = o.target;
    options.admin_token = o.admin_token;
    while (!options.gateway_url.empty() && options.gateway_url.back() == '/')
      options.gateway_url.pop_back();
  }

  const bool tty = redrawable_terminal(STDERR_FILENO);
  if (!o.quiet) {
    std::fprintf(stderr, "shopctl load: %s loop, %u user%s, %s, mix %s against %s%s\n",
                 options.rate > 0 ? "open" : "closed", options.users, options.users == 1 ? "" : "s",
                 o.duration.c_str(), options.mix.describe().c_str(), options.gateway_url.c_str(),
                 shop ? " (in-process shop)" : "");
    options.on_progress = [tty](const load::Progress& p) {
      auto line = load::progress_line(p);
      if (tty)
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
      else
        std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
  }

  load::LoadResult result;
  try {
    result = load::run_load(options);
  } catch (const load::SetupError& e) {
    if (tty && !o.quiet) std::fprintf(stderr, "\n");
    std::cerr << "shopctl load: " << e.what() << "\n";
    return kExitShop;
  } catch (const std::invalid_argument& e) {
    if (tty && !o.quiet) std::fprintf(stderr, "\n");
    std::cerr << "shopctl load: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    if (tty && !o.quiet) std::fprintf(stderr, "\n");
    std::cerr << "shopctl load: " << e.what() << "\n";
    return kExitShop;
  }
  if (tty && !o.quiet) std::fprintf(stderr, "\n");
  result.shop_in_process = shop != nullptr;
  if (shop) shop->shutdown(std::chrono::milliseconds(2000));

  auto verdicts = load::check_thresholds(result, thresholds);
  // The report quotes the shop's answers (error codes): shown, never obeyed by the terminal.
  std::cout << platform::terminal_text(load::text_report(result, verdicts), false);
  std::cout.flush();
  // All at once, this run's or (interrupted meanwhile) none (StaleReports::write).
  const auto unwritten = stale->write(
      {{o.json_file, o.json_file.empty()
                         ? ""
                         : platform::json_text(load::json_report(result, verdicts), 2) + "\n"},
       {o.html_file, o.html_file.empty()
                         ? ""
                         : observe_tools::load_html_report(load::json_report(result, verdicts))}});
  for (const auto& why : unwritten) std::cerr << "shopctl load: " << why << "\n";
  if (!unwritten.empty()) return kExitUsage;
  for (const auto& v : verdicts)
    if (!v.outcome.passed) return kExitExpectation;
  return kExitOk;
}

}  // namespace

void register_load(CLI::App& app) {
  auto o = std::make_shared<LoadCliOptions>();
  auto* cmd =
      app.add_subcommand("load", "Virtual users against the shop's gateway, with thresholds");
  cmd->footer(
      "Journeys: browse (a page of products), product (one product), cart (add, read, remove),\n"
      "checkout (add, POST /api/orders, pay at pay_url, poll the order until PAID).\n"
      "Without --target an in-process shop is started (faults then need no token).\n\n"
      "Exit codes: 0 done and every threshold met, 1 bad command line (or a report that\n"
      "            cannot be written or would overwrite an input), 2 an invalid --config or\n"
      "            --faults file, 3 the shop could not start or be reached, or users could\n"
      "            not sign in, 4 a threshold was breached, 130/143/129/131 stopped by\n"
      "            SIGINT/SIGTERM/SIGHUP/SIGQUIT\n"
      "            (the in-process shop's temporary folder is removed; no report).\n"
      "            A run that writes no report removes one an earlier run left.\n\n"
      "Examples:\n"
      "  shopctl load --users 32 --duration 10s\n"
      "  shopctl load --rate 200 --duration 30s --mix checkout=1 --threshold 'checkout.p99<20ms'\n"
      "  shopctl load --users 16 --threshold 'p99<50ms' --threshold 'errors<0.1%' --json "
      "load.json\n"
      "  shopctl load --users 16 --duration 20s --html reports/load.html\n"
      "  shopctl load --users 16 --duration 20s --fault-at 5s --fault-for 5s \\\n"
      "      --fault "
      "'{\"target\":\"catalog\",\"type\":\"delay\",\"delay_ms\":2000,\"from\":\"order\"}'\n"
      "  shopctl load --users 16 --faults scenarios/resilience/catalog-hangs-breaker-opens.yaml\n"
      "  shopctl load --target http://127.0.0.1:8080 --admin-token adm_... --users 8\n");
  cmd->add_option(
      "--target", o->target,
      "A running shop's gateway URL, or a deployment file (default: start one in-process)");
  cmd->add_option("--admin-token", o->admin_token,
                  "The running shop's admin token (for faults and breaker transitions)")
      ->envname("SHOPCTL_ADMIN_TOKEN");
  cmd->add_option("--config", o->config_file, "YAML settings for the in-process shop")
      ->check(CLI::ExistingFile);
  // Given, each must mean what it says: `--users 0` ran 16 users, `--rate nan` a closed loop,
  // and `--rate 0` was refused with a 300-digit range.
  cmd->add_option("--users", o->users,
                  "Virtual users (closed loop: all busy; open loop: the pool; default 16 / 64)")
      ->check(CLI::Range(1u, load::kMaxUsers));
  cmd->add_option("--rate", o->rate,
                  "Open loop: journeys started per second, whatever the shop's speed")
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            double rate = 0;
            try {
              std::size_t used = 0;
              rate = std::stod(text, &used);
              if (used != text.size()) return "takes a number, not '" + text + "'";
            } catch (const std::out_of_range&) {
              rate = -1;  // too small or too large for a double: the range below says so
            } catch (const std::exception&) {
              return "takes a number, not '" + text + "'";
            }
            // At least one journey per 1000 s: a longer interval overflows the clock.
            if (!std::isfinite(rate) || rate < load::kMinRate || rate > load::kMaxRate)
              return "must be a number of journeys per second from 0.001 to 1000000, not '" + text +
                     "'";
            return {};
          },
          "POSITIVE"));
  cmd->add_option("--duration", o->duration, "How long to start journeys")->capture_default_str();
  cmd->add_option("--mix", o->mix, "Journey weights")->capture_default_str();
  cmd->add_option("--think", o->think, "Closed loop: a user's pause between journeys")
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "Time limit of one request")->capture_default_str();
  cmd->add_option("--threshold", o->thresholds,
                  "A pass condition: p50|p90|p99|max<DURATION, errors<N or N%, rps>N, "
                  "orders_per_second>N, dropped<N or N% (open loop); JOURNEY.p99<... for one "
                  "journey (repeatable)");
  // One value per --fault: CLI11 would otherwise split a value in [ ] at its commas.
  cmd->add_option("--fault", o->faults,
                  "A fault in the wire shape of POST /_admin/faults, as JSON, or a JSON list of "
                  "them (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--faults", o->faults_file,
                  "A scenario (its fault steps and config) or a YAML list of faults")
      ->check(CLI::ExistingFile);
  cmd->add_option("--var", o->vars,
                  "A variable the --faults scenario may use: NAME=VALUE (repeatable)");
  cmd->add_option("--vars-file", o->vars_file,
                  "YAML map of variables for the --faults scenario; --var overrides it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--fault-at", o->fault_at, "Switch the faults on this long after the start")
      ->capture_default_str();
  cmd->add_option("--fault-for", o->fault_for,
                  "Switch them off again after this long (0s: at the end)")
      ->capture_default_str();
  cmd->add_option("--card", o->card, "The card checkout pays with")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the users' choices (and of the in-process shop)")
      ->capture_default_str()
      ->check(CLI::Validator([](const std::string& text) { return seed_problem(text); }, "UINT64"));
  cmd->add_option("--threads", o->threads, "Threads of the load generator")
      ->capture_default_str()
      ->check(CLI::Range(1u, load::kMaxThreads));
  cmd->add_option("--shop-threads", o->shop_threads,
                  "Threads of the in-process shop (0: the number of cores, at most 4)")
      ->check(CLI::Range(0u, shop::kMaxThreads));
  cmd->add_option("--json", o->json_file, "Write the report as JSON to this file");
  cmd->add_option(
      "--html", o->html_file,
      "Write a self-contained HTML report (latency and throughput over time, faults, breakers)");
  cmd->add_flag("--quiet", o->quiet, "No progress lines");
  cmd->callback([o] { set_exit_code(run_load_command(*o)); });
}

}  // namespace shopctl::cli
