// shopctl serve / shopctl version
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "chaos/store_reader.hpp"
#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/launcher.hpp"
#include "platform/http/client.hpp"
#include "platform/http/server.hpp"
#include "platform/input_file.hpp"
#include "platform/output_file.hpp"
#include "platform/store/database.hpp"
#include "platform/temp_folder.hpp"
#include "platform/text_rules.hpp"
#include "scenario/recorder.hpp"
#include "services/catalog/catalog_model.hpp"
#include "shop/config.hpp"
#include "shop/registry.hpp"
#include "shop/shop.hpp"

namespace shopctl::cli {

namespace {

// Waits for SIGINT, SIGTERM or SIGHUP among `signals`; SIGUSR1 and SIGUSR2 are said and waited
// past. Returns the signal that stops the shop.
int wait_for_stop_signal(const sigset_t& signals) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) return SIGTERM;
    if (sig != SIGUSR1 && sig != SIGUSR2) return sig;
    std::printf(
        "shopctl: %s received: nothing to do (the shop logs to standard error, with no "
        "file to reopen); still running\n",
        sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
    std::fflush(stdout);
  }
}

// Stops the shop gracefully: the requests in flight finish for as long as the gateway would wait
// for an answer (gateway.upstream_timeout, 10 s by default) plus a second, at least 3 s; a
// request still running then is cut. Over 3 s the cut fell on requests the gateway still
// waited for, which then got no answer at all (an outside probe). A second stop signal during
// the drain stops the process at once, as a SIGKILL would (nothing committed is lost: the shop
// survives a kill at any moment, docs/money.md), with 128 + its number.
void stop_gracefully(shop::Shop& shop, const sigset_t& signals) {
  const auto grace = std::max(std::chrono::milliseconds(3000),
                              shop.config().gateway_upstream_timeout + std::chrono::seconds(1));
  sigset_t stop;
  sigemptyset(&stop);
  for (int sig : kStopSignals) {
    if (sigismember(&signals, sig)) sigaddset(&stop, sig);
  }
  // Detached, not joined: a join waited out the watcher's last sigtimedwait (up to its step)
  // after every stop. It lives on until the process ends, taking a second signal that comes
  // while the stop's last words are written too.
  std::thread([stop] {
    for (;;) {
      int sig = 0;
      if (sigwait(&stop, &sig) != 0) return;
      // Through std::cerr: with --log-format json it is a JSON line, as every other (it was
      // plain text among them).
      std::cerr << "shopctl: a second " << signal_name(sig)
                << ": stopping now, without waiting for the requests in flight\n";
      std::cerr.flush();
      std::fflush(stderr);
      std::fflush(stdout);
      // An --ephemeral shop's folder goes too (it stayed, databases and all, for the next
      // shopctl to sweep; an outside probe): the temporary folders are removed, then _Exit.
      platform::remove_temp_folders_and_exit(128 + sig);
    }
  }).detach();
  shop.shutdown(grace);
}

// --record's limits (docs/security.md): a session longer than this is no use to replay, and a
// body this large is no shopper's (the recorder keeps every exchange in memory).
constexpr std::size_t kMaxRecordedSteps = 10'000;
constexpr std::size_t kMaxRecordedBody = 64 * 1024;

// Writes the recorded session to its file on a thread of its own, at most every 250 ms while
// exchanges come (it was rewritten whole on the gateway's thread after every answer: with many
// answers each one cost more, and every /api/ request waited for the writes).
class RecordWriter {
 public:
  RecordWriter(std::shared_ptr<scenario::SessionRecorder> recorder, std::string file)
      : recorder_(std::move(recorder)), file_(std::move(file)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~RecordWriter() { stop(); }
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void changed() {
    {
      std::lock_guard lock(mu_);
      dirty_ = true;
    }
    cv_.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return dirty_ || stopping_; });
      if (stopping_) return;
      dirty_ = false;
      lock.unlock();
      if (!recorder_->write(file_) && recorder_->steps() > 0 && !warned_) {
        warned_ = true;  // once
        std::cerr << "shopctl serve: --record: cannot write " << file_ << "\n";
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; });
    }
  }

  std::shared_ptr<scenario::SessionRecorder> recorder_;
  std::string file_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;
  bool stopping_ = false;
  bool warned_ = false;
  std::thread thread_;
};

namespace fs = std::filesystem;

struct ServeOptions {
  std::vector<std::string> config_files;
  std::vector<std::string> only;
  std::vector<std::string> peers;  // NAME=URL
  std::string bind;
  int admin_port = -1;
  bool processes = false;
  std::string data_dir = ".shopctl/data";
  int gateway_port = 8080;
  // Given on the command line: then they win over a --config file's data_dir and
  // ports.gateway (an operator's flag lost to a shared config without a word).
  bool data_dir_given = false;
  bool gateway_port_given = false;
  bool ephemeral = false;
  std::string log_level = "info";
  std::string log_format = "text";
  unsigned threads = 0;
  bool print_config = false;
  std::string record;  // a scenario file the session's public traffic is written to
};

// A data folder that others may read: its databases hold every user's email and password
// hash and the payment intents, its identity.json and (with --processes) logs the shop's secrets.
void warn_if_others_may_read(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  // Not a folder: the start says so; a warning to chmod it first misled (an outside probe).
  if (ec || !fs::is_directory(status)) return;
  const auto perms = status.permissions();
  if ((perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
    std::cerr << "shopctl serve: warning: other users may read " << dir.string()
              << ", which holds the shop's secrets and its users' data: chmod 700 it\n";
    return;
  }
  // The secrets' own file, made 0600 by the shop: widened by hand (chmod 644), it was taken
  // without a word (an outside probe).
  const auto identity = dir / "identity.json";
  const auto file = fs::status(identity, ec);
  if (!ec && fs::is_regular_file(file) &&
      (file.permissions() & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none)
    std::cerr << "shopctl serve: warning: other users may read " << identity.string()
              << ", which holds the shop's secrets: chmod 600 it\n";
}

// An open-file limit too low for a shop under load: with 64 a loaded shop ran out of
// descriptors, stopped answering for up to 30 s, and its log blamed the next service
// ("connection_reset") in 117,709 lines and named EMFILE in 2 (an outside probe). Said once, at
// the start, after the soft limit has been raised to the hard one.
void warn_if_few_open_files(bool processes) {
  constexpr std::uint64_t kFew = 1024;
  const std::uint64_t limit = http::raise_open_file_limit();
  if (limit == 0 || limit >= kFew) return;
  std::cerr << "shopctl serve: warning: the open-file limit is " << limit
            << " (ulimit -n, hard limit included): " << (processes ? "each process" : "the shop")
            << " holds about 40 descriptors at rest and two more per connection under load "
               "(one in, one to the next service), so under load connections will be refused "
               "or wait; raise it to "
            << kFew << " or more\n";
}

// Databases that are not from one moment: captures the provider holds for orders order.db does
// not (order.db restored from an older backup, or its -wal removed while the shop was down);
// PAID orders the provider holds no capture for; FAILED orders whose intent can be paid again
// (a damaged provider -wal); a database removed beside the others. The shop started without a
// word and answered ready, while 124 captures (1,599.60 EUR) stood for no order, and while a
// reopened intent took money for a FAILED order (outside probes). A crash never leaves these
// (docs/money.md): said at the start.
void warn_if_money_disagrees(const fs::path& dir) {
  // Read only a folder no shop holds: a second serve on a running shop's folder read its files
  // one after another while it took payments, and warned of captures "in no order" that were
  // made between the reads, before it was refused (an outside probe). A shared flock on the
  // folder, which a running shop holds exclusively (Shop::start, the launcher), for the read.
  const int lock_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_fd < 0) return;  // a new folder: nothing to compare
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_lock{lock_fd};
  if (::flock(lock_fd, LOCK_SH | LOCK_NB) != 0) return;  // in use: the start is refused anyway
  const auto found = chaos::find_orphan_captures(chaos::files_in(dir));
  if (!found.any()) return;
  const std::string where = dir.string();
  const std::string tail =
      ": the databases in " + where +
      " are not from one moment (one restored from an older backup, a -wal damaged or removed, "
      "or a file removed while the shop was down); shopctl chaos --check " +
      where + " lists them (docs/money.md, \"Backups\")\n";
  if (!found.missing.empty()) {
    std::cerr << "shopctl serve: warning: " << platform::terminal_text(found.missing, true)
              << " is missing or empty beside the other money databases, which hold what it held"
              << tail;
  }
  if (found.captures > 0) {
    char amount[64];
    std::snprintf(amount, sizeof amount, "%lld.%02lld %s",
                  static_cast<long long>(found.amount_cents / 100),
                  static_cast<long long>(found.amount_cents % 100), found.currency.c_str());
    std::cerr << "shopctl serve: warning: " << found.captures << " capture(s) at the provider ("
              << amount << " in all) stand for no order, e.g. "
              << platform::terminal_text(found.example, true) << ", and that money is in no order"
              << tail;
  }
  if (found.paid_uncaptured > 0) {
    std::cerr << "shopctl serve: warning: " << found.paid_uncaptured
              << " PAID order(s) have no capture at the provider, e.g. "
              << platform::terminal_text(found.paid_example, true) << tail;
  }
  if (found.payments_missing > 0) {
    std::cerr << "shopctl serve: warning: " << found.payments_missing
              << " payment(s) of orders that order.db holds and the provider captured are not "
                 "in payment.db, e.g. "
              << platform::terminal_text(found.payments_example, true) << tail;
  }
  if (found.failed_payable > 0) {
    std::cerr << "shopctl serve: warning: " << found.failed_payable
              << " FAILED order(s) have an intent at the provider that can be paid again, e.g. "
              << platform::terminal_text(found.failed_example, true)
              << " (money taken with it is for an order that failed)" << tail;
  }
}

// A data folder holds one shop in one layout: `serve` keeps D/order.db, `serve --processes`
// D/order/order.db. Started the other way on it, a shop opened new empty databases beside the
// old ones and kept the old identity: old tokens worked, every order was gone, an
// Idempotency-Key made a second order, and the old unpaid orders never expired. The database
// of the other layout, or "" when there is none.
std::string other_layout_database(const fs::path& dir, bool processes) {
  std::error_code ec;
  for (const auto& spec : shop::service_registry()) {
    const std::string db = spec.name + ".db";
    const fs::path other = processes ? dir / db : dir / spec.name / db;
    if (fs::exists(other, ec) || fs::exists(fs::path(other.string() + ".used"), ec))
      return other.string();
  }
  return "";
}

int refuse_other_layout(const fs::path& dir, bool processes) {
  const auto found = other_layout_database(dir, processes);
  if (found.empty()) return kExitOk;
  // Both layouts at once (files copied in by hand): each command sent the operator to the
  // other, which sent them back (an outside probe). Said as what it is.
  if (const auto own = other_layout_database(dir, !processes); !own.empty()) {
    std::cerr << "shopctl serve" << (processes ? " --processes" : "") << ": " << dir.string()
              << " holds both layouts, a shop run in one process (" << (processes ? found : own)
              << ") and one run with --processes (" << (processes ? own : found)
              << "): keep the one you want and move the other's files out of the folder (exit 3)\n";
    return kExitShop;
  }
  // That shop may be running now: said first, as the start it advises would be refused for it
  // (an outside probe followed the advice and met "in use by another shop").
  // The shop's flock on its folder, probed as a database's is (platform::database_held).
  const bool running = platform::database_held(dir);
  std::cerr << "shopctl serve" << (processes ? " --processes" : "") << ": " << dir.string()
            << " holds a shop run " << (processes ? "in one process" : "with --processes") << " ("
            << found << ")"
            << (running ? ", which is running now (the folder is locked): stop it first, then"
                        : ":")
            << " start it " << (processes ? "without" : "with")
            << " --processes, or give this shop another --data-dir (exit 3)\n";
  return kExitShop;
}

int run_serve(const ServeOptions& o) {
  // --log-format json: standard error is JSON lines only, the plain warnings and refusals
  // before the shop is up too.
  const bool json = o.log_format == "json";
  const char* command = o.processes ? "shopctl serve --processes" : "shopctl serve";
  std::optional<JsonStderrLines> json_stderr;
  if (json) json_stderr.emplace(command);
  // Everything serve writes (the data folder, the databases, identity.json, the processes'
  // logs and processes.yaml, a --record file) is the owner's alone: 0700 folders, 0600 files.
  // The children of --processes inherit it.
  ::umask(077);
  shop::ShopConfig config;
  try {
    // Later files override earlier ones (a ConfigMap's settings, then a Secret's secrets).
    for (const auto& file : o.config_files) config = shop::load_config_file(file, config);
  } catch (const shop::ConfigFileError& e) {
    if (json) {
      say_serve_failure(command, true,
                        std::to_string(e.issues().size()) + " problem(s) in --config " + e.file(),
                        format_config_error(e));
    } else {
      std::cerr << format_config_error(e) << "shopctl serve: " << e.issues().size()
                << " problem(s) in --config " << e.file() << "\n";
    }
    return kExitInvalid;
  } catch (const std::exception& e) {
    say_serve_failure(json ? command : "shopctl serve", json, "invalid --config", e.what());
    return kExitInvalid;
  }
  // The flags' own values are the command line's: a bad one is exit 1, like any other.
  try {
    if (!o.only.empty()) {
      config.only.clear();
      for (const auto& name : o.only) {
        if (!shop::find_service(name)) {
          throw std::invalid_argument("--only: no service '" + name +
                                      "' (gateway, auth, catalog, order, payment, provider)");
        }
        if (std::find(config.only.begin(), config.only.end(), name) == config.only.end())
          config.only.push_back(name);
      }
    }
    for (const auto& peer : o.peers) {
      auto eq = peer.find('=');
      auto name = peer.substr(0, eq);
      if (eq == std::string::npos) {
        throw std::invalid_argument(
            "--peer takes SERVICE=URL, like catalog=http://10.0.0.2:7002, got '" + peer + "'");
      }
      if (!shop::find_service(name)) {
        throw std::invalid_argument("--peer " + peer + ": no service '" + name +
                                    "' (gateway, auth, catalog, order, payment, provider)");
      }
      try {
        http::parse_base_url(peer.substr(eq + 1));  // throws for a URL it cannot use
      } catch (const std::exception& e) {
        throw std::invalid_argument("--peer " + peer + ": " + e.what());
      }
      config.peers[name].url = peer.substr(eq + 1);
    }
    if (!o.bind.empty()) {
      if (auto problem = shop::host_address_problem(o.bind, "--bind"))
        throw std::invalid_argument(*problem);
    }
  } catch (const std::exception& e) {
    std::cerr << "shopctl serve: " << e.what() << "\n";
    return kExitUsage;
  }
  // A catalog file this shop names is read as the catalog reads it, before anything starts: an
  // invalid one is an invalid file (exit 2, docs/security.md), as validate finds it, not a shop
  // that could not start (exit 3, an outside probe). Read also when a catalog.db of the data
  // folder makes the catalog skip it: a file named and broken is said either way.
  if (config.catalog_file &&
      (config.only.empty() ||
       std::find(config.only.begin(), config.only.end(), "catalog") != config.only.end())) {
    // Kept parsed (read_catalog_file): the catalog seeds from it without parsing it again.
    try {
      catalog::read_catalog_file(*config.catalog_file);
    } catch (const platform::InputFileError& e) {
      say_serve_failure(json ? command : "shopctl serve", json, "invalid catalog file",
                        "cannot read " + config.catalog_file->string() + ": " + e.what());
      return kExitInvalid;
    } catch (const std::exception& e) {
      say_serve_failure(json ? command : "shopctl serve", json, "invalid catalog file", e.what());
      return kExitInvalid;
    }
  }
  if (!o.bind.empty()) config.host = o.bind;
  if (o.admin_port >= 0) config.admin_port = static_cast<std::uint16_t>(o.admin_port);
  if (o.gateway_port_given || !config.ports.count("gateway"))
    config.ports["gateway"] = static_cast<std::uint16_t>(o.gateway_port);
  // The gateway's port (a flag, or its default) and the admin plane's, beside the services' of
  // the config: `ports: {auth: 45001}` with --gateway-port 45001 said the port was "taken by
  // another process", and admin_port on a service's port printed a raw bind error (an outside
  // probe). Exit 1 when a flag gave one of the two, else 2 (the file's).
  {
    // The services this process runs (another host's may share a port number).
    auto ports = config.ports;
    if (!config.only.empty()) {
      std::erase_if(ports, [&](const auto& entry) {
        return std::find(config.only.begin(), config.only.end(), entry.first) == config.only.end();
      });
    }
    if (config.admin_port && *config.admin_port != 0 && !o.processes)
      ports["admin_port"] = *config.admin_port;
    if (auto clash = shop::port_clash(ports)) {
      std::cerr << "shopctl serve: " << *clash << ": give each its own port\n";
      return o.gateway_port_given || o.admin_port >= 0 ? kExitUsage : kExitInvalid;
    }
  }
  if (o.data_dir_given) config.data_dir = o.data_dir;
  // `data_dir: ""` in a config file is a temporary folder, as --print-config prints an
  // --ephemeral shop's: fed back, that file started a shop in .shopctl/data (an outside probe).
  const bool ephemeral =
      o.ephemeral || (!o.data_dir_given && config.data_dir_written && config.data_dir.empty());
  if (!o.record.empty() &&
      (o.processes || (!config.only.empty() && std::find(config.only.begin(), config.only.end(),
                                                         "gateway") == config.only.end()))) {
    std::cerr << "shopctl serve: --record needs the gateway in this process (no --processes, "
                 "--only with gateway)\n";
    return kExitUsage;
  }
  if (o.processes) {
    if (!config.only.empty()) {
      std::cerr << "shopctl serve: --processes runs every service; it takes no --only\n";
      return kExitUsage;
    }
    // The launcher picks each process's admin port and tells every process where its peers
    // are: these flags were accepted and did nothing.
    if (!o.peers.empty() || o.admin_port >= 0) {
      std::cerr << "shopctl serve: --processes picks the processes' peers and admin ports "
                   "itself; it takes no "
                << (o.peers.empty() ? "--admin-port" : "--peer") << "\n";
      return kExitUsage;
    }
    // The same setting in a config file was taken without a word, and every child got an
    // admin port of the launcher's choosing (an outside probe).
    if (config.admin_port) {
      std::cerr << "shopctl serve: --processes picks the processes' admin ports itself; remove "
                   "admin_port from the --config file\n";
      return kExitUsage;
    }
    if (o.print_config) {  // the settings every process starts from; it started six processes
      if (ephemeral)
        config.data_dir.clear();
      else if (config.data_dir.empty())
        config.data_dir = o.data_dir;
      std::cout << shop::describe_config(config) << "\n";
      return kExitOk;
    }
    LauncherOptions launcher;
    launcher.config_files = o.config_files;
    launcher.data_dir = config.data_dir.empty() ? fs::path(o.data_dir) : config.data_dir;
    launcher.ephemeral = ephemeral;
    launcher.log_level = o.log_level;
    launcher.log_format = o.log_format;
    launcher.threads = o.threads == 0 ? 1 : o.threads;
    if (!ephemeral) {
      warn_if_others_may_read(launcher.data_dir);
      warn_if_money_disagrees(launcher.data_dir);
      if (int rc = refuse_other_layout(launcher.data_dir, true); rc != kExitOk) return rc;
    }
    warn_if_few_open_files(true);
    return run_processes(config, launcher);
  }
  if (ephemeral) {
    config.data_dir.clear();
  } else if (config.data_dir.empty()) {
    config.data_dir = o.data_dir;
  }
  if (!config.data_dir.empty()) {
    warn_if_others_may_read(config.data_dir);
    // The money databases are compared only where they are all kept: a process of a split shop
    // (a host of its own, a child of --processes) that runs some of them holds its own alone,
    // and every restart warned that the others were "missing", naming a check that could not
    // run there (an outside probe). The launcher checks the whole shop's folder.
    const auto runs = [&](const char* service) {
      return config.only.empty() ||
             std::find(config.only.begin(), config.only.end(), service) != config.only.end();
    };
    if (runs("order") && runs("payment") && runs("provider"))
      warn_if_money_disagrees(config.data_dir);
  }
  warn_if_few_open_files(false);
  std::string record_file;
  if (!o.record.empty()) {
    // The recorder replaces the whole file through a rename after each answer: a device, a
    // pipe or a folder there would be replaced (or the rename fail), so refuse it now. A link
    // to a file is followed, so it stays a link.
    const auto target = platform::replace_target(o.record);
    if (!target.error.empty()) {
      std::cerr << "shopctl serve: --record " << o.record << ": " << target.error << "\n";
      return kExitUsage;
    }
    std::vector<platform::NamedPath> inputs;
    for (const auto& file : o.config_files) inputs.push_back({"--config", file});
    if (auto conflict = platform::output_conflict(inputs, {{"--record", o.record}})) {
      std::cerr << "shopctl serve: " << *conflict << "\n";
      return kExitUsage;
    }
    record_file = target.path.string();
    // The recorder writes FILE.tmp beside FILE and renames it: try that now, so that a path
    // that cannot be written fails before a session is lost to it.
    fs::path probe = record_file;
    probe += ".tmp";
    std::error_code ec;
    const bool writable = std::ofstream(probe).good();
    fs::remove(probe, ec);
    if (!writable) {
      std::cerr << "shopctl serve: --record " << o.record
                << ": cannot write there (no such folder, no permission, or a folder)\n";
      return kExitUsage;
    }
  }
  if (o.print_config) {
    std::cout << shop::describe_config(config) << "\n";
    return kExitOk;
  }
  // A process of a split shop (--only) keeps its own folder; the whole shop is checked.
  if (!config.data_dir.empty() && config.only.empty()) {
    if (int rc = refuse_other_layout(config.data_dir, false); rc != kExitOk) return rc;
  }
  shop::ShopOptions options;
  options.threads = o.threads;
  options.log_level = platform::parse_log_level(o.log_level).value_or(platform::LogLevel::info);
  options.log_format =
      o.log_format == "json" ? platform::LogFormat::json : platform::LogFormat::text;
  // --record: every public answer goes to the recorder, and a thread of its own rewrites the
  // file whole (through a rename) at most every 250 ms while answers come, so that it is a
  // complete scenario whenever we stop; the end writes it once more. Bounded (docs/security.md):
  // at most kMaxRecordedSteps exchanges, none whose request body is over kMaxRecordedBody.
  std::shared_ptr<scenario::SessionRecorder> recorder;
  std::shared_ptr<RecordWriter> record_writer;
  if (!o.record.empty()) {
    scenario::RecorderOptions recording;
    recording.name = "recorded session (" + fs::path(o.record).stem().string() + ")";
    recording.demo_email = config.demo_email;
    recording.replay_demo_password = shop::ShopConfig{}.demo_password;
    recording.max_steps = kMaxRecordedSteps;
    recording.max_body = kMaxRecordedBody;
    recorder = std::make_shared<scenario::SessionRecorder>(recording);
    record_writer = std::make_shared<RecordWriter>(recorder, record_file);
    auto said = std::make_shared<std::atomic<int>>(0);  // bit 1: too many, bit 2: too large
    options.public_traffic = [recorder, writer = record_writer,
                              said](const platform::PublicExchange& e) {
      // The recorder applies both bounds, and says in the file where they bit; standard error
      // says each once.
      if (recorder->steps() >= kMaxRecordedSteps) {
        if ((said->fetch_or(1) & 1) == 0) {
          std::cerr << "shopctl serve: --record: " << kMaxRecordedSteps
                    << " exchanges recorded; the rest are not (the file counts them)\n";
        }
      } else if (e.request_body.size() > kMaxRecordedBody) {
        if ((said->fetch_or(2) & 2) == 0) {
          std::cerr << "shopctl serve: --record: a request body over " << kMaxRecordedBody / 1024
                    << " KiB is not recorded (" << e.method << " " << e.target.substr(0, 100)
                    << "); nor are later ones (the file names each)\n";
        }
      }
      recorder->record(e);
      writer->changed();
    };
  }

  // Signals are taken synchronously by this thread; the shop's threads never see them.
  sigset_t signals;
  block_serve_signals(signals);  // blocked already since main(): the set, once more

  auto started = std::chrono::steady_clock::now();
  // A stop signal while the start waits for a port in TIME-WAIT (up to a minute) stops it
  // then; it was taken only once the shop was up (an outside probe: SIGTERM twice, then the
  // banner and a stop after 59 s).
  options.start_interrupted = [] { return pending_stop_signal() != 0; };
  std::unique_ptr<shop::Shop> shop;
  try {
    shop = std::make_unique<shop::Shop>(config, options);
    shop->start();
  } catch (const shop::StartInterrupted& e) {
    const int sig = take_pending_stop_signal();
    std::printf("shopctl: %s received while starting (%s): stopped\n",
                sig != 0 ? signal_name(sig).c_str() : "a stop signal", e.what());
    std::fflush(stdout);
    return kExitOk;
  } catch (const std::exception& e) {
    say_serve_failure("shopctl serve", json, "the shop could not start", e.what());
    return kExitShop;
  }
  auto ready_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  std::printf("shopctl %s: the shop is up in %.1f ms\n\n", SHOPCTL_VERSION, ready_ms);
  std::printf("  %-9s %-24s %s\n", "SERVICE", "URL", "DATABASE");
  for (const auto& s : shop->services()) {
    std::printf("  %-9s %-24s %s\n", s.name.c_str(), s.url.c_str(),
                s.remote             ? "(another process)"
                : s.database.empty() ? "(none: routes only)"
                                     : s.database.c_str());
  }
  const auto& c = shop->config();
  if (!shop->runs("gateway")) {
    std::printf("\n  admin plane   %s  (X-Admin-Token: %s)\n", shop->admin_url().c_str(),
                shop->admin_token().c_str());
    std::printf("\nCtrl-C stops this process.\n");
    std::fflush(stdout);
    wait_for_stop_signal(signals);
    stop_gracefully(*shop, signals);
    shop.reset();
    return kExitOk;
  }
  std::printf("\n  public door   %s  (every other port refuses outsiders)\n",
              shop->url("gateway").c_str());
  std::printf("  web shop      %s/  (operator console: %s/console)\n", shop->url("gateway").c_str(),
              shop->url("gateway").c_str());
  if (c.seed_demo_user) {
    std::printf("  demo user     %s / %s\n", c.demo_email.c_str(), c.demo_password.c_str());
  }
  std::printf("  admin token   %s  (header X-Admin-Token on /_admin/ of any service)\n",
              shop->admin_token().c_str());
  // A process with a port of its own for the admin plane (--admin-port) names it, as a
  // process without the gateway does: its services' own admin routes are answered there.
  if (shop->admin_url() != shop->url("gateway")) {
    std::printf("  admin plane   %s  (this process's own admin routes)\n",
                shop->admin_url().c_str());
  }
  // Named when it was written: a process of a split shop whose secrets and ports all come
  // from its config keeps none, and the banner named a file that did not exist (a probe).
  std::error_code identity_ec;
  if (!shop->identity_file().empty() &&
      std::filesystem::exists(shop->identity_file(), identity_ec)) {
    std::printf("  identity      %s  (ports and secrets kept across restarts)\n",
                shop->identity_file().c_str());
  }
  std::printf(
      "\n  try:  curl -s -X POST %s/api/auth/login -H 'Content-Type: application/json' \\\n"
      "          -d '{\"email\":\"%s\",\"password\":\"%s\"}'\n\nCtrl-C stops the shop.\n",
      shop->url("gateway").c_str(), c.demo_email.c_str(), c.demo_password.c_str());
  std::fflush(stdout);

  const int sig = wait_for_stop_signal(signals);
  std::printf("\nshopctl: %s received, stopping (in-flight requests finish)\n",
              signal_name(sig).c_str());
  std::fflush(stdout);
  stop_gracefully(*shop, signals);
  shop.reset();
  int rc = kExitOk;
  if (record_writer) record_writer->stop();  // the last write is the one below
  if (recorder) {
    if (recorder->write(record_file)) {
      std::printf("shopctl: %zu step(s) recorded in %s (replay: shopctl run %s)\n",
                  recorder->steps(), o.record.c_str(), o.record.c_str());
    } else if (recorder->steps() > 0) {
      std::fflush(stdout);
      std::cerr << "shopctl serve: " << recorder->steps() << " step(s) recorded but " << o.record
                << " could not be written\n";
      rc = kExitUsage;
    } else {
      std::printf(
          "shopctl: nothing recorded (no /api/ request went through the gateway), %s not written\n",
          o.record.c_str());
    }
  }
  std::printf("shopctl: stopped\n");
  return rc;
}

}  // namespace

void register_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Start the whole shop for a local demo");
  cmd->footer(
      "Examples:\n"
      "  shopctl serve                          # gateway on :8080, data in .shopctl/data\n"
      "  shopctl serve --data-dir D --gateway-port 0  # any free port, kept in D/identity.json\n"
      "  shopctl serve --ephemeral --gateway-port 0\n"
      "  shopctl serve --ephemeral --record session.yaml  # then: shopctl run session.yaml\n"
      "  shopctl serve --config shop.yaml --log-format json\n"
      "  shopctl serve --processes --ephemeral        # one process per service\n"
      "  shopctl serve --only catalog --bind 10.0.0.2 --config split.yaml \\\n"
      "      --config catalog.secrets.yaml --admin-port 9000  # one host (docs/deploy.md)\n"
      "\n"
      "Stopping: SIGINT, SIGTERM, SIGHUP or SIGQUIT closes the ports and lets the requests in\n"
      "flight finish, for up to gateway.upstream_timeout + 1 s (11 s by default, at least 3 s) in\n"
      "all; a request whose handler ran is always answered, one still running at the end is\n"
      "cut.\n"
      "A second signal during the drain stops at once, exit 128 + its number (as a SIGKILL\n"
      "would: nothing committed is lost; an --ephemeral folder is removed).\n"
      "\n"
      "Exit codes: 0 stopped by SIGINT/SIGTERM/SIGHUP/SIGQUIT, 1 bad command line (or a --record "
      "file "
      "that\n"
      "cannot be written: a folder, a device or pipe, a --config file), 2 an invalid --config,\n"
      "3 the shop could not start (a port taken, a\n"
      "corrupt identity.json, a database). SIGUSR1 and SIGUSR2 are said and ignored (no log\n"
      "file to reopen). These signals are serve's from its first instruction: one that comes\n"
      "while serve still reads its settings waits until the shop is up, which then stops\n"
      "cleanly, exit 0; one that comes while it waits for a port held in TIME-WAIT stops it\n"
      "then, exit 0.\n");
  cmd->add_option("--config", o->config_files,
                  "YAML settings (ports, peers, secrets, timeouts, breakers, catalog file); may be "
                  "given more than once, later files override earlier ones")
      ->check(CLI::ExistingFile);
  cmd->add_option("--only", o->only,
                  "Run only these services (comma-separated: gateway, auth, catalog, order, "
                  "payment, provider); the others are peers (docs/deploy.md)")
      ->delimiter(',');
  cmd->add_option(
      "--peer", o->peers,
      "Where a service of another process listens: SERVICE=URL (repeatable; config `peers:` too)");
  cmd->add_option("--bind", o->bind,
                  "Address the services listen on (default 127.0.0.1; config `host`)");
  cmd->add_option("--admin-port", o->admin_port,
                  "A port for this process's own admin plane (needed to start a stopped service of "
                  "a process without the gateway)")
      ->check(CLI::Range(0, 65535));
  cmd->add_flag("--processes", o->processes,
                "Run every service as a process of its own on this machine; a child that dies is "
                "started again");
  auto* data_dir =
      cmd->add_option("--data-dir", o->data_dir,
                      "Folder for the services' SQLite databases and identity.json (ports and "
                      "secrets kept across restarts)")
          ->capture_default_str();
  auto* gateway_port =
      cmd->add_option(
             "--gateway-port", o->gateway_port,
             "Port of the public gateway (0: any free port, the same one on every start with "
             "the same --data-dir)")
          ->capture_default_str()
          ->check(CLI::Range(0, 65535));
  // Both at once was --ephemeral with the folder silently ignored.
  cmd->add_flag("--ephemeral", o->ephemeral,
                "Keep the data in a temporary folder, removed at exit (not with --data-dir)")
      ->excludes(data_dir);
  cmd->add_option("--log-level", o->log_level, "debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  cmd->add_option("--log-format", o->log_format, "text or json (one JSON object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--threads", o->threads,
                  "Threads serving requests (0: the number of cores, at most 4)")
      ->check(CLI::Range(0u, shop::kMaxThreads));
  cmd->add_option("--record", o->record,
                  "Write the public /api/ traffic as a scenario file, for shopctl run to replay "
                  "(docs/scenarios.md)");
  cmd->add_flag("--print-config", o->print_config, "Print the effective settings and exit");
  cmd->callback([o, data_dir, gateway_port] {
    o->data_dir_given = data_dir->count() > 0;
    o->gateway_port_given = gateway_port->count() > 0;
    set_exit_code(run_serve(*o));
  });
}

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the version");
  cmd->callback([] {
    std::printf("shopctl %s\n", SHOPCTL_VERSION);
    set_exit_code(kExitOk);
  });
}

}  // namespace shopctl::cli

namespace shopctl::cli {

void block_serve_signals(sigset_t& signals) {
  sigemptyset(&signals);
  // SIGHUP: the session closed; SIGQUIT: Ctrl-\. Each stops as SIGTERM does (--ephemeral's
  // folder is removed).
  for (int sig : kStopSignals) sigaddset(&signals, sig);
  // Sent by log rotation and process managers; their default action ended the shop at once,
  // without its graceful stop (an outside probe). There is no log file to reopen: said, and
  // the shop runs on.
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

}  // namespace shopctl::cli
