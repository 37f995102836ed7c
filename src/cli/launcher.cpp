#include "cli/launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/port_reservation.hpp"
#include "platform/observe/log.hpp"
#include "platform/service_context.hpp"
#include "platform/temp_folder.hpp"
#include "platform/text_rules.hpp"
#include "shop/identity.hpp"
#include "shop/registry.hpp"

namespace shopctl::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Child {
  std::string service;
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;
  pid_t pid = -1;
  std::string died_starting;  // how it ended, when it died before it was ready (pid is -1)
  fs::path dir, log;
  std::deque<std::chrono::steady_clock::time_point> restarts;  // the last few
  // When its admin plane last answered /health/live (or it was started): a child that has not
  // answered for kHungAfter is hung (a deadlock, SIGSTOP) and is killed, to be started again.
  std::chrono::steady_clock::time_point answered;
  bool killed_hung = false;  // SIGKILL sent for that; not asked again until it is reaped
  // Dead and due to be started again at this time (pid is -1): see restart_delay.
  std::optional<std::chrono::steady_clock::time_point> restart_at;
};

// How long a child that died waits before it is started again, by its deaths in the last
// minute (this one included): the first at once (a crash costs the shop the least time), then
// 0.5, 1, 2 and 4 s, as systemd's RestartSec and Kubernetes' CrashLoopBackOff wait. Started
// again at once each time, a child that died of something that passes in a second or two (a
// port another process held a moment, a full disk being cleaned) used its six deaths within
// a second and stopped the whole shop (an outside probe).
std::chrono::milliseconds restart_delay(std::size_t deaths) {
  if (deaths <= 1) return std::chrono::milliseconds(0);
  return std::min(std::chrono::milliseconds(500) * (1 << std::min<std::size_t>(deaths - 2, 4)),
                  std::chrono::milliseconds(4000));
}

// How long a running child may leave its admin plane's /health/live unanswered before the
// launcher takes it for hung, and how often it asks. A child's own port is not asked: a
// service stopped through the admin plane closes it on purpose, while the process's admin
// plane, on the same threads, keeps answering. Longer than an admin fan-out waits for one
// process (10 s, Shop's admin sender): a process that a fan-out found stopped and that
// answers again at once is not killed under it.
constexpr auto kHungAfter = std::chrono::seconds(15);
constexpr auto kLivenessEvery = std::chrono::seconds(1);

std::string url_of(std::uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

// Replaces `file` with `text`, created 0600.
void write_private_file(const fs::path& file, const std::string& text) {
  auto temp = file;
  temp += ".tmp";
  {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + temp.string());
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + temp.string());
  }
  fs::rename(temp, file);
}

// A child's own secrets: only those its service uses (shop::secrets_used_by), as each host of
// a split shop holds only its own (docs/deploy.md). Written 0600 in the child's folder.
void write_child_secrets(const fs::path& file, const shop::ShopConfig& c, const Child& child) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "secrets" << YAML::Value << YAML::BeginMap;
  for (const auto& name : shop::secrets_used_by({child.service})) {
    out << YAML::Key << name << YAML::Value << shop::secret_field(c, name);
  }
  out << YAML::EndMap << YAML::EndMap;
  write_private_file(file, std::string(out.c_str()) + "\n");
}

// The settings every child shares: every service's port and address, every process's admin
// plane. No secrets (write_child_secrets); written 0600 all the same.
void write_shared_config(const fs::path& file, const std::vector<Child>& children) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "host" << YAML::Value << "127.0.0.1";
  out << YAML::Key << "ports" << YAML::Value << YAML::BeginMap;
  for (const auto& ch : children) out << YAML::Key << ch.service << YAML::Value << ch.port;
  out << YAML::EndMap;
  out << YAML::Key << "peers" << YAML::Value << YAML::BeginMap;
  for (const auto& ch : children) {
    out << YAML::Key << ch.service << YAML::Value << YAML::BeginMap << YAML::Key << "url"
        << YAML::Value << url_of(ch.port) << YAML::Key << "admin" << YAML::Value
        << url_of(ch.admin_port) << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  write_private_file(file, std::string(out.c_str()) + "\n");
}

// The end of a child's log that died while starting: why it did is there (a launcher that
// said only "see .../serve.log" left the operator to look; an --ephemeral one is about to
// remove it with its folder, and the message would point at nothing).
void print_log_tail(const fs::path& log, std::FILE* to, bool removed) {
  std::ifstream in(log);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line.substr(0, 400));
    if (lines.size() > 20) lines.pop_front();
  }
  std::fprintf(to, "  the last %zu line(s) of %s%s:\n", lines.size(), log.c_str(),
               removed ? " (removed with the --ephemeral folder)" : "");
  for (const auto& line : lines)
    std::fprintf(to, "  | %s\n", platform::terminal_text(line, true).c_str());
  std::fflush(to);
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "stopped";
}

// The child is ready when its service answers /health/ready and so does its own admin plane.
// The admin plane starts only after the service has bound its port, and its port was picked
// for this child: so the answer is this child's, not that of another process that holds the
// service's port (an earlier shop on the same data folder), which would answer 200 as well.
bool ready(Child& ch, std::chrono::milliseconds limit) {
  http::BlockingClient client;
  auto until = std::chrono::steady_clock::now() + limit;
  auto answers = [&](std::uint16_t port) {
    try {
      http::Request req;
      req.method = "GET";
      return client.send_url(url_of(port) + "/health/ready", std::move(req), 1s).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  };
  while (std::chrono::steady_clock::now() < until) {
    if (pending_stop_signal() != 0) return false;
    int status = 0;
    if (::waitpid(ch.pid, &status, WNOHANG) == ch.pid) {
      ch.pid = -1;
      ch.died_starting = describe_status(status);
      return false;
    }
    if (answers(ch.admin_port) && answers(ch.port)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Whether a child's admin plane answers /health/live within a second.
bool answers_live(std::uint16_t admin_port) {
  try {
    http::BlockingClient client;
    http::Request req;
    req.method = "GET";
    return client.send_url(url_of(admin_port) + "/health/live", std::move(req), 1s).status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

// Once every child is up at the start: a circuit breaker that opened while a sibling was still
// starting is closed. Payment, started before order, sent the callbacks its outbox kept
// across the restart to order's closed port, opened payment -> order for its 30 s wait, and
// orders paid before the restart stayed PAYMENT_PENDING 30-70 s after it (in one process,
// every service listens before any starts its background work: Shop::start). Only at the start:
// after a crash of one child, its callers' breakers opened for a reason and keep their state.
// A breaker still CLOSED whose window holds failures from then has them cleared: payment's
// tries of 3 or 4 kept callbacks failed while order started, and the breaker opened once
// order answered, at the 5th call (3 of 5 failed), after this look; the last callback
// waited ~38 s (an outside probe). Returns the breakers closed ("payment:payment->order")
// and those whose failures were cleared.
struct StartingBreakers {
  std::vector<std::string> closed;
  std::vector<std::string> cleared;
};
StartingBreakers close_breakers_opened_while_starting(const std::vector<Child>& children,
                                                      const std::string& admin_token) {
  http::BlockingClient client;
  StartingBreakers result;
  for (const auto& ch : children) {
    try {
      http::Request list;
      list.method = "GET";
      list.headers.set("X-Admin-Token", admin_token);
      // A service's breakers are on its own admin routes (its service port).
      auto answer =
          client.send_url(url_of(ch.port) + "/_admin/circuit-breakers", std::move(list), 2s);
      if (answer.status != 200) continue;
      for (const auto& item :
           nlohmann::json::parse(answer.body).value("items", nlohmann::json::array())) {
        const bool open = item.value("state", "CLOSED") != "CLOSED";
        const auto failed = item.value("number_of_failed_calls", nlohmann::json(0));
        if (!open && !(failed.is_number_integer() && failed.get<long long>() > 0)) continue;
        const auto name = item.value("name", std::string());
        http::Request close;
        close.method = "POST";
        close.headers.set("X-Admin-Token", admin_token);
        close.headers.set("Content-Type", "application/json");
        close.body = R"({"state":"CLOSED"})";
        auto done = client.send_url(
            url_of(ch.port) + "/_admin/circuit-breakers/" + http::percent_encode(name),
            std::move(close), 2s);
        // Closing a CLOSED breaker starts its window afresh (CircuitBreaker::transition_to_closed).
        if (done.status == 200)
          (open ? result.closed : result.cleared).push_back(ch.service + ":" + name);
      }
    } catch (const std::exception&) {
      // A child that does not answer now keeps its breakers; the shop still starts.
    }
  }
  return result;
}

// One request to a child's own admin plane, for that process alone (kAdminScopeHeader: the
// gateway's process would answer a shop-wide request for every process).
http::Response child_admin_call(http::BlockingClient& client, std::uint16_t port,
                                const std::string& admin_token, const char* method,
                                const std::string& path, std::string body = {}) {
  http::Request req;
  req.method = method;
  req.headers.set("X-Admin-Token", admin_token);
  req.headers.set(std::string(platform::kAdminScopeHeader), "process");
  if (!body.empty()) {
    req.headers.set("Content-Type", "application/json");
    req.body = std::move(body);
  }
  return client.send_url(url_of(port) + path, std::move(req), 2s);
}

// A restarted child begins at the real time, its siblings at the time an admin advance left
// them: it gets the same advance as a sibling that kept running, so the shop keeps one
// simulated time (an unpaid order expires by the same clock in order and payment). Returns
// the offset given, or a problem.
std::string sync_clock(const Child& restarted, const std::vector<Child>& children,
                       const std::string& admin_token) {
  http::BlockingClient client;
  // The shop's clock is the furthest any sibling has gone (a sibling that restarted too may
  // still read 0); the restarted child is moved by what it lacks of that, not by the whole
  // offset: an advance that reached it between its start and this sync was counted twice.
  auto offset_of = [&](std::uint16_t port) -> std::optional<std::int64_t> {
    try {
      auto answer = child_admin_call(client, port, admin_token, "GET", "/_admin/clock");
      if (answer.status != 200) return std::nullopt;
      return nlohmann::json::parse(answer.body).at("offset_ms").get<std::int64_t>();
    } catch (const std::exception&) {
      return std::nullopt;  // that process is itself restarting
    }
  };
  std::int64_t shop_offset = 0;
  std::string from;
  for (const auto& sibling : children) {
    if (&sibling == &restarted || sibling.pid <= 0 || sibling.admin_port == 0) continue;
    if (auto offset = offset_of(sibling.admin_port); offset && *offset > shop_offset) {
      shop_offset = *offset;
      from = sibling.service;
    }
  }
  const auto own = offset_of(restarted.admin_port);
  if (!own) return "its clock could not be read";
  const std::int64_t missing = shop_offset - *own;
  if (missing <= 0) return "";
  try {
    auto moved =
        child_admin_call(client, restarted.admin_port, admin_token, "POST", "/_admin/clock/advance",
                         nlohmann::json{{"by", std::to_string(missing) + "ms"}}.dump());
    if (moved.status != 200)
      return "its clock could not be advanced (" + std::to_string(moved.status) + ")";
  } catch (const std::exception& e) {
    return std::string("its clock could not be advanced (") + e.what() + ")";
  }
  return "its clock advanced by " + std::to_string(missing) + " ms, to " + from + "'s";
}

// A restarted child begins with an empty fault table, its siblings with the shop's faults
// (every process holds each fault: the admin plane adds it to all of them): it gets theirs, in
// their order (the first fault that picks a request wins), with their ids. A catalog child
// killed during an outage drill came back serving, while `fault list` still showed the
// outage on (an outside probe). Its counts start at 0, as a `first`, `every` or `after` select
// does: each process counts the requests it sees. Returns what was done, or a problem.
std::string sync_faults(const Child& restarted, const std::vector<Child>& children,
                        const std::string& admin_token) {
  http::BlockingClient client;
  std::optional<nlohmann::json> faults;
  std::string from;
  for (const auto& sibling : children) {
    if (&sibling == &restarted || sibling.pid <= 0 || sibling.admin_port == 0) continue;
    try {
      auto answer =
          child_admin_call(client, sibling.admin_port, admin_token, "GET", "/_admin/faults");
      if (answer.status != 200) continue;
      faults = nlohmann::json::parse(answer.body).at("items");
      from = sibling.service;
      break;
    } catch (const std::exception&) {
      // that process is itself restarting: ask the next one
    }
  }
  if (!faults) return "";  // no sibling answered: nothing known to copy
  if (faults->empty()) return "";
  std::size_t copied = 0;
  for (auto fault : *faults) {
    for (const char* count : {"matched", "shadowed", "applied"}) fault.erase(count);
    try {
      auto added = child_admin_call(client, restarted.admin_port, admin_token, "POST",
                                    "/_admin/faults", fault.dump());
      if (added.status != 200 && added.status != 201)
        return "fault " + fault.value("id", std::string()) + " could not be added again (" +
               std::to_string(added.status) + ")";
      ++copied;
    } catch (const std::exception& e) {
      return "fault " + fault.value("id", std::string()) + " could not be added again (" +
             e.what() + ")";
    }
  }
  return "its " + std::to_string(copied) + " fault" + (copied == 1 ? "" : "s") + " added again, " +
         "as " + from + " has them";
}

}  // namespace

int run_processes(shop::ShopConfig config, const LauncherOptions& o) {
  std::error_code ec;
  // A note of the launcher's own on standard error: with --log-format json, one JSON log line
  // (a plain-text line went into a pipeline that reads JSON lines; an outside probe).
  const auto note = [json = o.log_format == "json"](const std::string& what) {
    if (!json) {
      std::cerr << "shopctl serve --processes: " << what << "\n";
      return;
    }
    std::cerr.flush();
    platform::Logger(platform::LogLevel::warn, platform::LogFormat::json)
        .warn(what, {{"command", "shopctl serve --processes"}});
  };
  fs::path dir = o.data_dir;
  if (o.ephemeral) {
    try {
      dir = platform::make_temp_folder("shopctl-processes");
    } catch (const std::runtime_error& e) {
      std::cerr << "shopctl serve: " << e.what() << "\n";
      return kExitShop;
    }
  }
  std::vector<Child> children;
  // Every child's two ports, held from the moment they are picked (or read from the folder)
  // until the launcher ends: no other socket can take one before its child binds it, or while
  // the child is down and being started again (port_reservation.hpp).
  std::vector<http::PortReservation> held;
  fs::path shared = dir / "processes.yaml";
  // The data folder is this launcher's while it runs: an exclusive flock on the folder itself,
  // taken before identity.json is read, dropped with the process however it ends. Two
  // launchers started at once on a new folder each wrote their own identity, and the one whose
  // children then found the databases taken could leave its ports and secrets in the file: the
  // running shop came back on them at its next start, with every token and pay link dead.
  int folder_lock = -1;
  struct CloseLock {
    int& fd;
    ~CloseLock() {
      if (fd >= 0) ::close(fd);
    }
  } close_lock{folder_lock};
  // A stop signal before any child started stops the launcher then: said, the ephemeral
  // folder removed, exit 0 (as a stop of the running shop).
  auto stop_before_children = [&](int sig, const std::string& while_doing) {
    std::printf("shopctl: %s received while %s, stopping\n", signal_name(sig).c_str(),
                while_doing.c_str());
    std::fflush(stdout);
    if (o.ephemeral) fs::remove_all(dir, ec);
    return kExitOk;
  };
  try {
    fs::create_directories(dir);
    folder_lock = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folder_lock < 0 || ::flock(folder_lock, LOCK_EX | LOCK_NB) != 0) {
      throw std::runtime_error(dir.string() +
                               " is in use by another shopctl serve --processes (the folder is "
                               "locked): stop that one first, or give another --data-dir");
    }
    // The shop's identity (secrets, service ports) is the launcher's to keep, as serve keeps
    // its own: the same on every start with the same data folder.
    auto identity_path = shop::identity_file(dir);
    auto stored = shop::read_identity(identity_path).value_or(shop::Identity{});
    // As serve does (docs/configuration.md, "Identity"): a port from the command line or config
    // is for this start and is not stored; the shop keeps the ports it picked itself. (The
    // launcher stored every port it bound, so one start with --gateway-port N moved the shop's
    // door for good, and a provider port override killed every pay link handed out before it.)
    // A child's folder still locked: this launcher holds the shop's folder, so its holder is a
    // child of a launcher killed with SIGKILL, which finishes its requests in flight before it
    // ends (SIGTERM from the kernel, up to gateway.upstream_timeout + 1 s). A restart at once
    // (a process manager's) failed for those seconds with exit 3, the cause only in the child's
    // serve.log (an outside probe). Waited for, said once; then refused, naming the folder.
    // Before the ports are reserved: such a child may still listen on its port (it closes it as
    // it ends), and a reservation made first failed at once with "port ... is taken, wanted by
    // auth" on a loaded machine (seen in CI).
    {
      const auto drain = std::max(std::chrono::milliseconds(3000),
                                  config.gateway_upstream_timeout + std::chrono::seconds(1));
      const auto until = std::chrono::steady_clock::now() + drain + std::chrono::seconds(5);
      bool said = false;
      for (const auto& spec : shop::service_registry()) {
        const fs::path child_dir = dir / spec.name;
        while (true) {
          const int fd = ::open(child_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          const bool locked =
              fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
          if (fd >= 0) ::close(fd);  // releases the lock if this took it
          if (!locked) break;
          // A stop signal meanwhile stops it then, as during the children's start: it acted
          // only once the wait was over, up to 16 s (an outside probe).
          if (const int sig = take_pending_stop_signal())
            return stop_before_children(sig, "waiting for " + child_dir.string());
          if (std::chrono::steady_clock::now() >= until) {
            throw std::runtime_error(
                "the data folder " + child_dir.string() +
                " is in use by another shop (the folder is locked): stop that one first");
          }
          if (!said) {
            note(child_dir.string() +
                 " is still held by a process of an earlier launcher that ended (killed?), "
                 "which finishes its requests in flight first: waiting up to " +
                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(drain).count() +
                                5) +
                 " s");
            said = true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
    auto applied = shop::apply_identity(config, stored);
    std::map<std::string, std::uint16_t> bound;
    for (const auto& spec : shop::service_registry()) {
      auto& port = config.ports[spec.name];
      const bool configured = applied.shop_ports.count(spec.name) == 0;
      // A kept port that only connections in TIME-WAIT hold is free within the kernel's 60 s:
      // waited for, not refused (http::wait_out_time_wait).
      const bool waited = http::wait_out_time_wait(
          "127.0.0.1", port, std::chrono::seconds(61),
          [&] {
            note("port " + std::to_string(port) + " of " + spec.name +
                 " is held by a closed connection in TIME-WAIT (the system frees it within "
                 "60 s): waiting for it");
          },
          [] { return pending_stop_signal() != 0; });
      if (!waited) {
        // A stop signal while it waits stops it then (it waited out the minute, deaf to SIGTERM;
        // an outside probe), as one while the children start does: nothing was started.
        return stop_before_children(
            take_pending_stop_signal(),
            "waiting for port " + std::to_string(port) + " of " + spec.name);
      }
      try {
        held.emplace_back(port);
      } catch (const std::runtime_error& e) {
        // A port given or kept in the folder that some process listens on: most likely a shop
        // already running on this data folder.
        // Said as plain serve says it: a port from the command line or config is
        // "configured", one from the folder "kept in identity.json" (it blamed the folder for
        // the default --gateway-port 8080).
        throw std::runtime_error(std::string(e.what()) + ", wanted by " + spec.name +
                                 (configured ? std::string(" (configured)")
                                  : applied.stored_ports.count(spec.name) != 0
                                      ? " (kept in " + identity_path.string() +
                                            "; is another shop running on this data folder?)"
                                      : std::string()));
      }
      port = held.back().port();
      bound[spec.name] = port;
    }
    shop::record_bound_ports(applied, bound);
    if (applied.to_store != stored) shop::write_identity(identity_path, applied.to_store);
    for (const auto& spec : shop::service_registry()) {
      Child ch;
      ch.service = spec.name;
      ch.port = config.ports.at(spec.name);
      ch.admin_port = held.emplace_back(0).port();
      ch.dir = dir / spec.name;
      ch.log = ch.dir / "serve.log";
      fs::create_directories(ch.dir);
      children.push_back(std::move(ch));
    }
    // One clock for the shop: each child keeps its own clock.json, and a clock advance that
    // some children missed (a child that did not answer) kept them apart across a restart of
    // the whole shop. Each starts from the furthest any of them reached. A clock.json that
    // cannot be read is left for its child to refuse, naming it.
    std::chrono::nanoseconds furthest{0};
    std::vector<std::pair<fs::path, std::chrono::nanoseconds>> offsets;
    for (const auto& ch : children) {
      try {
        const auto file = shop::clock_file(ch.dir);
        offsets.emplace_back(file, shop::read_clock_offset(file));
        furthest = std::max(furthest, offsets.back().second);
      } catch (const shop::IdentityError&) {
      }
    }
    for (const auto& [file, offset] : offsets) {
      if (offset < furthest) shop::write_clock_offset(file, furthest);
    }
    write_shared_config(shared, children);
    for (const auto& ch : children) write_child_secrets(ch.dir / "secrets.yaml", config, ch);
  } catch (const fs::filesystem_error& e) {
    // Said as plain serve says it, not in std::filesystem's words ("filesystem error: cannot
    // create directories: Not a directory [D]").
    say_serve_failure("shopctl serve --processes", o.log_format == "json",
                      "the shop could not start",
                      "cannot make the data folder " + e.path1().string() + ": " +
                          (e.code() == std::errc::not_a_directory
                               ? std::string("a file is in the way (--data-dir names a folder)")
                               : e.code().message()));
    if (o.ephemeral) fs::remove_all(dir, ec);
    return kExitShop;
  } catch (const std::exception& e) {
    say_serve_failure("shopctl serve --processes", o.log_format == "json",
                      "the shop could not start", e.what());
    if (o.ephemeral) fs::remove_all(dir, ec);
    return kExitShop;
  }

  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : kStopSignals) sigaddset(&signals, sig);
  sigaddset(&signals, SIGCHLD);
  // Log rotation's and process managers' signals: said, and the shop runs on (their default
  // action ended the launcher at once, and every child with it).
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The children run this very binary; named by its path, so that ps shows what they are.
  std::error_code self_ec;
  const std::string self = fs::read_symlink("/proc/self/exe", self_ec).string();
  auto spawn = [&](Child& ch) {
    int log = ::open(ch.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) throw std::runtime_error("cannot open " + ch.log.string());
    std::vector<std::string> args = {self.empty() ? "/proc/self/exe" : self, "serve", "--only",
                                     ch.service};
    for (const auto& f : o.config_files) args.insert(args.end(), {"--config", f});
    args.insert(
        args.end(),
        {"--config", shared.string(), "--config", (ch.dir / "secrets.yaml").string(), "--data-dir",
         ch.dir.string(), "--admin-port", std::to_string(ch.admin_port), "--log-level", o.log_level,
         "--log-format", o.log_format, "--threads", std::to_string(o.threads)});
    const pid_t launcher = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log);
      throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
      // A child dies with the launcher, even one killed with SIGKILL: an orphan would keep
      // serving on the folder's ports. If the launcher died before prctl, getppid() tells.
      // (The signal follows the forking thread; the launcher forks from its only thread.)
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) _exit(1);
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      // With --log-format json, serve.log holds JSON lines only: the child's banner (plain text,
      // with the admin token and the demo password) went into the log pipeline too (an outside
      // probe). The launcher prints every address itself; the logs are on standard error.
      if (o.log_format == "json") {
        const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        ::dup2(null >= 0 ? null : log, STDOUT_FILENO);
      } else {
        ::dup2(log, STDOUT_FILENO);
      }
      ::dup2(log, STDERR_FILENO);
      ::setpgid(0, 0);  // Ctrl-C reaches the children through the launcher, in order
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(log);
    ch.pid = pid;
    ch.answered = std::chrono::steady_clock::now();
    ch.killed_hung = false;
  };
  auto stop_all = [&] {
    // The door first, then the services behind it (reverse start order), each once the one
    // before it has exited: a gateway still finishing a checkout needs order, payment and the
    // provider behind it (all were signalled at once, and a checkout in flight at the stop
    // failed 503 payment_unavailable, an outside probe). A child drains for as long as the
    // gateway waits for an answer plus a second (serve's stop); past that and 2 s more it is
    // killed. A child that is not running is skipped.
    const auto patience = std::max(std::chrono::milliseconds(3000),
                                   config.gateway_upstream_timeout + std::chrono::seconds(1)) +
                          2s;
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      auto& ch = *it;
      if (ch.pid <= 0) continue;
      ::kill(ch.pid, SIGTERM);
      const auto until = std::chrono::steady_clock::now() + patience;
      while (ch.pid > 0) {
        int status = 0;
        if (const int again = take_pending_stop_signal()) {
          // A second stop signal during the drain stops at once, as serve's does (exit 128 +
          // its number): the launcher waited out every child's drain, deaf to it (an outside
          // probe: 20 s after three Ctrl-C). The children left are killed: nothing committed is
          // lost (docs/money.md).
          note("a second " + signal_name(again) +
               ": stopping now, without waiting for the requests in flight");
          for (auto& left : children) {
            if (left.pid <= 0) continue;
            ::kill(left.pid, SIGKILL);
            ::waitpid(left.pid, &status, 0);
            left.pid = -1;
          }
          if (o.ephemeral) fs::remove_all(dir, ec);
          std::fflush(stdout);
          std::_Exit(128 + again);
        }
        if (::waitpid(ch.pid, &status, WNOHANG) == ch.pid) {
          ch.pid = -1;
        } else if (std::chrono::steady_clock::now() > until) {
          // Said: a hung child is why the stop took this long (it was killed without a word).
          note(ch.service + " (pid " + std::to_string(ch.pid) + ") did not stop within " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(patience).count()) +
               " s of SIGTERM: killed (SIGKILL)");
          ::kill(ch.pid, SIGKILL);
          ::waitpid(ch.pid, &status, 0);
          ch.pid = -1;
        } else {
          std::this_thread::sleep_for(5ms);
        }
      }
    }
    if (o.ephemeral) fs::remove_all(dir, ec);
  };

  auto started = std::chrono::steady_clock::now();
  try {
    for (auto& ch : children) {
      spawn(ch);
      const bool up = ready(ch, 30s);
      if (const int sig = take_pending_stop_signal()) {
        // Taken now, so that it does not stop the shop a second time below.
        std::printf("shopctl: %s received while starting, stopping every process\n",
                    signal_name(sig).c_str());
        std::fflush(stdout);
        stop_all();
        std::printf("shopctl: stopped\n");
        return kExitOk;
      }
      if (!up) {
        throw std::runtime_error(ch.service +
                                 (ch.pid < 0 ? " " + ch.died_starting + " while starting"
                                             : std::string(" did not become ready")) +
                                 "; see " + ch.log.string());
      }
    }
  } catch (const std::exception& e) {
    say_serve_failure("shopctl serve --processes", o.log_format == "json",
                      "the shop could not start", e.what());
    // With --log-format json, standard error holds JSON lines only (the log is named).
    if (o.ephemeral || o.log_format != "json") {
      for (const auto& ch : children) {
        if (ch.pid < 0 && !ch.died_starting.empty()) print_log_tail(ch.log, stderr, o.ephemeral);
      }
    }
    stop_all();
    return kExitShop;
  }
  const auto starting_breakers = close_breakers_opened_while_starting(children, config.admin_token);
  auto ready_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::printf("shopctl %s: the shop is up in %.1f ms, one process per service\n\n", SHOPCTL_VERSION,
              ready_ms);
  auto print_list = [](const char* what, const std::vector<std::string>& breakers) {
    if (breakers.empty()) return;
    std::string list;
    for (const auto& b : breakers) list += (list.empty() ? "" : ", ") + b;
    std::printf("  %s: %s\n\n", what, list.c_str());
  };
  print_list("closed the circuit breakers opened while the processes started",
             starting_breakers.closed);
  print_list("cleared the failures the circuit breakers recorded while the processes started",
             starting_breakers.cleared);
  std::printf("  %-9s %-24s %-24s %-8s %s\n", "SERVICE", "URL", "ADMIN PLANE", "PID", "LOG");
  for (const auto& ch : children) {
    std::printf("  %-9s %-24s %-24s %-8d %s\n", ch.service.c_str(), url_of(ch.port).c_str(),
                url_of(ch.admin_port).c_str(), static_cast<int>(ch.pid), ch.log.c_str());
  }
  std::printf(
      "\n  public door   %s\n  admin token   %s  (tools fan out from the gateway's admin plane)\n"
      "  settings      %s\n\nA child that dies, or hangs for %lld s, is started again. Ctrl-C "
      "stops the shop.\n",
      url_of(config.ports.at("gateway")).c_str(), config.admin_token.c_str(), shared.c_str(),
      static_cast<long long>(kHungAfter.count()));
  std::fflush(stdout);

  int code = kExitOk;
  auto last_liveness = std::chrono::steady_clock::now();
  while (true) {
    timespec wait{0, 200'000'000};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGUSR1 || sig == SIGUSR2) {
      std::printf(
          "shopctl: %s received: nothing to do (each process logs to its serve.log, "
          "opened for appending); still running\n",
          sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
      std::fflush(stdout);
      continue;
    }
    if (std::find(kStopSignals.begin(), kStopSignals.end(), sig) != kStopSignals.end()) {
      std::printf("\nshopctl: %s received, stopping every process\n", signal_name(sig).c_str());
      std::fflush(stdout);
      break;
    }
    // A child that hangs (a deadlock, SIGSTOP) is killed, and comes back as one that died: it
    // held its ports and every request to it waited for ever (an outside probe).
    if (const auto now = std::chrono::steady_clock::now(); now - last_liveness >= kLivenessEvery) {
      last_liveness = now;
      for (auto& ch : children) {
        if (ch.pid <= 0 || ch.killed_hung) continue;
        if (answers_live(ch.admin_port)) {
          ch.answered = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - ch.answered >= kHungAfter) {
          std::printf(
              "shopctl: %s (pid %d) has not answered its admin plane's /health/live for "
              "%lld s (hung or stopped): killing it (SIGKILL)\n",
              ch.service.c_str(), static_cast<int>(ch.pid),
              static_cast<long long>(kHungAfter.count()));
          std::fflush(stdout);
          ::kill(ch.pid, SIGKILL);
          ch.killed_hung = true;
        }
      }
    }
    // A child that died (SIGKILL, a crash) comes back, unless it keeps dying; after its first
    // death in a minute, not at once (restart_delay).
    bool give_up = false;
    for (auto& ch : children) {
      int status = 0;
      if (ch.restart_at) {
        // Waiting out its delay: started once that has passed.
        if (std::chrono::steady_clock::now() < *ch.restart_at) continue;
        ch.restart_at.reset();
        std::printf("shopctl: starting %s again\n", ch.service.c_str());
      } else {
        if (ch.pid > 0) {
          if (::waitpid(ch.pid, &status, WNOHANG) != ch.pid) continue;
          std::printf("shopctl: %s (pid %d) %s; ", ch.service.c_str(), static_cast<int>(ch.pid),
                      describe_status(status).c_str());
          ch.pid = -1;
        } else {
          // Started again, it died before it was ready (ready() reaped it).
          std::printf("shopctl: %s %s while starting; ", ch.service.c_str(),
                      ch.died_starting.c_str());
        }
        auto now = std::chrono::steady_clock::now();
        ch.restarts.push_back(now);
        while (!ch.restarts.empty() && now - ch.restarts.front() > 60s) ch.restarts.pop_front();
        if (ch.restarts.size() > 5) {
          std::printf("it died %zu times in a minute: giving up (see %s)\n", ch.restarts.size(),
                      ch.log.c_str());
          if (o.ephemeral || o.log_format != "json") print_log_tail(ch.log, stdout, o.ephemeral);
          give_up = true;
          break;
        }
        if (const auto delay = restart_delay(ch.restarts.size()); delay.count() > 0) {
          std::printf("starting it again in %.1f s (%zu deaths in a minute; see %s)\n",
                      std::chrono::duration<double>(delay).count(), ch.restarts.size(),
                      ch.log.c_str());
          std::fflush(stdout);
          ch.restart_at = now + delay;
          continue;
        }
        std::printf("starting it again\n");
      }
      std::fflush(stdout);
      try {
        spawn(ch);
        if (ready(ch, 30s)) {
          for (const auto& done : {sync_clock(ch, children, config.admin_token),
                                   sync_faults(ch, children, config.admin_token)})
            if (!done.empty()) std::printf("shopctl: %s: %s\n", ch.service.c_str(), done.c_str());
        } else if (ch.pid > 0) {
          std::printf("shopctl: %s is not ready yet; see %s\n", ch.service.c_str(), ch.log.c_str());
        }
      } catch (const std::exception& e) {
        std::printf("shopctl: cannot start %s again: %s\n", ch.service.c_str(), e.what());
        give_up = true;
      }
      std::fflush(stdout);
    }
    if (give_up) {
      code = kExitShop;
      break;
    }
  }
  stop_all();
  std::printf("shopctl: stopped\n");
  return code;
}

}  // namespace shopctl::cli
