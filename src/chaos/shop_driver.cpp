#include "chaos/shop_driver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "platform/admin_client.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/port_reservation.hpp"
#include "platform/input_file.hpp"
#include "platform/security/random.hpp"
#include "platform/store/database.hpp"
#include "platform/temp_folder.hpp"
#include "platform/yaml_document.hpp"
#include "shop/shop.hpp"

namespace shopctl::chaos {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Shoppers sign in once and keep their token while the clock jumps (chaos moves it by up to
// two hours during a run); a month outlives any run.
constexpr auto kTokenTtl = std::chrono::hours(24 * 30);

// A database of `dir` (or of its per-service folders, as serve --processes keeps them) that a
// running shop holds: its flock (store/database.cpp) is taken.
std::optional<fs::path> database_in_use(const fs::path& dir) {
  for (const auto& name : shop::service_names()) {
    for (const auto& file : {dir / (name + ".db"), dir / name / (name + ".db")}) {
      if (platform::database_held(file)) return file;
    }
  }
  return std::nullopt;
}

fs::path make_data_dir(const LocalShopOptions& o, bool& temporary) {
  temporary = o.data_dir.empty();
  if (!temporary) {
    // Refused before anything is written: chaos left its chaos-shop.yaml and serve.log in the
    // folder of the running shop that its own shop then failed to start on.
    if (auto held = database_in_use(o.data_dir)) {
      throw ShopError(o.data_dir.string() + " is in use by a running shop (" + held->string() +
                      " is locked): stop that shop first, or give chaos another --data-dir");
    }
    std::error_code ec;
    fs::create_directories(o.data_dir, ec);
    if (ec) throw ShopError("cannot create " + o.data_dir.string() + ": " + ec.message());
    return fs::absolute(o.data_dir);
  }
  try {
    auto folder = platform::make_temp_folder("shopctl-chaos");
    if (o.keep) platform::keep_temp_folder(folder);
    return folder;
  } catch (const std::runtime_error& e) {
    throw ShopError(e.what());
  }
}

void remove_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// The last line of `file` that is not empty (a child's last words), at most 300 bytes.
std::string last_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.substr(0, 300);
}

// Waits until the gateway answers an anonymous cart read with 401 (the shop is serving).
bool gateway_ready(const std::string& gateway, std::chrono::milliseconds limit,
                   const std::function<bool()>& alive) {
  http::BlockingClient client;
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (alive && !alive()) return false;
    try {
      http::Request req;
      req.method = "GET";
      if (client.send_url(gateway + "/api/cart", std::move(req), 1s).status == 401) return true;
    } catch (const http::TransportError&) {
      client.reset();
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class InProcess : public ShopDriver {
 public:
  explicit InProcess(const LocalShopOptions& o) : keep_(o.keep) {
    shop::ShopConfig config;
    config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
    config.seed = o.seed;
    // The shoppers walk away from orders on purpose (--abandon): no limit on a user's unpaid
    // orders, unless the user's config sets one.
    config.order_max_unpaid_orders = 0;
    try {
      if (!o.config_file.empty()) config = shop::load_config_file(o.config_file, config);
    } catch (const std::exception& e) {
      throw ShopError(e.what());
    }
    config.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(kTokenTtl);
    dir_ = make_data_dir(o, temporary_);
    config.data_dir = dir_;
    shop::ShopOptions options;
    options.threads = o.threads;
    options.log_level = platform::LogLevel::off;
    try {
      shop_ = std::make_unique<shop::Shop>(config, options);
      shop_->start();
    } catch (const std::exception& e) {
      shop_.reset();
      if (temporary_) remove_dir(dir_);
      throw ShopError(std::string("the shop could not start: ") + e.what());
    }
  }
  ~InProcess() override { finish(); }

  std::string gateway_url() const override { return shop_->url("gateway"); }
  std::string admin_token() const override { return shop_->admin_token(); }
  std::string describe() const override { return "in-process shop on " + dir_.string(); }
  std::optional<DatabaseFiles> databases() override { return files_in(dir_); }
  void finish() override {
    if (!shop_) return;
    shop_->shutdown(2000ms);
    shop_.reset();
    if (temporary_ && !keep_) remove_dir(dir_);
  }
  // The shop's threads end with the process; only the folder needs removing.
  std::string interrupt() override {
    if (temporary_ && !keep_) remove_dir(dir_);
    return "";
  }

 private:
  bool keep_ = false, temporary_ = false;
  fs::path dir_;
  std::unique_ptr<shop::Shop> shop_;
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

class ChildProcess : public ShopDriver {
 public:
  ChildProcess(const LocalShopOptions& o, fs::path binary)
      : keep_(o.keep), binary_(std::move(binary)) {
    dir_ = make_data_dir(o, temporary_);
    // The folder is chaos's while it runs: the shop's own lock on it (one shop per folder) went
    // with each SIGKILL, and a `serve` started then took the folder and the ports chaos held,
    // and chaos ended without checking anything (an outside probe). Chaos holds the lock, and
    // each shop it starts takes it through the descriptor it inherits (SHOPCTL_FOLDER_LOCK_FD,
    // shop.cpp): the same lock, not a second one.
    folder_lock_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    if (folder_lock_ < 0 || ::flock(folder_lock_, LOCK_EX | LOCK_NB) != 0) {
      if (folder_lock_ >= 0) ::close(folder_lock_);
      folder_lock_ = -1;
      throw ShopError("the data folder " + dir_.string() +
                      " is in use by another shop (the folder is locked): stop that one first, "
                      "or give chaos another --data-dir");
    }
    config_ = dir_ / "chaos-shop.yaml";
    log_ = dir_ / "serve.log";
    // The user's settings first, then what chaos needs to restart the shop as it was.
    YAML::Node root;
    try {
      if (!o.config_file.empty())
        root = platform::load_yaml_document(platform::read_input_file(o.config_file));
    } catch (const platform::InputFileError& e) {
      throw ShopError(o.config_file.string() + ": " + e.what());
    } catch (const YAML::Exception& e) {
      throw ShopError(o.config_file.string() + ": " + e.what());
    }
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    // Held while chaos runs: no other socket takes one while the shop is down after a SIGKILL
    // or before it binds them (port_reservation.hpp).
    for (const auto& name : shop::service_names())
      root["ports"][name] = held_ports_.emplace_back(0).port();
    root["host"] = "127.0.0.1";
    root["data_dir"] = dir_.string();
    root["seed"] = o.seed;
    root["secrets"]["jwt_secret"] = platform::security::random_hex(32);
    root["secrets"]["service_key"] = platform::security::random_hex(32);
    root["secrets"]["webhook_secret"] = "whsec_" + platform::security::random_hex(24);
    admin_token_ = "adm_" + platform::security::random_hex(16);
    root["secrets"]["admin_token"] = admin_token_;
    root["auth"]["token_ttl"] = "720h";
    root["auth"]["password_hashing"] = "fast";
    // As in process: the shoppers abandon orders on purpose; the user's config may set one.
    // (An `order:` that is no mapping is left for serve to refuse with its line.)
    if (!root["order"].IsDefined() ||
        (root["order"].IsMap() && !root["order"]["max_unpaid_orders"].IsDefined()))
      root["order"]["max_unpaid_orders"] = 0;
    gateway_ = "http://127.0.0.1:" + root["ports"]["gateway"].as<std::string>();
    {
      std::ofstream out(config_);
      out << "# Written by shopctl chaos --crash: fixed ports and secrets, so that a restart\n"
             "# after SIGKILL comes back at the same addresses with the same keys.\n"
          << YAML::Dump(root) << "\n";
      if (!out) throw ShopError("cannot write " + config_.string());
    }
    start();
  }
  ~ChildProcess() override {
    finish();
    if (folder_lock_ >= 0) ::close(folder_lock_);
  }

  std::string gateway_url() const override { return gateway_; }
  std::string admin_token() const override { return admin_token_; }
  std::string describe() const override {
    return "shopctl serve as a child process (pid " + std::to_string(pid_) + ") on " +
           dir_.string();
  }
  bool can_kill() const override { return true; }
  std::optional<DatabaseFiles> databases() override { return files_in(dir_); }
  fs::path log_file() const override { return log_; }

  void kill_and_restart(std::chrono::milliseconds down_for) override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    std::this_thread::sleep_for(down_for);
    start();
  }

  std::vector<std::string> unexpected_deaths() override {
    std::vector<std::string> out;
    if (pid_ <= 0) return out;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      out.push_back("shopctl serve (pid " + std::to_string(pid_) + ") " + describe_status(status) +
                    " without chaos killing it; see " + log_.string());
      pid_ = -1;
      start();
    }
    return out;
  }

  void finish() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(50ms);
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    if (temporary_ && !keep_ && !finished_) remove_dir(dir_);
    finished_ = true;
  }

  std::string interrupt() override {
    // No shop starts after this: a restart due meanwhile (kill_and_restart's down time, or a
    // death seen) started one after the folder was removed, which wrote into it again, and the
    // folder stayed (seen in CI beside the other lanes).
    {
      std::lock_guard spawn(spawn_mu_);
      interrupted_ = true;
    }
    // SIGKILL: chaos exits right after, and a shop killed at any moment comes back whole.
    if (const pid_t pid = pid_.load(); pid > 0) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    if (temporary_ && !keep_) remove_dir(dir_);
    return "";
  }

 private:
  void start() {
    std::string binary = binary_.string(), config = config_.string();
    // Held until the child's pid is known, so that interrupt() either stops this start or
    // kills the child it made.
    std::unique_lock spawn(spawn_mu_);
    if (interrupted_) return;
    int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) throw ShopError("cannot open " + log_.string());
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(log);
      throw ShopError("fork failed");
    }
    if (pid == 0) {
      // The shop dies with chaos, even a chaos killed with SIGKILL; getppid() covers a chaos
      // that died before prctl. (The signal follows the forking thread: chaos's main thread.)
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) _exit(1);
      sigset_t none;  // chaos blocks SIGINT and SIGTERM for its watcher; the shop takes its own
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
      ::setenv("SHOPCTL_FOLDER_LOCK_FD", std::to_string(folder_lock_).c_str(), 1);
      // A Ctrl-C meant for chaos reaches the shop through chaos's interrupt() or finish().
      ::setpgid(0, 0);
      const char* argv[] = {binary.c_str(), "serve", "--config", config.c_str(),
                            "--log-level",  "warn",  nullptr};
      ::execv(binary.c_str(), const_cast<char* const*>(argv));
      _exit(127);
    }
    ::close(log);
    pid_ = pid;
    spawn.unlock();
    std::optional<int> exit_status;  // set once the child ended (reaped here)
    auto alive = [this, &exit_status] {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
      exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    };
    if (!gateway_ready(gateway_, 30'000ms, alive)) {
      const pid_t pid_was = pid_;
      if (exit_status) {
        // It ended before it answered (a data folder another shop holds, a port taken): its
        // own last words say why, at once, not after 30 s of waiting.
        pid_ = -1;
        throw ShopError("shopctl serve (pid " + std::to_string(pid_was) + ") exited with " +
                        std::to_string(*exit_status) + " before it answered: " + last_line(log_) +
                        " (" + log_.string() + ")");
      }
      finish_child();
      throw ShopError("shopctl serve (pid " + std::to_string(pid_was) + ") did not answer at " +
                      gateway_ + " within 30 s; see " + log_.string());
    }
  }
  void finish_child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool keep_ = false, temporary_ = false, finished_ = false;
  std::mutex spawn_mu_;       // start()'s fork against interrupt()
  bool interrupted_ = false;  // under spawn_mu_: no shop starts any more
  fs::path binary_, dir_, config_, log_;
  std::string gateway_, admin_token_;
  std::vector<http::PortReservation> held_ports_;
  int folder_lock_ = -1;        // the data folder's flock, held from the start to the end of chaos
  std::atomic<pid_t> pid_{-1};  // read by interrupt() from the signal-watching thread
};

class Target : public ShopDriver {
 public:
  Target(std::string gateway, std::string token, std::optional<DatabaseFiles> files)
      : gateway_(std::move(gateway)), token_(std::move(token)), files_(std::move(files)) {}
  std::string gateway_url() const override { return gateway_; }
  std::string admin_token() const override { return token_; }
  std::string describe() const override { return "the running shop at " + gateway_; }
  bool watches_process() const override { return false; }
  std::optional<DatabaseFiles> databases() override { return files_; }
  // A running shop is someone else's: an interrupted run left its faults on and a crashed
  // service down, and the next run was refused for 30 s by the lease (an outside probe). Put
  // back as healing starts it (the clock stays where chaos moved it); the lease is released
  // after this.
  std::string interrupt() override {
    try {
      platform::AdminClient admin(gateway_, token_, std::chrono::seconds(5));
      const auto failed = switch_faults_off_and_start(admin);
      if (failed.empty())
        return "the shop's faults are off and every service runs again (its clock stays where "
               "chaos moved it)";
      std::string list;
      for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
      return "the shop could not be put back whole (" + list +
             "): check shopctl fault list and GET /_admin/services";
    } catch (const std::exception& e) {
      return std::string("the shop could not be put back (") + e.what() +
             "): check shopctl fault list and GET /_admin/services";
    }
  }

 private:
  std::string gateway_, token_;
  std::optional<DatabaseFiles> files_;
};

}  // namespace

const std::vector<std::string> kStoppable = {"auth", "catalog", "order", "payment", "provider"};

std::vector<std::string> switch_faults_off_and_start(platform::AdminClient& admin) {
  std::vector<std::string> refused;
  if (!admin.send("DELETE", "/_admin/faults").ok()) refused.push_back("its faults");
  for (const auto& s : kStoppable)
    if (!admin.send("POST", "/_admin/services/" + s + "/start").ok()) refused.push_back(s);
  return refused;
}

std::unique_ptr<ShopDriver> start_in_process(const LocalShopOptions& options) {
  return std::make_unique<InProcess>(options);
}

std::unique_ptr<ShopDriver> start_child_process(const LocalShopOptions& options,
                                                const fs::path& binary) {
  return std::make_unique<ChildProcess>(options, binary);
}

std::unique_ptr<ShopDriver> attach_target(const std::string& gateway_url,
                                          const std::string& admin_token,
                                          std::vector<std::string>& notes) {
  if (!gateway_ready(gateway_url, 5000ms, {}))
    throw ShopError("cannot reach a shopctl gateway at " + gateway_url +
                    " (GET /api/cart should answer 401)");
  platform::AdminClient admin(gateway_url, admin_token);
  platform::AdminAnswer services;
  try {
    services = admin.send("GET", "/_admin/services");
  } catch (const http::TransportError& e) {
    throw ShopError(std::string("GET /_admin/services: ") + e.what());
  }
  if (!services.ok())
    throw ShopError("GET /_admin/services answered " + std::to_string(services.status) + ": " +
                    services.error_message());
  std::map<std::string, fs::path> paths;
  if (services.body.contains("items"))
    for (const auto& s : services.body["items"])
      paths[s.value("name", std::string())] = s.value("database", std::string());
  DatabaseFiles files{paths["order"], paths["payment"], paths["provider"]};
  // Each file is read when it is on this machine; the checkers that need a missing one say so.
  for (const auto* f : {&files.order, &files.payment, &files.provider}) {
    std::error_code ec;
    if (f->empty() || !fs::exists(*f, ec))
      notes.push_back("the database " +
                      (f->empty() ? std::string("(none reported)") : f->string()) +
                      " is not on this machine: the invariants that read it are not checked");
  }
  return std::make_unique<Target>(gateway_url, admin_token, files);
}

}  // namespace shopctl::chaos
