#pragma once
// A whole shop in this process: the six services on loopback ports, one io_context per thread
// of a small pool, and the shop-wide seams (simulated clock, fault table, call records,
// service credentials). The only place that knows every service.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "platform/clock.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/http/message.hpp"
#include "platform/observe/call_log.hpp"
#include "platform/observe/log.hpp"
#include "platform/observe/public_traffic.hpp"
#include "shop/config.hpp"
#include "shop/identity.hpp"

namespace shopctl::platform {
class Service;
class ServiceHost;
}  // namespace shopctl::platform

namespace shopctl::shop {

// The most threads a shop serves requests on (`serve --threads`, the public ShopOptions).
inline constexpr unsigned kMaxThreads = 256;

// start() ended by ShopOptions::start_interrupted while it waited (what() says for what).
struct StartInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ShopOptions {
  unsigned threads = 0;  // 0: the number of cores (at least 1, at most 4); at most kMaxThreads
  platform::LogLevel log_level = platform::LogLevel::warn;
  platform::LogFormat log_format = platform::LogFormat::text;
  // Told of every public request the gateway answers (`serve --record`); empty: not recorded.
  platform::PublicTrafficObserver public_traffic;
  // Asked while start() waits for a port that connections in TIME-WAIT hold (up to 60 s): true
  // ends the start with StartInterrupted (serve: a stop signal is pending).
  std::function<bool()> start_interrupted;
};

struct ServiceInfo {
  std::string name;
  std::string url;
  std::filesystem::path database;  // empty for the gateway, and for a service of another process
  bool running = false;
  bool remote = false;  // runs in another process (config `peers:`)
  std::string admin;    // the admin plane of the process that runs it; may be empty
};

class Shop {
 public:
  // With a data folder (config.data_dir set), reads <data_dir>/identity.json and writes the
  // secrets it generates there before anything is signed (see shop/identity.hpp). Throws
  // IdentityError when that file is corrupt or cannot be written.
  explicit Shop(ShopConfig config, ShopOptions options = {});
  ~Shop();
  Shop(const Shop&) = delete;
  Shop& operator=(const Shop&) = delete;

  // Starts every service (catalog, auth, provider, payment, order, then the gateway), then
  // stores the ports picked at random in identity.json (a data folder only).
  // Throws std::runtime_error when a port cannot be bound (the message names the service and
  // the port, and says when the port came from identity.json) or a database cannot be opened.
  void start();
  // Graceful stop: in-flight requests finish (up to `grace` for the whole stop), databases close.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  // Takes one service down (connections refused) / brings it back with its data intact.
  // Throws std::invalid_argument for an unknown service.
  void stop_service(const std::string& name);
  void start_service(const std::string& name);
  void restart_service(const std::string& name);
  // Takes one service down abruptly, as if its process died (platform::Service::crash): the
  // requests in flight are abandoned, not finished. start_service() brings it back.
  void crash_service(const std::string& name);

  // After shutdown(): lets the threads, sockets and database connections go now, not when
  // this object goes (the public shopctl::Shop's shutdown, whose object may live on). Only
  // config(), data_dir(), admin_token(), clock() and faults() may be called afterwards; the
  // data folder stays (a temporary one goes with the object).
  void release_runtime();

  std::string url(const std::string& service) const;  // http://127.0.0.1:PORT
  // Whether `service` runs in this process (config `only:`; all of them by default).
  bool runs(const std::string& service) const;
  // This process's admin plane: its own admin port (config `admin_port`), else the gateway's
  // when the gateway runs here; empty when it has neither.
  std::string admin_url() const;
  // Runs `request` through `service`'s request pipeline on the shop's threads, as if it had
  // arrived on its port, and waits for the answer. No socket on the way in (calls the handler
  // makes to other services are real): for the HTTP fuzz target. Throws std::invalid_argument
  // for an unknown service.
  http::Response handle_in_process(const std::string& service, http::Request request);
  std::vector<ServiceInfo> services() const;
  const std::string& admin_token() const { return config_.admin_token; }
  const ShopConfig& config() const { return config_; }
  const std::filesystem::path& data_dir() const { return config_.data_dir; }
  // <data_dir>/identity.json; empty for a temporary data folder (nothing is kept).
  const std::filesystem::path& identity_file() const { return identity_file_; }

  // Applies the settings a running shop can take (shop/config.hpp: runtime_config_refusals)
  // from `config` to the running services: the order and payment edges' timeouts, retries
  // and breaker settings (each breaker's window restarts), the outbox's backoff, the webhook
  // tolerance, reconciliation's first wait, the orders' payment timeout, the token TTL, the
  // login throttle, the provider's webhook retries, and `seed` (fault choices and retry
  // jitter). Thread-safe; throws std::invalid_argument for breaker settings out of range.
  void apply_runtime_config(const ShopConfig& config);

  platform::SimulatedClock& clock() { return clock_; }
  // Moves the clock as the admin route does (platform::advance_clock): the offset is kept in
  // the data folder first, so a restart goes on from it. Throws as that does.
  void advance_clock(std::chrono::nanoseconds by);
  platform::FaultTable& faults() { return faults_; }
  platform::CallLog& calls() { return calls_; }
  platform::Logger& log() { return log_; }

 private:
  struct Impl;
  platform::Service& service(const std::string& name) const;
  // The hosts that serve the shop-wide admin routes: the gateway's (when it runs here) and
  // the process's own admin host (when it has one).
  std::vector<platform::ServiceHost*> admin_hosts() const;
  void add_shop_admin_routes();
  void add_baseline_admin_routes();
  // ServiceContext::admin_fanout of a process of a split shop.
  boost::asio::awaitable<http::Response> fan_out(http::Request& req);
  // Resets the shop when the run lease `holder` took or renewed until `until` runs out
  // unreleased (its run was killed).
  void watch_lease(const std::string& holder, std::chrono::steady_clock::time_point until);
  // Warns when identity.json is missing beside databases a shop has used: a start makes new
  // secrets, a new admin token and new ports then, without a word (an outside probe).
  void warn_identity_missing_beside_used_databases();

  ShopConfig config_;
  ShopOptions options_;
  bool temporary_data_ = false;
  // The data folder's flock (an open descriptor of the folder), held while the shop lives and
  // released after its databases have closed; empty for a temporary folder.
  std::shared_ptr<void> folder_lock_;
  bool shut_down_ = false;  // shutdown() ran: the folder's lock is let go
  std::filesystem::path identity_file_;
  Identity stored_identity_;
  AppliedIdentity identity_;
  platform::SimulatedClock clock_;
  platform::FaultTable faults_;
  platform::CallLog calls_;
  platform::Logger log_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopctl::shop
