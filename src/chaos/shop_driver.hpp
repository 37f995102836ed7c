#pragma once
// `shopctl chaos`: the shop under test, three ways. In this process (a fresh shop on a
// temporary data folder, as `shopctl load` does); as a child process (`shopctl serve` on a
// config chaos writes: fixed ports and secrets, so a shop killed with SIGKILL comes back at
// the same addresses with the same keys); or a running shop at a URL (`--target`).
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chaos/store_reader.hpp"
#include "platform/admin_client.hpp"

namespace shopctl::chaos {

// The shop could not be started, reached or started again.
class ShopError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ShopDriver {
 public:
  virtual ~ShopDriver() = default;
  virtual std::string gateway_url() const = 0;
  virtual std::string admin_token() const = 0;
  virtual std::string describe() const = 0;  // "in-process shop on /tmp/..."

  // --crash: SIGKILL the whole shop and start it again on the same folder after `down_for`,
  // waiting until the gateway answers. Throws ShopError when it does not come back.
  virtual bool can_kill() const { return false; }
  virtual void kill_and_restart(std::chrono::milliseconds /*down_for*/) {}
  // Deaths chaos did not cause since the last call (each is answered by a restart).
  virtual std::vector<std::string> unexpected_deaths() { return {}; }
  // False when nobody can tell whether the shop's process died (a --target shop).
  virtual bool watches_process() const { return true; }
  // The databases, when they are files on this machine.
  virtual std::optional<DatabaseFiles> databases() = 0;
  // The shop's own log (a child's stderr), empty when there is none.
  virtual std::filesystem::path log_file() const { return {}; }
  // Ends the shop chaos started (nothing for a --target shop).
  virtual void finish() {}
  // Chaos was interrupted (SIGINT, SIGTERM) and exits next: stops the shop at once and removes
  // its temporary folder unless kept; a running shop (--target) is not stopped but put back as
  // healing would start it: its faults switched off, every service started. Safe to call from
  // another thread than the one driving. What it says on stderr, or "".
  virtual std::string interrupt() { return ""; }
};

struct LocalShopOptions {
  std::uint64_t seed = 1;
  std::filesystem::path data_dir;  // empty: a temporary folder, removed by finish() unless keep
  bool keep = false;
  std::filesystem::path config_file;  // a user's YAML settings layered under chaos's own
  unsigned threads = 0;
};

// Throws ShopError when the shop cannot start.
std::unique_ptr<ShopDriver> start_in_process(const LocalShopOptions& options);
// `shopctl serve --config F` as a child of `binary`. Throws ShopError when it cannot start.
std::unique_ptr<ShopDriver> start_child_process(const LocalShopOptions& options,
                                                const std::filesystem::path& binary);
// A running shop. Finds its databases through GET /_admin/services (used when the files are
// on this machine). Throws ShopError when the gateway or its admin plane does not answer.
std::unique_ptr<ShopDriver> attach_target(const std::string& gateway_url,
                                          const std::string& admin_token,
                                          std::vector<std::string>& notes);

// The services chaos stops, crashes and starts again (never the gateway, its door).
extern const std::vector<std::string> kStoppable;

// A shop put back as healing starts it: its faults switched off, every service in kStoppable
// started. Returns what was refused ("its faults", or a service's name); throws
// http::TransportError when the admin plane does not answer.
std::vector<std::string> switch_faults_off_and_start(platform::AdminClient& admin);

}  // namespace shopctl::chaos
