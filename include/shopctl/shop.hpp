#pragma once
// A whole shop in this process, as `shopctl serve` runs it: the six services (gateway, auth,
// catalog, order, payment, provider) on loopback ports, each with its SQLite database, and the
// shop-wide seams: a simulated clock, the fault table, the call records. For programs that
// embed a shop in their own tests. Part of the public API (docs/architecture.md, "The public
// C++ API"): standard types only.
//
//   shopctl::ShopOptions options;
//   options.config_yaml = "auth: {password_hashing: fast}";  // cheap hashing, for tests
//   shopctl::Shop shop(options);
//   // ... HTTP to shop.gateway_url(), faults, shop.advance_clock(61s) ...
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shopctl/admin_client.hpp"

namespace shopctl {

enum class LogLevel { debug, info, warn, error, off };

struct ShopOptions {
  // Where the services keep their databases and identity.json (ports and secrets kept across
  // restarts, docs/configuration.md). Empty: a temporary folder, removed when the Shop goes.
  std::string data_dir;
  // Ports by service name. A service left out, or 0: any free port (ports of a data_dir shop
  // are then kept in its identity.json). Applied over the config's `ports:`; two services on
  // one port are refused.
  std::map<std::string, std::uint16_t> ports;
  // Threads that serve requests. 0: the number of cores, at least 1, at most 4. At most 256.
  unsigned threads = 0;
  // YAML settings, as `shopctl serve --config FILE` takes them (docs/configuration.md); the
  // file first, then the text over it. Empty: none.
  std::string config_file;
  std::string config_yaml;
  // The seed of fault choices and retry jitter; unset: the config's (0 by default).
  std::optional<std::uint64_t> seed;
  LogLevel log_level = LogLevel::off;  // log lines on stderr
  bool log_json = false;               // one JSON object per line instead of text
};

// Calls on one Shop come from one thread at a time; the shop serves requests on threads of
// its own meanwhile. A Shop that was moved from throws std::logic_error on every call but
// shutdown(), which does nothing.
class Shop {
 public:
  // Reads the settings, then starts every service and waits until they listen.
  // Throws std::invalid_argument when the settings are invalid (every problem as
  // "file:line:col: message", one a line) and std::runtime_error when the shop cannot start
  // (a port taken, a corrupt identity.json, a database that cannot be opened).
  explicit Shop(const ShopOptions& options = {});
  // Stops the shop as shutdown() does.
  ~Shop();
  Shop(Shop&&) noexcept;
  Shop& operator=(Shop&&) noexcept;

  // Stops every service: in-flight requests finish (up to `grace`), databases close, and the
  // shop's threads and sockets go (a temporary data folder stays until the object goes). Does
  // nothing the second time. Afterwards the calls that change the shop (services, clock,
  // faults) throw std::logic_error; the reads still answer (services() shows none running).
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(2));

  // The public door: http://127.0.0.1:PORT.
  std::string gateway_url() const;
  // A service's URL. Throws std::invalid_argument for an unknown service.
  std::string url(const std::string& service) const;
  std::vector<ServiceInfo> services() const;
  // The token of the admin plane (header X-Admin-Token on /_admin/ of any service).
  std::string admin_token() const;
  // The data folder (a temporary one when ShopOptions::data_dir was empty).
  std::string data_dir() const;
  // The demo user the shop seeds (`auth.demo_user` in the settings); empty when it seeds none.
  std::string demo_email() const;
  std::string demo_password() const;

  // Takes one service down (connections refused) / brings it back with its data intact /
  // both. crash_service() takes it down as if its process died: requests in flight are
  // abandoned, not finished. Throws std::invalid_argument for an unknown service. Unlike
  // AdminClient's (409: the gateway serves the admin plane), these take the gateway too:
  // the Shop object starts it again without it.
  void stop_service(const std::string& name);
  void start_service(const std::string& name);
  void restart_service(const std::string& name);
  void crash_service(const std::string& name);

  // Moves the simulated clock forward (breakers, token expiry, webhook age, backoff all read
  // it); returns its total offset from real time. Negative `by` does nothing. Throws
  // std::invalid_argument, and moves nothing, past 100 years ahead in all. With a data folder
  // of its own the offset is kept there first (clock.json: a Shop started again on the folder
  // goes on from it); when it cannot be, std::runtime_error, and nothing moves.
  std::chrono::milliseconds advance_clock(std::chrono::milliseconds by);
  std::chrono::milliseconds clock_offset() const;

  // Switches a fault on; returns its id. Throws std::invalid_argument, with the same message
  // as `shopctl fault add`, for a spec the shop refuses, and std::length_error when the table
  // already holds 1,000 faults (a new id; replacing one by its id always works).
  std::string add_fault(const FaultSpec& spec);
  // The same from wire JSON text (`shopctl fault add --json`, POST /_admin/faults).
  std::string add_fault_json(const std::string& fault_json);
  // Switches one fault off; returns false when there was no such fault.
  bool remove_fault(const std::string& id);
  void clear_faults();
  // The faults and their counters ({"items": [...]}), as JSON text.
  std::string faults_json() const;

  // A client for this shop's admin plane (breakers, call records, ...), through the gateway.
  AdminClient admin_client() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopctl
