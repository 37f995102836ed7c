// shopctl chaos: Jepsen for this shop. Shoppers against a shop that a seeded schedule breaks;
// then healing and the money invariants, checked from the databases and the shoppers' record.
#include <sys/statvfs.h>

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "chaos/report.hpp"
#include "chaos/runner.hpp"
#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "platform/duration.hpp"
#include "platform/http/server.hpp"
#include "platform/json_text.hpp"
#include "platform/output_file.hpp"
#include "platform/store/database.hpp"
#include "platform/temp_folder.hpp"
#include "platform/text_rules.hpp"
#include "scenario/run_lease.hpp"
#include "shop/config.hpp"

namespace shopctl::cli {

namespace {

struct ChaosCliOptions {
  std::string duration = "30s";
  std::uint64_t seed = 1;
  bool crash = false;
  std::string target;
  std::string admin_token;
  bool heal_clock = false;
  std::string config_file;
  unsigned users = 12;
  std::string mix = "browse=10,product=5,cart=5,checkout=80";
  double abandon = 0.15, decline = 0.15, double_submit = 0.10;
  std::string timeout = "3s";
  std::string settle = "60s";
  bool no_service_crash = false;
  std::string data_dir;
  bool keep = false;
  std::string history_file;
  std::string json_file;
  std::string check_dir;
  bool print_schedule = false;
  bool quiet = false;
  // The options of a run that were given on the command line (filled by the command's
  // callback): --check runs nothing, and took them without a word (an outside probe).
  std::vector<std::string> run_options_given;
};

std::chrono::milliseconds millis_option(const std::string& name, const std::string& text,
                                        const std::string& longest = "") {
  const auto d = duration_option(name, text, longest);
  if (d.count() <= 0) throw std::invalid_argument(name + ": must be above 0, got '" + text + "'");
  // Chaos counts in whole milliseconds: 0.5ms would have become 0.
  if (d < std::chrono::milliseconds(1))
    throw std::invalid_argument(name + ": at least 1ms, got '" + text + "'");
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

void share_option(const std::string& name, double v) {
  if (!(v >= 0 && v <= 1)) throw std::invalid_argument(name + " must be between 0 and 1");
}

// SIGINT or SIGTERM stops the shop chaos started (a child, a temporary folder) before chaos
// exits with 128 + the signal: the child left the terminal's process group, so a Ctrl-C does
// not reach it. Construct before any thread starts: it blocks both signals for the watcher.
// A signal while the shop starts waits until it has started (or failed to): before, the folder
// being set up was left behind.
class InterruptWatch {
 public:
  InterruptWatch() {
    sigemptyset(&signals_);
    for (int sig : kStopSignals) sigaddset(&signals_, sig);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    std::thread([this] {
      int number = 0;
      if (sigwait(&signals_, &number) != 0) return;
      // Holds the lock to the end: the driving thread cannot finish the shop meanwhile.
      mutex_.lock();
      if (starting_) {
        pending_ = number;
        std::fprintf(stderr, "\nshopctl chaos: interrupted (%s): stopping once the shop is up\n",
                     signal_name(number).c_str());
        mutex_.unlock();
        return;
      }
      stop(number);
    }).detach();
  }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;
  ~InterruptWatch() = default;

  // Work done after the shop is stopped, before the exit (an earlier run's report removed);
  // returns a sentence for standard error, or "".
  void on_stop(std::function<std::string()> work) {
    std::lock_guard lock(mutex_);
    on_stop_ = std::move(work);
  }
  // The shop is being started: a signal now waits for watch().
  void starting() {
    std::lock_guard lock(mutex_);
    starting_ = true;
  }
  // The shop an interrupt stops; nullptr before chaos finishes it itself (or when it could
  // not start). A signal that came while it started stops it now.
  void watch(chaos::ShopDriver* shop) {
    std::unique_lock lock(mutex_);
    shop_ = shop;
    starting_ = false;
    if (pending_ != 0) stop(pending_);
  }

 private:
  // With mutex_ held; never returns.
  [[noreturn]] void stop(int number) {
    // The run's threads go on meanwhile and may fail as the shop goes away: they wait for this
    // thread's _Exit instead of aborting the process (exit -6 instead of 130, seen in CI).
    platform::ending_on_signal();
    std::fprintf(stderr, "\nshopctl chaos: interrupted (%s): stopping the shop\n",
                 signal_name(number).c_str());
    if (shop_ != nullptr) {
      const std::string put_back = shop_->interrupt();
      if (!put_back.empty()) std::fprintf(stderr, "shopctl chaos: %s\n", put_back.c_str());
    }
    if (on_stop_) {
      const std::string said = on_stop_();
      if (!said.empty()) std::fprintf(stderr, "shopctl chaos: note: %s\n", said.c_str());
    }
    std::_Exit(128 + number);
  }

  sigset_t signals_{};
  std::mutex mutex_;
  chaos::ShopDriver* shop_ = nullptr;
  std::function<std::string()> on_stop_;
  bool starting_ = false;
  int pending_ = 0;
};

// What the run was, for the JSON report: a failing CI artifact named no seed, and could not be
// run again without the history file (an outside probe).
nlohmann::json run_of(const ChaosCliOptions& o) {
  if (!o.check_dir.empty()) return {{"mode", "check"}, {"check_dir", o.check_dir}};
  nlohmann::json run = {{"mode", !o.target.empty() ? "target"
                                 : o.crash         ? "crash"
                                                   : "in-process"},
                        {"seed", o.seed},
                        {"duration", o.duration},
                        {"users", o.users},
                        {"mix", o.mix}};
  if (!o.target.empty()) run["target"] = o.target;
  return run;
}

int finish(const chaos::ChaosResult& result, const ChaosCliOptions& o, StaleReports& stale) {
  // The report quotes the shop's answers (error codes): shown, never obeyed by the terminal.
  std::cout << platform::terminal_text(chaos::text_report(result), false);
  std::cout.flush();
  const int verdict = chaos::tally(result.verdicts).failed > 0 ? kExitExpectation : kExitOk;
  std::string text;
  if (!o.json_file.empty()) {
    auto report = chaos::json_report(result);
    report["run"] = run_of(o);
    text = platform::json_text(report, 2) + "\n";
  }
  // This run's report, or (interrupted meanwhile) none (StaleReports::write).
  const auto unwritten = stale.write({{o.json_file, text}});
  if (!unwritten.empty()) {
    std::cerr << "shopctl chaos: " << unwritten.front() << "\n";
    // A failed invariant says more than the report that could not be written (docs/cli.md:
    // exit 1 "unless the command failed otherwise"); it was exit 1 (an outside probe).
    return verdict == kExitExpectation ? verdict : kExitUsage;
  }
  return verdict;
}

int run_chaos_command(const ChaosCliOptions& given) {
  // The shop chaos runs writes its secrets (chaos-shop.yaml, the child's serve.log with the
  // admin token) and its users' data into --data-dir: the owner's alone, as serve's are.
  ::umask(077);
  ChaosCliOptions o = given;
  // From the start, an exit that writes no report removes what an earlier run left at --json (a
  // CI step publishing it showed that run's verdicts), as run and load do: a bad option, an
  // empty schedule, --print-schedule and a shop that could not be reached alike (the first
  // three left it; an outside probe). The --history is removed once this run opens it.
  auto stale = std::make_shared<StaleReports>(std::vector<std::string>{o.json_file},
                                              std::vector<std::string>{o.config_file, o.check_dir});
  const StaleReports::RemoveAtExit remove_at_exit{stale, "shopctl chaos"};
  if (int rc = resolve_target("shopctl chaos", o.target, o.admin_token); rc != kExitOk) return rc;
  chaos::ChaosOptions options;
  try {
    // A day at most, each: the schedule is built whole before the run (a few hundred bytes per
    // second of it), and a 1000h run ran out of memory before the shop started; --timeout and
    // --settle took 2000000h.
    options.duration = millis_option("--duration", o.duration, "24h");
    options.timeout = millis_option("--timeout", o.timeout, "24h");
    options.settle = millis_option("--settle", o.settle, "24h");
    share_option("--abandon", o.abandon);
    share_option("--decline", o.decline);
    share_option("--double-submit", o.double_submit);
    load::parse_mix(o.mix);
    if (!o.target.empty() && o.target.rfind("http://", 0) != 0)
      throw std::invalid_argument(
          "--target must be an http:// URL like http://127.0.0.1:8080, got '" + o.target + "'");
    if (!o.target.empty() && o.crash)
      throw std::invalid_argument(
          "--crash kills a shop chaos started itself; it cannot go with --target");
    if (!o.target.empty() && o.admin_token.empty())
      throw std::invalid_argument(
          "--target needs the shop's --admin-token (faults, stops and the clock go through it)");
    // Healing moves the clock past order expiry and the provider's 72 h of webhook retries: on
    // a running shop that expires every token and every unpaid order, the shoppers' or not
    // (a tester's shop lost its users' sessions and an unrelated order). Only on request.
    if (!o.target.empty() && !o.heal_clock && o.check_dir.empty() && !o.print_schedule)
      throw std::invalid_argument(
          "--target: healing moves the shop's clock forward by 73 h and more (past order "
          "expiry and the provider's 72 h of webhook retries), which expires every token and "
          "every unpaid order of that shop, not only the shoppers'; add --heal-clock to allow "
          "it, or run chaos without --target on a shop of its own");
    if (!o.target.empty() && (!o.config_file.empty() || !o.data_dir.empty()))
      throw std::invalid_argument(
          "--config and --data-dir set up the shop chaos starts; they cannot go with --target");
    // It was accepted and did nothing: a running shop's folder is its own (an outside probe).
    if (!o.target.empty() && o.keep)
      throw std::invalid_argument(
          "--keep keeps the temporary folder of a shop chaos starts; it cannot go with --target");
    // --print-schedule too: it printed a schedule, checked nothing and exited 0 on a folder
    // that fails the check (an outside probe).
    if (!o.check_dir.empty() && !o.run_options_given.empty()) {
      std::string list;
      for (const auto& name : o.run_options_given) list += (list.empty() ? "" : ", ") + name;
      throw std::invalid_argument("--check reads a data folder and runs nothing: " + list +
                                  (o.run_options_given.size() > 1 ? " are" : " is") +
                                  " for a run, and cannot go with it");
    }
    if (!o.check_dir.empty() && (o.crash || !o.target.empty() || o.print_schedule))
      throw std::invalid_argument(
          "--check reads a data folder and runs nothing; it goes with no --crash, --target or "
          "--print-schedule");
  } catch (const std::invalid_argument& e) {
    std::cerr << "shopctl chaos: " << e.what() << "\n";
    return kExitUsage;
  }
  if (refuse_report_to_stdout("shopctl chaos", {{"--json", o.json_file, "reports/chaos.json"},
                                                {"--history", o.history_file, "chaos.jsonl"}}))
    return kExitUsage;
  if (auto conflict =
          platform::output_conflict({{"--config", o.config_file}},
                                    {{"--json", o.json_file}, {"--history", o.history_file}})) {
    std::cerr << "shopctl chaos: " << *conflict << "\n";
    return kExitUsage;
  }
  if (const auto report = platform::first_unwritable({&o.json_file, &o.history_file})) {
    std::cerr << "shopctl chaos: cannot write " << *report << ": nothing ran (exit 1)\n";
    return kExitUsage;
  }
  // An invalid --config is an invalid file (exit 2, as serve and load say), found before any
  // shop starts; it was exit 3, "the shop could not be driven", or yaml-cpp's bare message.
  if (!o.config_file.empty()) {
    try {
      shop::load_config_file(o.config_file, shop::ShopConfig{});
    } catch (const shop::ConfigFileError& e) {
      std::cerr << format_config_error(e) << "shopctl chaos: " << e.issues().size()
                << " problem(s) in --config " << e.file() << "\n";
      return kExitInvalid;
    } catch (const std::exception& e) {
      std::cerr << "shopctl chaos: " << e.what() << "\n";
      return kExitInvalid;
    }
  }
  options.seed = o.seed;
  options.users = o.users;
  // Each shopper holds connections, and a shop of chaos's own holds the other ends, its calls
  // onward and its databases: about 15 files a shopper and 128 more (12 shoppers needed 265 to
  // 280, 20 shoppers 361 to 400, measured). Under the limit the run went its whole --duration
  // and ended exit 3 with "eventfd_select_interrupter: Too many open files", naming no limit (an
  // outside probe): said at the start, and again at such an end.
  const std::uint64_t files_limit = http::raise_open_file_limit();
  const std::uint64_t files_needed =
      o.target.empty() ? std::uint64_t{o.users} * 15 + 128 : std::uint64_t{o.users} * 4 + 64;
  const std::string files_advice =
      std::to_string(o.users) + " shoppers need about " + std::to_string(files_needed) +
      " open files, more than the limit (ulimit -n is " + std::to_string(files_limit) +
      "): raise it, or use fewer --users";
  const bool files_short = files_limit != 0 && files_needed > files_limit;
  if (files_short) std::cerr << "shopctl chaos: note: " << files_advice << "\n";
  options.mix = o.mix;
  options.abandon_share = o.abandon;
  options.decline_share = o.decline;
  options.double_submit_share = o.double_submit;
  options.crash_services = !o.no_service_crash;
  if (!o.target.empty()) {
    // A shop chaos did not configure keeps its token lifetime (15 min by default): the
    // clock moves less, so the shoppers stay signed in.
    options.clock_budget = std::chrono::minutes(5);
    options.longest_jump = std::chrono::seconds(90);
  }

  const auto schedule = chaos::make_schedule(chaos::schedule_options(options, o.crash));
  // A schedule with nothing in it breaks nothing: the run would only show that a whole shop
  // keeps its money, and passed as a chaos run (`--duration 1s`: 13 passed, exit 0).
  const std::string empty_schedule =
      "the schedule drawn for --seed " + std::to_string(o.seed) + " and --duration " + o.duration +
      " is empty, so nothing would be broken: disturbances come 0.7 a second on average, from "
      "the first second (a tenth of a shorter run) to 85% of the duration, and this seed drew "
      "none in that window; give a longer --duration (30s breaks every kind of thing) or "
      "another --seed";
  if (o.print_schedule) {
    for (const auto& e : schedule) std::printf("%8.3fs  %s\n", e.at_s, e.describe().c_str());
    if (schedule.empty() && o.check_dir.empty())
      std::cerr << "shopctl chaos: note: " << empty_schedule << "\n";
    return kExitOk;
  }
  if (schedule.empty() && o.check_dir.empty()) {
    std::cerr << "shopctl chaos: " << empty_schedule << "\n";
    return kExitUsage;
  }

  auto stale_history =
      std::make_shared<StaleReports>(std::vector<std::string>{o.history_file},
                                     std::vector<std::string>{o.config_file, o.check_dir});
  const StaleReports::RemoveAtExit remove_history_at_exit{stale_history, "shopctl chaos"};

  if (!o.check_dir.empty()) {
    chaos::ChaosResult result;
    if (!std::filesystem::is_directory(o.check_dir)) {
      std::cerr << "shopctl chaos: --check " << o.check_dir
                << (std::filesystem::exists(o.check_dir)
                        ? ": not a folder (--check takes a shop's data folder)\n"
                        : ": no such folder\n");
      return kExitUsage;
    }
    // A folder without the databases checks nothing: that must not pass (a CI step pointed
    // at the wrong folder did, with every invariant NOT CHECKED).
    const chaos::DatabaseFiles files = chaos::files_in(o.check_dir);
    std::string missing;
    for (const auto& file : {files.order, files.payment, files.provider}) {
      if (!std::filesystem::is_regular_file(file))
        missing += (missing.empty() ? "" : ", ") + file.filename().string();
    }
    // Both layouts at once (files copied in by hand): one was read and the other never looked
    // at, without a word, and a green check said nothing of it (an outside probe).
    for (const std::string service : {"order", "payment", "provider"}) {
      const auto flat = std::filesystem::path(o.check_dir) / (service + ".db");
      const auto own = std::filesystem::path(o.check_dir) / service / (service + ".db");
      if (std::filesystem::exists(flat) && std::filesystem::exists(own)) {
        std::cerr << "shopctl chaos: --check " << o.check_dir << ": the folder holds both layouts ("
                  << flat.string() << " of a shop in one process and " << own.string()
                  << " of serve --processes): check a folder that holds one (exit 3)\n";
        return kExitShop;
      }
    }
    if (!missing.empty()) {
      std::cerr << "shopctl chaos: --check " << o.check_dir << ": no " << missing
                << " in this folder, so nothing can be checked (a shop's data folder holds "
                   "order.db, payment.db and provider.db, or with serve --processes "
                   "order/order.db, payment/payment.db and provider/provider.db)\n";
      return kExitShop;
    }
    // A folder a running shop holds has money in flight between its databases, which read at
    // three moments as lost or doubled: a check during a load failed five invariants that held
    // (an outside probe). Refused, as --data-dir refuses it.
    for (const auto& file : {files.order, files.payment, files.provider}) {
      if (platform::database_held(file)) {
        std::cerr << "shopctl chaos: --check " << o.check_dir << ": a running shop holds it ("
                  << file.string()
                  << " is locked), and what it has in flight would read as lost: stop that shop "
                     "first, or check it running with chaos --target URL --heal-clock (exit 3)\n";
        return kExitShop;
      }
    }
    // Whether anything was still in flight is read from the files, as after a run's healing:
    // a folder left by a SIGKILL may hold payments in flight.
    stale_history->keep();  // --check writes no history: an earlier run's is not this check's
    result.files_only = true;
    result.left = chaos::count_in_flight(files);
    result.quiescent = result.left.quiet();
    if (!result.quiescent)
      result.notes.push_back("not quiescent: " + chaos::describe(result.left) +
                             " (a shop that runs again settles them)");
    chaos::check_world(files, result);
    result.notes.push_back(
        "--check: the databases only; the invariants over the shoppers' answers, the breakers "
        "and the process are not checked");
    const int rc = finish(result, o, *stale);
    const chaos::Tally counted = chaos::tally(result.verdicts);
    if (rc == kExitOk && counted.passed == 0) {
      std::cerr << "shopctl chaos: --check " << o.check_dir
                << ": no invariant could be checked (see the notes)\n";
      return kExitShop;
    }
    // The eight invariants over the databases: one NOT CHECKED among them means a database
    // could not be read (a malformed order.db passed a CI gate with five of six NOT CHECKED).
    // The others (answers, breakers, the process) are never checked by --check.
    static const std::set<std::string> kDatabaseInvariants = {
        "orders-settled", "paid-iff-captured", "no-double-capture", "no-capture-for-failed",
        "sums-match",     "payments-agree",    "ledger-agrees",     "callbacks-delivered"};
    int unread = 0;
    for (const auto& v : result.verdicts) {
      if (v.outcome == chaos::Outcome::not_checked && kDatabaseInvariants.count(v.name)) ++unread;
    }
    if (rc == kExitOk && unread > 0) {
      std::cerr << "shopctl chaos: --check " << o.check_dir << ": " << unread
                << " of the database invariants could not be checked: a database could not be "
                   "read (see the notes)\n";
      return kExitShop;
    }
    return rc;
  }

  // The history's descriptor, and the first write that failed (the history is then incomplete).
  int history = -1;
  std::string history_failure;
  if (!o.history_file.empty()) {
    // As a report is opened: a named pipe nothing reads is said after 10 s (it waited for ever).
    std::string why;
    history = platform::open_in_place(o.history_file, why);
    if (history < 0) {
      std::cerr << "shopctl chaos: cannot write " << o.history_file << " (" << why << ")\n";
      return kExitUsage;
    }
    stale_history->keep();  // this run's, from the first line on, however the run ends
    // Each line goes out whole as it comes (one write): an interrupt ends the process at once,
    // and a buffered stream lost its last second of lines and left the last one unended (an
    // outside probe), where chaos.md promises the lines up to the signal.
    options.on_history = [history, &history_failure](const nlohmann::json& line) {
      if (!history_failure.empty()) return;
      history_failure = platform::write_all(history, platform::json_text(line) + "\n");
    };
  }

  const bool tty = redrawable_terminal(STDERR_FILENO);
  if (!o.quiet) {
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    options.on_progress = [tty, last](const std::string& line) {
      auto now = std::chrono::steady_clock::now();
      bool phase = line.rfind("healing", 0) == 0;
      if (tty) {
        std::fprintf(stderr, "\r\033[K  %s%s", line.c_str(), phase ? "\n" : "");
      } else if (phase || now - *last >= std::chrono::seconds(5)) {
        *last = now;
        std::fprintf(stderr, "  %s\n", line.c_str());
      }
      std::fflush(stderr);
    };
  }

  std::unique_ptr<chaos::ShopDriver> shop;
  // Before the lease's renewer thread starts: the watcher blocks the stop signals in this
  // thread, and every thread started after it inherits that. Constructed after the lease, a
  // SIGTERM went to the renewer's thread and killed chaos at once (exit 143), with the target's
  // faults on and a service down (an outside probe).
  static InterruptWatch interrupts;  // static: its watcher thread outlives this function
  // A running shop is leased as `run --target` leases it (docs/scenarios.md, "Two runs on one
  // shop"): chaos resets it, stops its services and moves its clock, and it did so under a run
  // in progress, whose scenarios then failed for what chaos did (an outside probe).
  std::shared_ptr<scenario::RunLease> lease;
  if (!o.target.empty()) {
    lease = std::make_shared<scenario::RunLease>(o.target, o.admin_token, "shopctl chaos",
                                                 "shopctl chaos");
    const std::string refused = lease->acquire(std::chrono::seconds(0));
    // Another run holds it: refused. A shop that cannot be reached (or refuses the token) is
    // said below, as before, by the attach that meets it.
    if (!refused.empty() && lease->in_use()) {
      std::cerr << "shopctl chaos: " << o.target << ": " << refused
                << ": chaos would break that run's scenarios; wait for it to end (exit 3)\n";
      return kExitShop;
    }
  }
  struct ReleaseLease {
    std::shared_ptr<scenario::RunLease>& lease;
    ~ReleaseLease() {
      if (lease) lease->release();
    }
  } release_lease{lease};
  interrupts.on_stop([stale, lease] {
    if (lease) lease->release();
    return stale->remove();
  });
  chaos::ChaosResult result;
  std::vector<std::string> notes;
  try {
    chaos::LocalShopOptions local;
    local.seed = o.seed;
    local.data_dir = o.data_dir;
    local.keep = o.keep;
    local.config_file = o.config_file;
    interrupts.starting();
    if (!o.target.empty()) {
      auto gateway = o.target;
      while (!gateway.empty() && gateway.back() == '/') gateway.pop_back();
      shop = chaos::attach_target(gateway, o.admin_token, notes);
    } else if (o.crash) {
      shop = chaos::start_child_process(local, std::filesystem::read_symlink("/proc/self/exe"));
    } else {
      shop = chaos::start_in_process(local);
    }
    interrupts.watch(shop.get());
    if (!o.quiet)
      std::fprintf(stderr, "shopctl chaos: seed %llu, %s, %u shoppers, mix %s, against %s\n",
                   static_cast<unsigned long long>(o.seed), o.duration.c_str(), o.users,
                   o.mix.c_str(), shop->describe().c_str());
    if (!o.target.empty())
      std::fprintf(stderr,
                   "shopctl chaos: --heal-clock: healing will move this shop's clock forward by "
                   "73 h and more; every token and unpaid order of it expires\n");
    result = chaos::run_chaos(*shop, options);
  } catch (const std::exception& e) {
    if (tty && !o.quiet) std::fprintf(stderr, "\n");
    std::cerr << "shopctl chaos: the shop could not be driven: " << e.what() << "\n";
    if (std::string_view(e.what()).find(std::strerror(EMFILE)) != std::string_view::npos)
      std::cerr << "shopctl chaos: this process ran out of open files: "
                << (files_short ? files_advice
                                : "raise the limit (ulimit -n is " + std::to_string(files_limit) +
                                      "), or use fewer --users")
                << "\n";
    if (shop && !shop->log_file().empty())
      std::cerr << "shopctl chaos: the shop's log: " << shop->log_file().string() << "\n";
    interrupts.watch(nullptr);
    if (shop) shop->finish();
    return kExitShop;
  }
  if (tty && !o.quiet) std::fprintf(stderr, "\n");
  for (auto& n : notes) result.notes.insert(result.notes.begin(), n);
  if (!o.target.empty())
    result.notes.push_back(
        "--heal-clock: healing moved this running shop's clock forward (the clock line above "
        "says by how much): every token and unpaid order of it expired, not only the shoppers'");
  if (!o.history_file.empty()) result.notes.push_back("history: " + o.history_file);
  if (o.keep || !o.data_dir.empty()) {
    if (auto files = shop->databases())
      result.notes.push_back("data kept in " + files->order.parent_path().string());
  }
  // The disk of the shop's folder ran full (a small $TMPDIR, say): the shop could store nothing,
  // and the failed invariants say so about this machine, not about the shop's money (it was
  // exit 4, "11 passed, 2 failed", with the disk named in one event line; an outside probe).
  std::string full_disk;
  if (auto files = shop->databases()) {
    struct statvfs disk {};
    const auto folder = files->order.parent_path();
    if (::statvfs(folder.c_str(), &disk) == 0 &&
        static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize < 1024 * 1024)
      full_disk = folder.string();
  }
  interrupts.watch(nullptr);
  shop->finish();
  if (!full_disk.empty() && chaos::tally(result.verdicts).failed > 0) {
    result.notes.insert(result.notes.begin(),
                        "the disk of the shop's folder " + full_disk +
                            " is full: the shop could not store what it was sent, and the "
                            "invariants that failed say so about this machine (exit 3)");
    finish(result, o, *stale);
    std::cerr << "shopctl chaos: the disk of the shop's folder " << full_disk
              << " is full (less than 1 MiB free): the shop could not be driven; free room there, "
                 "or point TMPDIR (or --data-dir) at a folder with room\n";
    return kExitShop;
  }
  if (!o.history_file.empty()) {
    if (::close(history) != 0 && errno != EINTR && history_failure.empty())
      history_failure = std::strerror(errno);
    if (!history_failure.empty()) {
      std::cerr << "shopctl chaos: cannot write " << o.history_file << " (" << history_failure
                << "; the history is incomplete)\n";
      finish(result, o, *stale);
      return kExitUsage;
    }
  }
  return finish(result, o, *stale);
}

}  // namespace

void register_chaos(CLI::App& app) {
  auto o = std::make_shared<ChaosCliOptions>();
  auto* cmd = app.add_subcommand(
      "chaos", "Shoppers against a shop that a seeded schedule breaks; then the money invariants");
  cmd->footer(
      "Shoppers run the load journeys, checkout-heavy: some walk away without paying, some\n"
      "cards decline, some check out one cart from two tabs at once. Meanwhile a schedule drawn\n"
      "from --seed switches faults of every type on every edge, stops, starts, restarts and\n"
      "crashes services, and moves the clock; with --crash the shop runs as a child process and\n"
      "is killed with SIGKILL and started again on its data folder, several times. Then chaos\n"
      "heals the shop (faults off, services up, the clock past every retry and expiry), waits\n"
      "until nothing is in flight, and checks the invariants from the databases (read-only) and\n"
      "the shoppers' own record. docs/chaos.md explains each invariant and how to read a "
      "history.\n\n"
      "Exit codes: 0 every invariant holds, 1 bad command line (or a --json or --history\n"
      "            file that cannot be written or is the --config file, a --check folder\n"
      "            that does not exist or is no folder, or a --duration too short for the\n"
      "            seed's schedule to hold anything), 2 an invalid --config, 3 the shop\n"
      "            could not be started, reached or driven (with --check: the folder lacks a\n"
      "            database, or one could not be read), 4 an invariant is violated,\n"
      "            130, 143, 129 or 131 interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT (the\n"
      "            shop chaos started is stopped first, its temporary folder removed unless\n"
      "            --keep).\n"
      "The last line is 'chaos: N passed, M failed' (invariants).\n\n"
      "Examples:\n"
      "  shopctl chaos --duration 30s --seed 7\n"
      "  shopctl chaos --crash --duration 45s --seed 7 --history chaos.jsonl\n"
      "  shopctl chaos --crash --duration 10m --json chaos.json --keep\n"
      "  shopctl chaos --seed 7 --print-schedule           # the plan, without a shop\n"
      "  shopctl chaos --target http://127.0.0.1:8080 --admin-token adm_... --heal-clock\n"
      "  shopctl chaos --check .shopctl/data               # the database invariants only\n");
  cmd->add_option("--duration", o->duration,
                  "How long the shoppers shop while the shop is broken (at most 24h)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the schedule and of the shoppers' choices")
      ->capture_default_str()
      ->check(CLI::Validator([](const std::string& text) { return seed_problem(text); }, "UINT64"));
  cmd->add_flag("--crash", o->crash,
                "Run the shop as a child process and SIGKILL it several times");
  cmd->add_option("--target", o->target, "A running shop's gateway URL (default: start one)");
  cmd->add_option("--admin-token", o->admin_token,
                  "The running shop's admin token (needed with --target)")
      ->envname("SHOPCTL_ADMIN_TOKEN");
  cmd->add_flag("--heal-clock", o->heal_clock,
                "With --target: let healing move the shop's clock forward by 73 h and more "
                "(needed; every token and unpaid order of that shop expires)");
  cmd->add_option("--config", o->config_file, "YAML settings for the shop chaos starts")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", o->data_dir,
                  "Data folder for the shop chaos starts (default: a temporary one)");
  cmd->add_flag("--keep", o->keep, "Keep the temporary data folder (its path is in the notes)");
  cmd->add_option("--users", o->users, "Shoppers")
      ->capture_default_str()
      ->check(CLI::Range(1, 512));
  cmd->add_option("--mix", o->mix, "Journey weights, as for shopctl load")->capture_default_str();
  cmd->add_option("--abandon", o->abandon,
                  "Share of checkouts whose shopper walks away without paying")
      ->capture_default_str();
  cmd->add_option("--decline", o->decline, "Share of checkouts paid with a declined card")
      ->capture_default_str();
  cmd->add_option("--double-submit", o->double_submit,
                  "Share of checkouts sent from two tabs at once")
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "Time limit of one shopper request")
      ->capture_default_str();
  cmd->add_option("--settle", o->settle, "The longest wait for quiescence after healing")
      ->capture_default_str();
  cmd->add_flag("--no-service-crash", o->no_service_crash,
                "Stop services, never crash one in-process");
  cmd->add_option("--history", o->history_file,
                  "Write every shopper operation and chaos event as JSON lines");
  cmd->add_option("--json", o->json_file,
                  "Write the report as JSON to this file (a run that writes none removes one an "
                  "earlier run left)");
  cmd->add_option("--check", o->check_dir,
                  "Check the database invariants of a data folder, and run nothing");
  cmd->add_flag("--print-schedule", o->print_schedule, "Print the seed's schedule and exit");
  cmd->add_flag("--quiet", o->quiet, "No progress lines");
  cmd->callback([o, cmd] {
    o->run_options_given.clear();
    for (const char* name :
         {"--duration", "--seed", "--heal-clock", "--config", "--data-dir", "--keep", "--users",
          "--mix", "--abandon", "--decline", "--double-submit", "--timeout", "--settle",
          "--no-service-crash", "--history"}) {
      if (cmd->count(name) > 0) o->run_options_given.push_back(name);
    }
    set_exit_code(run_chaos_command(*o));
  });
}

}  // namespace shopctl::cli
